"""Item 1: a model built from a model package version or an AWS Marketplace package."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ssm as ssm
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import ContainerImage, EncryptedBucket, Model, ModelData, ValidationError
from cdk_sagemaker_hosting.registry import ModelPackage

from tests.conftest import new_app
from tests.registry.app import KEY_ARN, REGION, REGISTRY, imported_registry

MARKETPLACE = (
    f"arn:aws:sagemaker:{REGION}:865070037744:model-package/sentiment-classifier-v2-1a2b3c"
)
VERSION = f"arn:aws:sagemaker:{REGION}:{REGISTRY}:model-package/churn/7"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def consumer(account: str = "444444444444") -> cdk.Stack:
    return cdk.Stack(new_app(), "Consumer", env=cdk.Environment(account=account, region=REGION))


def statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    (policy,) = policies.values()
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def test_a_registry_version_is_the_containers_model_package_with_its_environment() -> None:
    stack = consumer()
    Model(stack, "Model", model_package=imported_registry(stack).version(7), environment={"A": "1"})
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {
            "EnableNetworkIsolation": True,
            "PrimaryContainer": {
                "ModelPackageName": {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            f":sagemaker:{REGION}:{REGISTRY}:model-package/churn/7",
                        ],
                    ]
                },
                "Environment": {"A": "1"},
                "Image": Match.absent(),
                "ModelDataUrl": Match.absent(),
                "Mode": Match.absent(),
            },
        },
    )


def test_a_registry_version_grants_its_artifacts_under_the_prefix_through_s3_only() -> None:
    stack = consumer()
    Model(stack, "Model", model_package=imported_registry(stack).version(7))
    resolved = stack.resolve(statements(stack))
    actions = [s["Action"] for s in resolved]
    assert actions == ["cloudwatch:PutMetricData", "s3:ListBucket", "s3:GetObject", "kms:Decrypt"]
    listing, reading, decrypt = resolved[1:]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["churn/*"]}}
    assert reading["Resource"]["Fn::Join"][1][-1] == ":s3:::churn-registry-artifacts/churn/*"
    assert decrypt == {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": KEY_ARN,
    }


def test_a_version_arn_with_its_artifacts_and_images_grants_exactly_those() -> None:
    stack = consumer(REGISTRY)
    bucket = EncryptedBucket(stack, "Artifacts")
    repository = ecr.Repository(stack, "Images")
    package = ModelPackage.from_version_arn(
        VERSION,
        artifacts=ModelData.from_bucket(bucket, "churn/7/model.tar.gz"),
        images=[ContainerImage.from_ecr_repository(repository, "v7")],
    )
    Model(stack, "Model", model_package=package)
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model", {"PrimaryContainer": {"ModelPackageName": VERSION}}
    )
    actions = [s["Action"] for s in statements(stack)]
    assert "s3:GetObject" in actions
    assert [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ] in actions


def test_a_version_known_at_deploy_time_passes_synth() -> None:
    stack = consumer()
    arn = ssm.StringParameter.value_for_string_parameter(stack, "/churn/approved")
    Model(stack, "Model", model_package=imported_registry(stack).version_from_arn(arn))
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": {"ModelPackageName": {"Ref": Match.any_value()}}},
    )
    assert any(
        p["Type"] == "AWS::SSM::Parameter::Value<String>"
        for p in template.to_json()["Parameters"].values()
    )


def test_a_marketplace_package_runs_isolated_and_is_granted_nothing() -> None:
    stack = consumer()
    Model(stack, "Model", model_package=ModelPackage.from_marketplace(MARKETPLACE))
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Model",
        {"EnableNetworkIsolation": True, "PrimaryContainer": {"ModelPackageName": MARKETPLACE}},
    )
    assert [s["Action"] for s in statements(stack)] == ["cloudwatch:PutMetricData"]


def test_a_marketplace_package_of_ones_own_account_is_a_warning() -> None:
    stack = consumer("865070037744")
    Model(stack, "Model", model_package=ModelPackage.from_marketplace(MARKETPLACE))
    warnings = cdk.assertions.Annotations.from_stack(stack).find_warning("*", Match.any_value())
    assert any("MarketplaceOwnAccount" in str(w) for w in warnings)


def _bad(stack: cdk.Stack, **kwargs: Any) -> None:
    Model(stack, "Model", **kwargs)


def registry_version(version: object) -> Any:
    return lambda stack: imported_registry(stack).version(version)


def fixed(package: Any) -> Any:
    return lambda _stack: package


BAD = [
    (
        "not an ARN",
        fixed(ModelPackage.from_version_arn("churn/7")),
        {},
        "model_package='churn/7' is invalid: must be a model package version's ARN",
    ),
    (
        "a Marketplace ARN as a version",
        fixed(ModelPackage.from_version_arn(MARKETPLACE)),
        {},
        "names no version: a version ARN ends in /<version>",
    ),
    (
        "version 0",
        fixed(ModelPackage.from_version_arn(VERSION[:-1] + "0")),
        {},
        "versions start at 1",
    ),
    (
        "another Region",
        fixed(ModelPackage.from_version_arn(VERSION.replace(REGION, "eu-west-1"))),
        {},
        "the model package is in eu-west-1 but the stack deploys to us-east-1",
    ),
    (
        "too long for ModelPackageName",
        fixed(ModelPackage.from_version_arn(VERSION.replace("churn", "c" * 64))),
        {},
        "at most 176 characters",
    ),
    (
        "a registry version below 1",
        registry_version(0),
        {},
        "model_package.version=0 is invalid",
    ),
    (
        "another group's version",
        lambda stack: imported_registry(stack).version_from_arn(VERSION.replace("churn", "fraud")),
        {},
        "is not a version of the registry's group 'churn'",
    ),
    (
        "a versioned ARN as Marketplace",
        fixed(ModelPackage.from_marketplace(VERSION)),
        {},
        "must be an AWS Marketplace model package ARN",
    ),
    (
        "Marketplace without isolation",
        fixed(ModelPackage.from_marketplace(MARKETPLACE)),
        {"network_isolation": False},
        "network_isolation=False is invalid: AWS Marketplace model packages run only with "
        "network isolation",
    ),
    (
        "an image beside it",
        registry_version(7),
        {"image": ContainerImage.from_registry(IMAGE)},
        "image=",
    ),
    (
        "a model_data beside it",
        registry_version(7),
        {"model_data": ModelData.from_asset("/nonexistent.tar.gz")},
        "model_data=",
    ),
    ("multi_model beside it", registry_version(7), {"multi_model": True}, "multi_model=True"),
    (
        "not a ModelPackage",
        fixed(VERSION),
        {},
        "model_package='arn:aws:sagemaker:us-east-1:111111111111:model-package/churn/7' is "
        "invalid: must be a ModelPackage",
    ),
]


@pytest.mark.parametrize(("case", "package", "extra", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_model_packages_are_refused_with_the_rule(
    case: str, package: Any, extra: dict[str, Any], message: str
) -> None:
    stack = consumer()
    with pytest.raises(ValidationError, match=re.escape(message)) as info:
        _bad(stack, model_package=package(stack), **extra)
    assert str(info.value).startswith("Consumer/Model"), case
    if case.endswith("beside it"):
        assert "a model_package brings its own container" in str(info.value)


def test_containers_beside_a_package_are_refused() -> None:
    from cdk_sagemaker_hosting import ContainerDefinition

    stack = consumer()
    image = ContainerImage.from_registry(IMAGE)
    with pytest.raises(ValidationError, match="containers='set' is invalid: a model_package"):
        Model(
            stack,
            "Model",
            model_package=imported_registry(stack).version(7),
            containers=[ContainerDefinition(image=image), ContainerDefinition(image=image)],
        )
