"""Item 3's construct: the tooling account receives the group's state changes and records them."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import ValidationError
from cdk_sagemaker_hosting.registry import PromotionTrigger

from tests.conftest import new_app
from tests.registry.app import GROUP, REGION, REGISTRY, TOOLING, ToolingStack, imported_registry


@pytest.fixture(scope="module")
def tooling() -> tuple[ToolingStack, Template]:
    stage = cdk.Stage(new_app(), "Tooling", env=cdk.Environment(account=TOOLING, region=REGION))
    stack = ToolingStack(stage, "promotion")
    return stack, Template.from_stack(stack)


def join(*parts: Any) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, *parts]]}


def test_the_function_knows_the_group_the_record_the_readable_prefix_and_the_pipeline(
    tooling: Any,
) -> None:
    _, template = tooling
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "registry.index.handler",
            "Environment": {
                "Variables": {
                    "GROUP_ARN": join(
                        f":sagemaker:{REGION}:{REGISTRY}:model-package-group/{GROUP}"
                    ),
                    "PARAMETER_NAME": f"/cdk-sagemaker-hosting/{GROUP}/approved-version",
                    "ARTIFACTS_URL": f"s3://churn-registry-artifacts/{GROUP}/",
                    "PIPELINE_NAME": "churn-release",
                    "TOPIC_ARN": {"Ref": Match.any_value()},
                    "EVENT_BUS_NAME": "default",
                }
            },
        },
    )


def test_the_function_may_touch_the_record_the_groups_versions_and_the_pipeline_only(
    tooling: Any,
) -> None:
    _, template = tooling
    template.has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": ["ssm:GetParameter", "ssm:PutParameter"],
                            "Effect": "Allow",
                            "Resource": join(
                                f":ssm:{REGION}:{TOOLING}:parameter/cdk-sagemaker-hosting/"
                                f"{GROUP}/approved-version"
                            ),
                        },
                        {
                            "Action": [
                                "sagemaker:DescribeModelPackage",
                                "sagemaker:ListModelPackages",
                                "sagemaker:UpdateModelPackage",
                            ],
                            "Effect": "Allow",
                            "Resource": join(
                                f":sagemaker:{REGION}:{REGISTRY}:model-package/{GROUP}/*"
                            ),
                        },
                        {
                            "Action": "codepipeline:StartPipelineExecution",
                            "Effect": "Allow",
                            "Resource": f"arn:aws:codepipeline:{REGION}:{TOOLING}:churn-release",
                        },
                    ]
                )
            }
        },
    )


def test_the_default_bus_accepts_sagemaker_events_from_the_registry_account_only(
    tooling: Any,
) -> None:
    _, template = tooling
    template.has_resource_properties(
        "AWS::Events::EventBusPolicy",
        {
            "StatementId": f"AcceptModelPackageStateChanges-{GROUP}",
            "Statement": {
                "Effect": "Allow",
                "Principal": {"AWS": {"Fn::Join": Match.any_value()}},
                "Action": "events:PutEvents",
                "Condition": {"StringEquals": {"events:source": "aws.sagemaker"}},
            },
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "account": [REGISTRY],
                "detail": {"ModelPackageGroupName": [GROUP]},
            },
            "Targets": [
                Match.object_like(
                    {
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
                        "RetryPolicy": {"MaximumRetryAttempts": 4},
                    }
                )
            ],
        },
    )


def test_a_stack_deploys_the_recorded_version_read_at_deploy_time() -> None:
    from cdk_sagemaker_hosting import Model

    stage = cdk.Stage(new_app(), "Tooling", env=cdk.Environment(account=TOOLING, region=REGION))
    stack = ToolingStack(stage, "promotion")
    hosting = cdk.Stack(stage, "hosting")
    registry = imported_registry(hosting)
    Model(
        hosting,
        "Model",
        model_package=registry.version_from_arn(stack.trigger.approved_version(hosting)),
    )
    template = Template.from_stack(hosting).to_json()
    (parameter,) = [p for name, p in template["Parameters"].items() if name != "BootstrapVersion"]
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": f"/cdk-sagemaker-hosting/{GROUP}/approved-version",
    }


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"parameter_name": "approved"}, "parameter_name='approved' is invalid: an SSM parameter"),
        ({"parameter_name": "/a b"}, "parameter_name='/a b' is invalid"),
        (
            {"pipeline": "churn-release"},
            "pipeline='churn-release' is invalid: must be a codepipeline",
        ),
        ({"topic": "arn:aws:sns:x"}, "topic='arn:aws:sns:x' is invalid: must be an sns.ITopic"),
    ],
)
def test_bad_promotion_props_are_refused(props: dict[str, Any], message: str) -> None:
    stack = cdk.Stack(new_app(), "T", env=cdk.Environment(account=TOOLING, region=REGION))
    with pytest.raises(ValidationError, match=re.escape(message)):
        PromotionTrigger(stack, "Promotion", registry=imported_registry(stack), **props)


def test_a_registry_that_is_not_one_is_refused() -> None:
    stack = cdk.Stack(new_app(), "T", env=cdk.Environment(account=TOOLING, region=REGION))
    with pytest.raises(ValidationError, match=re.escape("registry='churn' is invalid")):
        PromotionTrigger(stack, "Promotion", registry="churn")  # type: ignore[arg-type]
