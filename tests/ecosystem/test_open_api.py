"""The library composes with what a platform team already has: CDK's own types and APIs."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import (
    AsyncInference,
    ContainerImage,
    DataCapture,
    DeploymentConfig,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ModelData,
    TrafficRouting,
    ValidationError,
    VariantAttributes,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"
KEY_ARN = "arn:aws:kms:us-east-1:111111111111:key/0b7a8a3c-7d55-4b8a-9d5e-3f1a2b3c4d5e"
US_EAST = cdk.Environment(account="111111111111", region="us-east-1")


def imported_bucket(stack: cdk.Stack, *, with_key: bool) -> s3.IBucket:
    key = kms.Key.from_key_arn(stack, "ImportedKey", KEY_ARN) if with_key else None
    return s3.Bucket.from_bucket_attributes(
        stack, "Imported", bucket_name="team-artifacts", encryption_key=key
    )


def model_from(stack: cdk.Stack, data: ModelData) -> Model:
    return Model(stack, "Model", image=ContainerImage.from_registry(IMAGE), model_data=data)


def policy_statements(template: Template) -> list[dict[str, object]]:
    return [
        statement
        for policy in template.find_resources("AWS::IAM::ManagedPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_model_data_from_an_imported_bucket_reads_one_object_and_decrypts_through_s3() -> None:
    """The case that died with AttributeError: '_BucketBaseProxy' has no 'grant_read_object'."""
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    model_from(
        stack, ModelData.from_bucket(imported_bucket(stack, with_key=True), "m/model.tar.gz")
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Model",
        {"PrimaryContainer": {"ModelDataUrl": "s3://team-artifacts/m/model.tar.gz"}},
    )
    statements = policy_statements(template)
    assert {
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":s3:::team-artifacts/m/model.tar.gz"],
            ]
        },
    } in statements
    assert {
        "Action": "kms:Decrypt",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": KEY_ARN,
    } in statements


def test_a_key_given_beside_an_imported_bucket_is_used() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = imported_bucket(stack, with_key=False)
    key = kms.Key.from_key_arn(stack, "Key", KEY_ARN)
    model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz", key))
    decrypts = [
        s for s in policy_statements(Template.from_stack(stack)) if s["Action"] == "kms:Decrypt"
    ]
    assert [s["Resource"] for s in decrypts] == [KEY_ARN]


def test_an_sse_s3_bucket_needs_no_key_grant() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = s3.Bucket(stack, "Plain", encryption=s3.BucketEncryption.S3_MANAGED)
    model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    actions = [s["Action"] for s in policy_statements(Template.from_stack(stack))]
    assert "s3:GetObject" in actions and "kms:Decrypt" not in actions


def test_an_encrypted_bucket_refuses_a_second_key() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = EncryptedBucket(stack, "Artifacts")
    other = kms.Key(stack, "Other")
    with pytest.raises(ValidationError, match=r"Hosting/Model: model_data\.bucket encryption key="):
        model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz", other))


def test_capture_and_async_output_in_buckets_made_elsewhere() -> None:
    app = new_app()
    storage = cdk.Stack(app, "Storage", env=US_EAST)
    capture = s3.Bucket(storage, "Capture", encryption=s3.BucketEncryption.KMS, enforce_ssl=True)
    stack = cdk.Stack(app, "Hosting", env=US_EAST)
    model = model_from(
        stack, ModelData.from_bucket(imported_bucket(stack, with_key=True), "m/model.tar.gz")
    )
    Endpoint(
        stack,
        "Endpoint",
        model=model,
        data_capture=DataCapture(destination=capture),
        async_inference=AsyncInference(output=capture),
    )
    template = Template.from_stack(stack)
    imported_key = Match.object_like({"Fn::ImportValue": Match.string_like_regexp("CaptureKey")})
    template.has_resource_properties(
        "AWS::SageMaker::EndpointConfig",
        {
            "DataCaptureConfig": Match.object_like({"KmsKeyId": imported_key}),
            "AsyncInferenceConfig": {"OutputConfig": Match.object_like({"KmsKeyId": imported_key})},
        },
    )


def test_a_bucket_without_a_known_key_warns_for_capture() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = imported_bucket(stack, with_key=False)
    model = model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    Endpoint(stack, "Endpoint", model=model, data_capture=DataCapture(destination=bucket))
    Annotations.from_stack(stack).has_warning(
        "/Hosting/Endpoint",
        Match.string_like_regexp("data_capture.destination .* carries no known KMS key"),
    )


def test_grants_return_iam_grants() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = EncryptedBucket(stack, "Artifacts")
    role = iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal())
    for grant in (
        bucket.grant_read_object(role, "a/b"),
        bucket.grant_read_prefix(role, "a/"),
        bucket.grant_write_prefix(role, "out/"),
    ):
        assert isinstance(grant, iam.Grant) and grant.success


def endpoint_stack(
    app: cdk.App, name: str = "Hosting", **env: object
) -> tuple[cdk.Stack, Endpoint]:
    stack = cdk.Stack(app, name, **env)  # type: ignore[arg-type]
    bucket = EncryptedBucket(stack, "Artifacts")
    model = model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    return stack, Endpoint(stack, "Endpoint", model=model, endpoint_name="fraud")


def test_an_endpoint_is_a_cdk_iendpoint_that_api_gateway_integrates() -> None:
    app = new_app()
    _, endpoint = endpoint_stack(app)
    api_stack = cdk.Stack(app, "Api")
    api = apigateway.RestApi(api_stack, "Api")
    api.root.add_method(
        "POST",
        apigateway.SagemakerIntegration(endpoint),
        authorization_type=apigateway.AuthorizationType.IAM,
    )
    template = Template.from_stack(api_stack)
    template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {
            "Integration": Match.object_like(
                {
                    "Type": "AWS",
                    "IntegrationHttpMethod": "POST",
                    "Uri": {
                        "Fn::Join": [
                            "",
                            Match.array_with(
                                [":runtime.sagemaker:path/endpoints/fraud/invocations"]
                            ),
                        ]
                    },
                }
            )
        },
    )
    # The integration's role may invoke exactly this endpoint, named by its ARN.
    statements = [
        s
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any("sagemaker:InvokeEndpoint" in str(s["Action"]) for s in statements)


def test_an_imported_endpoint_carries_its_variants() -> None:
    stack = cdk.Stack(new_app(), "Ops")
    imported = Endpoint.from_endpoint_attributes(
        stack,
        "Fraud",
        endpoint_name="fraud",
        variants=[
            VariantAttributes(variant_name="Blue", instance_type="ml.m5.xlarge"),
            VariantAttributes(variant_name="Green", instance_type="ml.m5.xlarge"),
            VariantAttributes(variant_name="Shadow", instance_type="ml.m5.large", shadow=True),
        ],
    )
    assert isinstance(imported, cdk.Resource)
    assert imported.production_variant_names == ["Blue", "Green"]
    assert imported.shadow_variant_name == "Shadow"
    assert imported.default_variant_name == "Blue"
    found = imported.find_variant("Green")
    assert found is not None and found.instance_type == "ml.m5.xlarge"
    by_arn = Endpoint.from_endpoint_arn(
        stack, "ByArn", "arn:aws:sagemaker:us-east-1:111111111111:endpoint/fraud"
    )
    assert by_arn.endpoint_name == "fraud"


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        (
            [VariantAttributes(variant_name="v1.2")],
            "Ops/Fraud: variants[0].variant_name='v1.2' is invalid",
        ),
        (
            [VariantAttributes(variant_name="A", instance_type="ml.m5.huge")],
            "Ops/Fraud: variants[0].instance_type='ml.m5.huge' is invalid: not a SageMaker hosting",
        ),
        (
            [VariantAttributes(variant_name="A", serverless=True, instance_type="ml.m5.large")],
            "variants[0].instance_type='ml.m5.large' is invalid: a serverless variant has no "
            "instance type",
        ),
        (
            [VariantAttributes(variant_name="A"), VariantAttributes(variant_name="A")],
            "variants[].variant_name=['A'] is invalid: variant names (shadow included) must be "
            "unique",
        ),
        (
            ["Blue"],
            "Ops/Fraud: variants[0]='Blue' is invalid: must be a VariantAttributes, not str",
        ),
    ],
)
def test_bad_imported_variants_are_refused(variants: list[object], message: str) -> None:
    stack = cdk.Stack(new_app(), "Ops")
    with pytest.raises(ValidationError, match=re.escape(message)):
        Endpoint.from_endpoint_attributes(
            stack,
            "Fraud",
            endpoint_name="fraud",
            variants=variants,  # type: ignore[arg-type]
        )


def test_metrics_take_period_and_statistic_like_cdk_metric_options() -> None:
    _, endpoint = endpoint_stack(new_app())
    metric = endpoint.metric_invocations(
        "AllTraffic", period=cdk.Duration.minutes(5), statistic="Average", label="calls"
    )
    assert metric.period.to_seconds() == 300
    assert metric.statistic == "Average"
    assert metric.label == "calls"
    latency = endpoint.metric_model_latency(statistic="p90", period=cdk.Duration.minutes(2))
    assert (latency.statistic, latency.period.to_seconds()) == ("p90", 120)
    cpu = endpoint.metric_cpu_utilization(period=cdk.Duration.minutes(5))
    assert (cpu.statistic, cpu.namespace) == ("Average", "/aws/sagemaker/Endpoints")


def test_rollback_alarms_added_after_the_endpoint_guard_its_deployments() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Hosting")
    bucket = EncryptedBucket(stack, "Artifacts")
    model = model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        variants=[InstanceVariant(model=model, initial_instance_count=4)],
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.canary(instances=1, wait=cdk.Duration.minutes(5))
        ),
    )
    alarm = cloudwatch.Alarm(
        stack,
        "Errors",
        metric=endpoint.metric_invocation_5xx_errors(),
        threshold=1,
        evaluation_periods=1,
    )
    endpoint.add_rollback_alarms(alarm, alarm)
    assert endpoint.rollback_alarms == [alarm]
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "DeploymentConfig": Match.object_like(
                {
                    "AutoRollbackConfiguration": {
                        "Alarms": [{"AlarmName": {"Ref": Match.string_like_regexp("^Errors")}}]
                    }
                }
            )
        },
    )


def test_a_canary_without_any_rollback_alarm_fails_at_synth() -> None:
    app = new_app()
    stack = cdk.Stack(app, "Hosting")
    bucket = EncryptedBucket(stack, "Artifacts")
    model = model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    Endpoint(
        stack,
        "Endpoint",
        model=model,
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.canary(percent=10, wait=cdk.Duration.minutes(5))
        ),
    )
    with pytest.raises(
        RuntimeError, match=r"Hosting/Endpoint: deployment\.rollback_alarms=\[\] is invalid"
    ):
        app.synth()


def test_rollback_alarms_need_a_deployment() -> None:
    _, endpoint = endpoint_stack(new_app())
    alarm = cloudwatch.Alarm.from_alarm_name(endpoint, "A", "errors")
    with pytest.raises(ValidationError, match="rollback alarms need a deployment config"):
        endpoint.add_rollback_alarms(alarm)


def test_the_same_endpoint_name_in_two_stages_without_an_environment_is_allowed() -> None:
    app = new_app()
    for stage in ("Staging", "Production"):
        endpoint_stack(cdk.Stage(app, stage))  # type: ignore[arg-type]
    app.synth()


def test_the_same_endpoint_name_in_two_accounts_is_allowed_but_not_in_one() -> None:
    app = new_app()
    endpoint_stack(app, "A", env=US_EAST)
    endpoint_stack(app, "B", env=cdk.Environment(account="222222222222", region="us-east-1"))
    with pytest.raises(ValidationError, match="already used by A/Endpoint in account 111111111111"):
        endpoint_stack(cdk.Stage(app, "Again"), "C", env=US_EAST)  # type: ignore[arg-type]


def test_an_image_from_the_stack_region_passes_and_an_agnostic_stack_gets_an_info() -> None:
    stack = cdk.Stack(new_app(), "Hosting")
    Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    Annotations.from_stack(stack).has_info(
        "/Hosting/Model", Match.string_like_regexp("deploys only to us-east-1")
    )
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_an_endpoint_with_a_given_name_is_referenced_from_another_environment() -> None:
    app = new_app()
    hosting = cdk.Stack(app, "Hosting", env=US_EAST)
    bucket = EncryptedBucket(hosting, "Artifacts")
    endpoint = Endpoint(
        hosting,
        "Endpoint",
        model=model_from(hosting, ModelData.from_bucket(bucket, "m/m.tar.gz")),
        endpoint_name="FraudScoring",
    )
    other = cdk.Stack(app, "Other", env=cdk.Environment(account="222222222222", region="us-east-1"))
    role = iam.Role(other, "Caller", assumed_by=iam.AccountRootPrincipal())
    endpoint.grant_invoke(role)
    statements = [
        s
        for policy in Template.from_stack(other).find_resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    expected = f"endpoint/{endpoint.endpoint_name.lower()}"
    assert expected in json.dumps(statements), statements


def test_an_endpoint_imported_by_arn_warns_that_its_name_is_lower_case() -> None:
    stack = cdk.Stack(new_app(), "Ops")
    imported = Endpoint.from_endpoint_arn(
        stack, "Fraud", "arn:aws:sagemaker:eu-west-1:222222222222:endpoint/fraudscoring"
    )
    assert imported.endpoint_name == "fraudscoring"
    assert imported.env.account == "222222222222" and imported.env.region == "eu-west-1"
    Annotations.from_stack(stack).has_warning(
        "/Ops/Fraud",
        Match.string_like_regexp("read from its ARN, where SageMaker writes it in lower"),
    )


def test_an_endpoint_arn_must_name_the_endpoint() -> None:
    stack = cdk.Stack(new_app(), "Ops")
    with pytest.raises(ValidationError, match="names endpoint 'other', not 'FraudScoring'"):
        Endpoint.from_endpoint_attributes(
            stack,
            "Fraud",
            endpoint_name="FraudScoring",
            endpoint_arn="arn:aws:sagemaker:us-east-1:111111111111:endpoint/other",
        )
    with pytest.raises(ValidationError, match="must be a SageMaker endpoint ARN"):
        Endpoint.from_endpoint_attributes(
            stack,
            "Bad",
            endpoint_name="x",
            endpoint_arn="arn:aws:s3:::bucket",
        )


def test_guardrails_on_inf1_warn_that_sagemaker_ignores_them() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = EncryptedBucket(stack, "Artifacts")
    model = model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        model=model,
        instance_type="ml.inf1.xlarge",
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.canary(percent=10, wait=cdk.Duration.minutes(5)),
            rollback_alarms=[cloudwatch.Alarm.from_alarm_name(stack, "A", "a")],
        ),
    )
    Annotations.from_stack(stack).has_warning(
        "/Hosting/Endpoint", Match.string_like_regexp("Inf1.*fall back to a blue/green update")
    )
    assert endpoint.deployment is not None


def test_a_key_of_another_stack_is_left_alone_with_a_warning_naming_the_statement() -> None:
    app = new_app()
    security = cdk.Stack(app, "Security", env=US_EAST)
    key = kms.Key(security, "Key", enable_key_rotation=True)
    hosting = cdk.Stack(app, "Hosting", env=US_EAST)
    bucket = EncryptedBucket(hosting, "Artifacts")
    model = model_from(hosting, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    Endpoint(hosting, "Endpoint", model=model, encryption_key=key)
    # The security team's key policy is not changed from the hosting stack: it
    # holds the account's root statement only.
    (policy,) = [
        r["Properties"]["KeyPolicy"]
        for r in Template.from_stack(security).to_json()["Resources"].values()
        if r["Type"] == "AWS::KMS::Key"
    ]
    assert len(policy["Statement"]) == 1
    assert "logs" not in json.dumps(policy)
    # ...and the hosting stack says what to add there.
    Annotations.from_stack(hosting).has_warning(
        "/Hosting/Endpoint",
        Match.string_like_regexp(
            "Security/Key belongs to another stack.*logs.us-east-1.amazonaws.com"
        ),
    )


@pytest.mark.parametrize(
    ("prefix", "message"),
    [
        ("", "Hosting/Artifacts/Resource: prefix='' is invalid: must be an S3 key prefix"),
        ("*", "Hosting/Artifacts/Resource: prefix='*' is invalid: must be an S3 key prefix"),
        ("out/*/", "prefix='out/*/' is invalid: a prefix grant is limited to one literal prefix"),
        ("run?/", "prefix='run?/' is invalid: a prefix grant is limited to one literal prefix"),
    ],
)
def test_a_prefix_grant_never_widens_to_the_bucket(prefix: str, message: str) -> None:
    """The grant is acknowledged to cdk-nag as limited to its prefix: it must be one."""
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = EncryptedBucket(stack, "Artifacts")
    role = iam.Role(stack, "Writer", assumed_by=iam.AccountRootPrincipal())
    for grant in (bucket.grant_write_prefix, bucket.grant_read_prefix):
        with pytest.raises(ValidationError, match=re.escape(message)):
            grant(role, prefix)


def test_a_key_other_than_the_buckets_own_is_refused() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = s3.Bucket(stack, "Data", encryption=s3.BucketEncryption.KMS)
    other = kms.Key(stack, "Other")
    with pytest.raises(
        ValidationError, match=r"model_data\.bucket encryption key='Hosting/Other' is invalid"
    ):
        model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz", other))


def test_model_data_in_a_bucket_of_unknown_key_warns() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    model_from(stack, ModelData.from_bucket(imported_bucket(stack, with_key=False), "m/m.tar.gz"))
    Annotations.from_stack(stack).has_warning(
        "/Hosting/Model", Match.string_like_regexp("carries no KMS key, so the model is granted")
    )


def test_an_imported_repository_is_checked_in_its_own_region() -> None:
    from aws_cdk import aws_ecr as ecr

    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    repository = ecr.Repository.from_repository_attributes(
        stack,
        "Repo",
        repository_arn="arn:aws:ecr:eu-west-1:111111111111:repository/fraud",
        repository_name="fraud",
    )
    with pytest.raises(ValidationError, match="the image is in eu-west-1 but the stack deploys"):
        Model(stack, "Model", image=ContainerImage.from_ecr_repository(repository, "1.0"))


@pytest.mark.parametrize(
    "instance_type",
    ["ml.trn2.48xlarge", "ml.p6-b200.48xlarge", "ml.p6e-gb200.36xlarge", "ml.dl1.24xlarge"],
)
def test_local_nvme_families_get_no_volume_key(instance_type: str) -> None:
    from cdk_sagemaker_hosting import validation

    assert validation.has_local_storage(instance_type)
    assert instance_type in validation.production_variant_instance_types()


def test_direct_invocation_of_one_image_is_refused() -> None:
    from cdk_sagemaker_hosting import InferenceExecution

    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    with pytest.raises(ValidationError, match="inference_execution='Direct' is invalid"):
        Model(
            stack,
            "Model",
            image=ContainerImage.from_registry(IMAGE),
            inference_execution=InferenceExecution.DIRECT,
        )


def test_an_sse_s3_bucket_of_the_app_gives_no_key_warning() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = s3.Bucket(stack, "Plain", encryption=s3.BucketEncryption.S3_MANAGED)
    model = model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    Endpoint(stack, "Endpoint", model=model, data_capture=DataCapture(destination=bucket))
    Annotations.from_stack(stack).has_no_warning("*", Match.string_like_regexp("KMS key"))


@pytest.mark.parametrize(
    ("encryption", "warned"),
    [
        (None, False),  # S3 encrypts with SSE-S3
        (s3.BucketEncryption.S3_MANAGED, False),
        (s3.BucketEncryption.KMS_MANAGED, False),  # aws/s3: usable through S3 in the account
        (s3.BucketEncryption.DSSE_MANAGED, False),
    ],
)
def test_buckets_that_need_no_customer_key_give_no_warning(
    encryption: s3.BucketEncryption | None, warned: bool
) -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    bucket = s3.Bucket(stack, "Plain", encryption=encryption)
    model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz"))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("KMS key"))
    assert bool(warnings) == warned


def test_a_deploy_time_duration_passes_through() -> None:
    stack = cdk.Stack(new_app(), "Hosting", env=US_EAST)
    wait = cdk.CfnParameter(stack, "Wait", type="Number").value_as_number
    bucket = EncryptedBucket(stack, "Artifacts")
    Endpoint(
        stack,
        "Endpoint",
        model=model_from(stack, ModelData.from_bucket(bucket, "m/model.tar.gz")),
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.all_at_once(),
            termination_wait=cdk.Duration.seconds(wait),
        ),
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::SageMaker::Endpoint",
        {
            "DeploymentConfig": {
                "BlueGreenUpdatePolicy": Match.object_like(
                    {"TerminationWaitInSeconds": {"Ref": "Wait"}}
                )
            }
        },
    )


def test_metrics_of_an_endpoint_in_another_region_name_its_region_and_account() -> None:
    stack = cdk.Stack(new_app(), "Ops", env=US_EAST)
    imported = Endpoint.from_endpoint_attributes(
        stack,
        "Remote",
        endpoint_name="my-ep",
        endpoint_arn="arn:aws:sagemaker:eu-west-1:222222222222:endpoint/my-ep",
        variants=[VariantAttributes(variant_name="Blue", instance_type="ml.m5.large")],
    )
    metric = imported.metric_invocations()
    assert (metric.region, metric.account) == ("eu-west-1", "222222222222")
    local = Endpoint.from_endpoint_attributes(stack, "Local", endpoint_name="local-ep")
    assert local.metric_invocations().region is None
