"""Item 3's staged rollout: the pipeline's stages, roles and the options refused at synth."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import ValidationError
from cdk_sagemaker_hosting.registry import PromotionPipeline, RolloutStage, SmokeTest

from tests.conftest import new_app
from tests.registry.app import (
    GROUP,
    REGION,
    REGISTRY,
    STAGES,
    TOOLING,
    PipelineStack,
    imported_registry,
)

STAGING, PRODUCTION = STAGES["Staging"], STAGES["Production"]
DEPLOYED = f"/cdk-sagemaker-hosting/{GROUP}/deployed-version"


@pytest.fixture(scope="module")
def pipeline() -> tuple[PipelineStack, Template, Any]:
    stage = cdk.Stage(new_app(), "Tooling", env=cdk.Environment(account=TOOLING, region=REGION))
    stack = PipelineStack(stage, "pipeline")
    template = Template.from_stack(stack)
    return stack, template, template.to_json()


def resources(template: Any, kind: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def the_pipeline(template: Any) -> Any:
    (props,) = [
        v["Properties"] for v in resources(template, "AWS::CodePipeline::Pipeline").values()
    ]
    return props


def test_stages_run_in_order_each_pinned_to_the_executions_version(pipeline: Any) -> None:
    _, _, template = pipeline
    props = the_pipeline(template)
    assert (props["PipelineType"], props["ExecutionMode"]) == ("V2", "SUPERSEDED")
    assert props["Variables"] == [
        {
            "Name": "ModelPackageArn",
            "Description": "The model package version this execution deploys",
        }
    ]
    assert props["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS"
    layout = [
        (
            stage["Name"],
            [(a["Name"], a["ActionTypeId"]["Provider"], a["RunOrder"]) for a in stage["Actions"]],
        )
        for stage in props["Stages"]
    ]
    assert layout == [
        ("Source", [("Source", "S3", 1)]),
        ("Staging", [("Verify", "Lambda", 1), ("Deploy", "CodeBuild", 2), ("Check", "Lambda", 3)]),
        (
            "Production",
            [
                ("Approve", "Manual", 1),
                ("Verify", "Lambda", 2),
                ("Deploy", "CodeBuild", 3),
                ("Check", "Lambda", 4),
            ],
        ),
    ]
    # An upload of the app deploys nothing: the trigger starts the pipeline.
    assert props["Stages"][0]["Actions"][0]["Configuration"]["PollForSourceChanges"] is False
    staging = {a["Name"]: a for a in props["Stages"][1]["Actions"]}
    assert json.loads(staging["Deploy"]["Configuration"]["EnvironmentVariables"]) == [
        {"name": "MODEL_PACKAGE_ARN", "type": "PLAINTEXT", "value": "#{variables.ModelPackageArn}"}
    ]
    assert json.loads(staging["Verify"]["Configuration"]["UserParameters"]) == {
        "action": "verify",
        "stage": "Staging",
        "version": "#{variables.ModelPackageArn}",
    }
    assert json.loads(staging["Check"]["Configuration"]["UserParameters"]) == {
        "action": "check",
        "stage": "Staging",
        "version": "#{variables.ModelPackageArn}",
        "bake_seconds": 1800,
        "poll_seconds": 60,
        "alarms": ["churn-staging-errors"],
        "endpoint": "churn-staging",
        "payload": '{"tenure": 3}',
        "content_type": "application/json",
        "expect": "probability",
        "role_arn": f"arn:aws:iam::{STAGING}:role/churn-promotion-check",
    }
    approve = props["Stages"][2]["Actions"][0]["Configuration"]
    assert approve["CustomData"] == "Deploy #{variables.ModelPackageArn} to Production"
    assert list(approve["NotificationArn"]) == ["Ref"]


def test_the_deploy_runs_cdk_deploy_with_the_version_in_the_context(pipeline: Any) -> None:
    _, _, template = pipeline
    projects = resources(template, "AWS::CodeBuild::Project")
    specs = sorted(
        json.loads(p["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"][0]
        for p in projects.values()
    )
    assert specs == [
        "cdk deploy --require-approval never --exclusively --context "
        f"\"modelPackageArn=$MODEL_PACKAGE_ARN\" '{name}/*'"
        for name in ("Production", "Staging")
    ]
    for project in projects.values():
        props = project["Properties"]
        assert props["Environment"]["PrivilegedMode"] is False
        assert (
            props["EncryptionKey"] == {"Fn::GetAtt": [Match.any_value(), "Arn"]}
            or "Fn::GetAtt" in props["EncryptionKey"]
        )
        assert props["LogsConfig"]["CloudWatchLogs"]["Status"] == "ENABLED"


def statements(template: Any, role_fragment: str) -> list[dict[str, Any]]:
    """The statements of the managed policies of roles whose logical ID has the fragment."""
    found = []
    for policy in resources(template, "AWS::IAM::ManagedPolicy").values():
        roles = [r["Ref"] for r in policy["Properties"].get("Roles", [])]
        if any(role_fragment in r for r in roles):
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


def test_each_deploy_may_assume_its_accounts_bootstrap_roles_only(pipeline: Any) -> None:
    _, _, template = pipeline
    for name, account in (("Staging", STAGING), ("Production", PRODUCTION)):
        (assume,) = [
            s for s in statements(template, f"{name}DeployRole") if s["Action"] == "sts:AssumeRole"
        ]
        assert assume["Resource"] == [
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        f":iam::{account}:role/cdk-hnb659fds-{kind}-role-{account}-{REGION}",
                    ],
                ]
            }
            for kind in ("deploy", "file-publishing", "image-publishing", "lookup")
        ]
    # No inline policy anywhere: every role's permissions are a managed policy.
    assert resources(template, "AWS::IAM::Policy") == {}


def test_the_stage_function_may_check_through_the_stage_roles_and_write_back(pipeline: Any) -> None:
    _, _, template = pipeline
    found = statements(template, "StageFunctionRole")
    actions_of = {json.dumps(s["Action"]): s["Resource"] for s in found}
    assert actions_of['"sts:AssumeRole"'] == [
        f"arn:aws:iam::{STAGING}:role/churn-promotion-check",
        f"arn:aws:iam::{PRODUCTION}:role/churn-promotion-check",
    ]
    # CodePipeline's job calls take no resource (merged with X-Ray's).
    assert (
        actions_of[
            '["codepipeline:PutJobFailureResult", "codepipeline:PutJobSuccessResult", '
            '"xray:PutTelemetryRecords", "xray:PutTraceSegments"]'
        ]
        == "*"
    )
    assert actions_of['"codepipeline:GetPipelineExecution"'] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":codepipeline:{REGION}:{TOOLING}:churn-release"],
        ]
    }
    assert '"sagemaker:InvokeEndpoint"' not in actions_of  # the stages' own roles invoke
    writes = (
        '["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages", '
        '"sagemaker:UpdateModelPackage"]'
    )
    assert actions_of[writes] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                f":sagemaker:{REGION}:{REGISTRY}:model-package/{GROUP}/*",
            ],
        ]
    }


def test_the_pipeline_role_is_held_to_this_pipeline(pipeline: Any) -> None:
    _, template, _ = pipeline
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "codepipeline.amazonaws.com"},
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": TOOLING},
                            "ArnEquals": {"aws:SourceArn": Match.any_value()},
                        },
                    }
                ]
            }
        },
    )


def test_the_pipelines_outcomes_reach_the_stage_function(pipeline: Any) -> None:
    stack, template, _ = pipeline
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.codepipeline"],
                "detail-type": [
                    "CodePipeline Stage Execution State Change",
                    "CodePipeline Pipeline Execution State Change",
                ],
                "detail": {"state": ["FAILED", "SUCCEEDED", "SUPERSEDED", "STOPPED", "CANCELED"]},
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
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "registry.index.handler",
            "Environment": {
                "Variables": Match.object_like(
                    {
                        "PIPELINE_NAME": "churn-release",
                        "PIPELINE_VARIABLE": "ModelPackageArn",
                        "DEPLOYED_PARAMETER_NAME": DEPLOYED,
                    }
                )
            },
        },
    )
    # The trigger starts this pipeline, passing the version as its variable.
    trigger = stack.promotion.trigger.function
    env = Template.from_stack(stack).to_json()["Resources"][
        stack.get_logical_id(trigger.node.default_child)
    ]
    assert env["Properties"]["Environment"]["Variables"]["PIPELINE_VARIABLE"] == "ModelPackageArn"
    assert env["Properties"]["Environment"]["Variables"]["PIPELINE_NAME"] == "churn-release"


def stack_here() -> cdk.Stack:
    return cdk.Stack(new_app(), "T", env=cdk.Environment(account=TOOLING, region=REGION))


def staging(**changes: Any) -> RolloutStage:
    props: dict[str, Any] = {"name": "Staging", "stacks": ["Staging/*"]}
    return RolloutStage(**(props | changes))


def role(stack: cdk.Stack, account: str = STAGING) -> iam.IRole:
    return iam.Role.from_role_arn(stack, f"R{account}", f"arn:aws:iam::{account}:role/check")


BAD: list[tuple[str, Any, str]] = [
    ("stages", [], "stages=[] is invalid: give at least one RolloutStage"),
    ("stages", ["Staging"], "stages[0]='Staging' is invalid: must be a RolloutStage"),
    ("stages", [staging(name="Stage 1")], "stages[0].name='Stage 1' is invalid: 1-100 letters"),
    ("stages", [staging(), staging()], "stages[1].name='Staging' is invalid: names another stage"),
    ("stages", [staging(name="source")], "stages[0].name='source' is invalid: names another stage"),
    ("stages", [staging(stacks=[])], "stages[0].stacks=[] is invalid: a list of cdk deploy"),
    (
        "stages",
        [staging(privileged="yes")],
        "stages[0].privileged='yes' is invalid: must be a bool (True: the deploy builds "
        "Docker image assets)",
    ),
    ("stages", [staging(stacks="Staging/*")], "stages[0].stacks='Staging/*' is invalid"),
    (
        "stages",
        [staging(stacks=["a; rm -rf /"])],
        "stages[0].stacks[0]='a; rm -rf /' is invalid: a stack name or path pattern",
    ),
    ("stages", [staging(account="4444")], "stages[0].account='4444' is invalid: a 12-digit"),
    ("stages", [staging(region="Mars")], "stages[0].region='Mars' is invalid: a Region name"),
    ("stages", [staging(qualifier="Bad_Q")], "stages[0].qualifier='Bad_Q' is invalid"),
    (
        "stages",
        [staging(smoke_test=SmokeTest(payload="{}"))],
        "stages[0].smoke_test='{}' is invalid: a smoke test needs the endpoint it invokes",
    ),
    (
        "stages",
        [staging(endpoint_name="churn")],
        "stages[0].endpoint_name='churn' is invalid: names an endpoint no smoke test invokes",
    ),
    (
        "stages",
        [staging(endpoint_name="churn_1", smoke_test=SmokeTest(payload="{}"))],
        "stages[0].endpoint_name='churn_1' is invalid",
    ),
    (
        "stages",
        [staging(bake=cdk.Duration.seconds(90))],
        "stages[0].bake='1 minute 30 seconds' is invalid: whole minutes, at most 23 hours",
    ),
    (
        "stages",
        [staging(bake=cdk.Duration.hours(24), alarm_names=["a"])],
        "stages[0].bake='1 day' is invalid: whole minutes, at most 23 hours",
    ),
    (
        "stages",
        [staging(alarm_names=["errors"])],
        "stages[0].alarm_names=['errors'] is invalid: alarms gate the bake, which is off",
    ),
    ("stages", [staging(alarm_names="errors")], "stages[0].alarm_names='errors' is invalid"),
    (
        "stages",
        [
            staging(
                account=STAGING,
                endpoint_name="churn",
                smoke_test=SmokeTest(payload="{}"),
            )
        ],
        f"stages[0].check_role=None is invalid: stage Staging is in account {STAGING}",
    ),
    (
        "stages",
        [
            staging(
                endpoint_name="churn",
                smoke_test=SmokeTest(payload="x" * 1000),
            )
        ],
        "stages[0].smoke_test.payload='1000 characters' is invalid: the check's parameters "
        "come to 1190 characters, over CodePipeline's 1000",
    ),
    ("stages", [staging(deploy_roles=["arn:aws:iam::1:role/x"])], "stages[0].deploy_roles[0]="),
    ("stages", [staging(check_role="arn:aws:iam::1:role/x")], "stages[0].check_role="),
    ("install_commands", "npm ci", "install_commands='npm ci' is invalid: a list of non-empty"),
    ("install_commands", ["npm ci", ""], "install_commands=['npm ci', ''] is invalid"),
    ("context_key", "model arn", "context_key='model arn' is invalid: a CDK context key"),
    ("source_key", "", "source_key='' is invalid"),
    ("pipeline_name", "churn release", "pipeline_name='churn release' is invalid: 1-100"),
    (
        "deployed_parameter_name",
        "deployed",
        "deployed_parameter_name='deployed' is invalid: an SSM parameter name",
    ),
    ("parameter_name", "approved", "parameter_name='approved' is invalid: an SSM parameter"),
    ("topic", "arn:aws:sns:x", "topic='arn:aws:sns:x' is invalid: must be an sns.ITopic"),
    ("encryption_key", "alias/x", "encryption_key='alias/x' is invalid: must be a kms.IKey"),
    ("source_action", "github", "source_action='github' is invalid: must be a codepipeline"),
]


@pytest.mark.parametrize(("prop", "value", "message"), BAD, ids=[m[:50] for _, _, m in BAD])
def test_bad_pipeline_options_are_refused_naming_path_property_value_rule(
    prop: str, value: Any, message: str
) -> None:
    stack = stack_here()
    props: dict[str, Any] = {"stages": [staging()], prop: value}
    with pytest.raises(ValidationError, match=re.escape(message)) as info:
        PromotionPipeline(stack, "Promotion", registry=imported_registry(stack), **props)
    assert str(info.value).startswith("T/Promotion")


def test_a_check_role_with_nothing_to_check_is_refused() -> None:
    stack = stack_here()
    with pytest.raises(ValidationError, match="no smoke test or bake assumes it"):
        PromotionPipeline(
            stack,
            "Promotion",
            registry=imported_registry(stack),
            stages=[staging(check_role=role(stack))],
        )


def test_a_bake_without_alarms_is_a_warning() -> None:
    stack = stack_here()
    PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[staging(bake=cdk.Duration.minutes(10))],
    )
    Annotations.from_stack(stack).has_warning(
        "/T/Promotion", Match.string_like_regexp("stages\\[0\\].bake waits 600 s with no alarm")
    )


def test_a_source_of_your_own_with_its_role_is_assumed_by_the_pipeline() -> None:
    stack = stack_here()
    bucket = s3.Bucket.from_bucket_name(stack, "Src", "churn-app")
    source_role = iam.Role.from_role_arn(
        stack, "SrcRole", f"arn:aws:iam::{TOOLING}:role/src", mutable=False
    )
    output = codepipeline.Artifact("App")
    source = actions.S3SourceAction(
        action_name="Checkout", bucket=bucket, bucket_key="app.zip", output=output, role=source_role
    )
    promotion = PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[staging(endpoint_name="churn", smoke_test=SmokeTest(payload="{}"))],
        source_action=source,
    )
    assert promotion.source is None
    template = Template.from_stack(stack).to_json()
    found = statements(template, "PromotionPipelineRole")
    (assume,) = [s for s in found if s["Action"] == "sts:AssumeRole"]
    assert f"arn:aws:iam::{TOOLING}:role/src" in assume["Resource"]
    # A stage of this account: the function invokes its endpoint itself.
    invoke = [
        s
        for s in statements(template, "StageFunctionRole")
        if s["Action"] == "sagemaker:InvokeEndpoint"
    ]
    assert invoke[0]["Resource"] == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":sagemaker:{REGION}:{TOOLING}:endpoint/churn"],
        ]
    }


def test_a_source_without_a_role_is_refused() -> None:
    stack = stack_here()
    bucket = s3.Bucket.from_bucket_name(stack, "Src", "churn-app")
    source = actions.S3SourceAction(
        action_name="Checkout",
        bucket=bucket,
        bucket_key="app.zip",
        output=codepipeline.Artifact("App"),
    )
    with pytest.raises(ValidationError, match="source_action='Checkout' is invalid: has no role"):
        PromotionPipeline(
            stack,
            "Promotion",
            registry=imported_registry(stack),
            stages=[staging()],
            source_action=source,
        )


def test_explicit_deploy_roles_replace_the_bootstrap_roles() -> None:
    stack = stack_here()
    deployer = iam.Role.from_role_arn(stack, "Deployer", f"arn:aws:iam::{STAGING}:role/deployer")
    PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[staging(account=STAGING, deploy_roles=[deployer])],
    )
    template = Template.from_stack(stack).to_json()
    (assume,) = [
        s for s in statements(template, "StagingDeployRole") if s["Action"] == "sts:AssumeRole"
    ]
    assert assume["Resource"] == f"arn:aws:iam::{STAGING}:role/deployer"


def test_a_topic_and_key_of_another_stack_are_used_by_reference() -> None:
    from cdk_sagemaker_hosting.encryption import encrypted_topic, encryption_key

    app = new_app()
    env = cdk.Environment(account=TOOLING, region=REGION)
    shared = cdk.Stack(app, "Shared", env=env)
    key = encryption_key(shared, "Key", "shared")
    topic = encrypted_topic(shared, "Topic", key)
    stack = cdk.Stack(app, "T", env=env)
    PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[staging(approval=True)],
        encryption_key=key,
        topic=topic,
    )
    template = Template.from_stack(stack).to_json()
    assert "Fn::ImportValue" in json.dumps(template)
    assert resources(template, "AWS::SNS::Topic") == {}
    # The artifacts get a key of their own (CodePipeline's grants go to the key's policy).
    assert list(resources(template, "AWS::KMS::Key")) == [
        stack.get_logical_id(
            stack.node.find_child("Promotion").node.find_child("ArtifactsKey").node.default_child
        )  # type: ignore[arg-type]
    ]
    (approve,) = [
        a
        for stage in the_pipeline(template)["Stages"]
        for a in stage["Actions"]
        if a["Name"] == "Approve"
    ]
    assert "Fn::ImportValue" in json.dumps(approve["Configuration"]["NotificationArn"])


def test_a_smoke_test_of_a_hanging_endpoint_ends_within_the_stage_functions_timeout(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The smoke test's request, retries included, ends before Lambda stops the function.

    Otherwise a model that never answers (the very fault a smoke test is
    for) times the function out: no job result, the reason lost, and the
    action held until CodePipeline's 20 minutes without an answer.
    """
    from cdk_sagemaker_hosting._lambda.registry import index

    _, _, template = pipeline
    (timeout,) = [
        v["Properties"]["Timeout"]
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if k.startswith("PromotionStageFunction")
    ]
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(index, "_clients", {})
    runtime, _ = index.stage_clients(None)
    config = runtime.meta.config
    worst = config.retries["total_max_attempts"] * (config.connect_timeout + config.read_timeout)
    # InvokeEndpoint answers within 60 s when the model does; then the write-back.
    assert config.read_timeout > 60
    assert worst + 30 <= timeout, (worst, timeout)


def test_options_that_cannot_apply_are_refused_not_dropped() -> None:
    """A qualifier beside deploy_roles, a source_key beside a source_action: both unused."""
    stack = stack_here()
    deployer = iam.Role.from_role_arn(stack, "Deployer", f"arn:aws:iam::{STAGING}:role/deployer")
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "stages[0].qualifier='team1' is invalid: names bootstrap roles, but deploy_roles "
            "replaces them: leave qualifier out"
        ),
    ):
        PromotionPipeline(
            stack,
            "Promotion",
            registry=imported_registry(stack),
            stages=[staging(account=STAGING, deploy_roles=[deployer], qualifier="team1")],
        )
    stack = stack_here()
    source_role = iam.Role.from_role_arn(
        stack, "SrcRole", f"arn:aws:iam::{TOOLING}:role/src", mutable=False
    )
    source = actions.S3SourceAction(
        action_name="Checkout",
        bucket=s3.Bucket.from_bucket_name(stack, "Src", "churn-app"),
        bucket_key="app.zip",
        output=codepipeline.Artifact("App"),
        role=source_role,
    )
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "source_key='release/app.zip' is invalid: names the object of the Source bucket "
            "this construct makes, but source_action replaces it"
        ),
    ):
        PromotionPipeline(
            stack,
            "Promotion",
            registry=imported_registry(stack),
            stages=[staging()],
            source_action=source,
            source_key="release/app.zip",
        )


def test_a_stack_outside_the_pipeline_deploys_the_deployed_version() -> None:
    """``deployed_version``: what every stage runs, resolved by CloudFormation at each deploy."""
    from cdk_sagemaker_hosting import Model

    stack = stack_here()
    promotion = PromotionPipeline(
        stack, "Promotion", registry=imported_registry(stack), stages=[staging()]
    )
    hosting = cdk.Stack(
        stack.node.root, "hosting", env=cdk.Environment(account=TOOLING, region=REGION)
    )
    registry = imported_registry(hosting)
    Model(
        hosting,
        "Model",
        model_package=registry.version_from_arn(promotion.deployed_version(hosting)),
    )
    template = Template.from_stack(hosting).to_json()
    (parameter,) = [p for name, p in template["Parameters"].items() if name != "BootstrapVersion"]
    assert parameter == {"Type": "AWS::SSM::Parameter::Value<String>", "Default": DEPLOYED}


def deploy_projects(stack: cdk.Stack) -> dict[str, Any]:
    return resources(Template.from_stack(stack).to_json(), "AWS::CodeBuild::Project")


def test_a_stage_may_build_docker_image_assets_in_privileged_mode() -> None:
    from tests.gates import guard_suppressions

    stack = stack_here()
    PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[
            staging(privileged=True),
            RolloutStage(name="Production", stacks=["Production/*"]),
        ],
    )
    projects = deploy_projects(stack)
    modes = {
        p["Properties"]["Description"].split(" ")[4]: p["Properties"]["Environment"][
            "PrivilegedMode"
        ]
        for p in projects.values()
    }
    assert modes == {"Staging": True, "Production": False}
    # Asked for, so Control Tower's CT.CODEBUILD.PR.4 is acknowledged on that project only.
    template = Template.from_stack(stack).to_json()
    suppressed = guard_suppressions({"T": template})
    privileged = {
        logical_id
        for (_, rule, logical_id) in suppressed
        if rule == "codebuild_project_environment_privileged_check"
    }
    assert privileged == {
        k for k, p in projects.items() if p["Properties"]["Environment"]["PrivilegedMode"]
    }


def test_the_bake_may_read_composite_alarms() -> None:
    """CloudWatch returns a composite alarm (an endpoint's health) only to DescribeAlarms on '*'.

    Scoped to the alarms' ARNs, the composite read as missing and failed every bake.
    """
    stack = stack_here()
    PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[staging(bake=cdk.Duration.minutes(30), alarm_names=["churn-health"])],
    )
    template = Template.from_stack(stack).to_json()
    (describe,) = [
        s
        for s in statements(template, "StageFunctionRole")
        if "cloudwatch:DescribeAlarms" in json.dumps(s["Action"])
    ]
    assert describe["Resource"] == "*"
    metadata = json.dumps(
        [r.get("Metadata") for r in template["Resources"].values() if "Metadata" in r]
    )
    assert "DescribeAlarms (read-only) on '*'" in metadata


def test_a_stage_without_alarms_gets_no_describe_alarms() -> None:
    stack = stack_here()
    PromotionPipeline(
        stack,
        "Promotion",
        registry=imported_registry(stack),
        stages=[staging(endpoint_name="churn", smoke_test=SmokeTest(payload="{}"))],
    )
    template = Template.from_stack(stack).to_json()
    assert "cloudwatch:DescribeAlarms" not in json.dumps(statements(template, "StageFunctionRole"))
