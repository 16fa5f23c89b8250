"""Every hosting option of the Endpoint, as the template shows it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Match, Template
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
    RoutingStrategy,
    ServerlessVariant,
    TrafficRouting,
    validation,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"


class Setup:
    def __init__(self) -> None:
        self.stack = cdk.Stack(new_app(), "Hosting")
        self.bucket = EncryptedBucket(self.stack, "Artifacts")

    def model(self, cid: str, *, key: str = "m/model.tar.gz", **props: Any) -> Model:
        return Model(
            self.stack,
            cid,
            image=ContainerImage.from_registry(IMAGE),
            model_data=ModelData.from_bucket(self.bucket, key),
            **props,
        )

    def alarm(self, cid: str) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self.stack,
            cid,
            metric=cloudwatch.Metric(namespace="AWS/SageMaker", metric_name="Invocation5XXErrors"),
            threshold=1,
            evaluation_periods=1,
        )

    def config(self) -> dict[str, Any]:
        (config,) = (
            Template.from_stack(self.stack)
            .find_resources("AWS::SageMaker::EndpointConfig")
            .values()
        )
        props: dict[str, Any] = config["Properties"]
        return props

    def endpoint(self) -> dict[str, Any]:
        (endpoint,) = (
            Template.from_stack(self.stack).find_resources("AWS::SageMaker::Endpoint").values()
        )
        props: dict[str, Any] = endpoint["Properties"]
        return props


def test_ab_test_with_two_weighted_variants_and_tuned_instances() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Endpoint",
        endpoint_name="ab",
        variants=[
            InstanceVariant(
                model=s.model("A"),
                variant_name="A",
                initial_weight=90,
                instance_type="ml.c5.xlarge",
                initial_instance_count=3,
                volume_size_gb=30,
                model_data_download_timeout=cdk.Duration.minutes(10),
                container_startup_health_check_timeout=cdk.Duration.minutes(5),
                routing_strategy=RoutingStrategy.LEAST_OUTSTANDING_REQUESTS,
            ),
            InstanceVariant(
                model=s.model("B", key="m/v2.tar.gz"), variant_name="B", initial_weight=10
            ),
        ],
    )
    a, b = s.config()["ProductionVariants"]
    assert a == {
        "VariantName": "A",
        "ModelName": a["ModelName"],
        "InstanceType": "ml.c5.xlarge",
        "InitialInstanceCount": 3,
        "InitialVariantWeight": 90,
        "VolumeSizeInGB": 30,
        "ModelDataDownloadTimeoutInSeconds": 600,
        "ContainerStartupHealthCheckTimeoutInSeconds": 300,
        "RoutingConfig": {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"},
    }
    assert a["ModelName"]["Fn::GetAtt"][0].startswith("A")
    assert (b["VariantName"], b["InitialVariantWeight"], b["InitialInstanceCount"]) == ("B", 10, 2)
    assert b["ModelName"]["Fn::GetAtt"][0].startswith("B")


def test_every_model_of_the_endpoint_may_write_its_log_group() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Endpoint",
        endpoint_name="ab",
        variants=[
            InstanceVariant(model=s.model("A"), variant_name="A"),
            InstanceVariant(model=s.model("B"), variant_name="B"),
        ],
    )
    policies = Template.from_stack(s.stack).find_resources("AWS::IAM::ManagedPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any("logs:PutLogEvents" in st["Action"] for st in statements)
    endpoint = Template.from_stack(s.stack).find_resources("AWS::SageMaker::Endpoint")
    (depends,) = [e["DependsOn"] for e in endpoint.values()]
    assert any(d.startswith("APolicy") for d in depends)
    assert any(d.startswith("BPolicy") for d in depends)


def test_serverless_variant_has_no_instances_and_no_volume_key() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Endpoint",
        variants=[
            ServerlessVariant(
                model=s.model("M", network_isolation=False),
                memory_size_mb=4096,
                max_concurrency=50,
                provisioned_concurrency=5,
            ),
        ],
    )
    config = s.config()
    assert "KmsKeyId" not in config
    (variant,) = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {
        "MemorySizeInMB": 4096,
        "MaxConcurrency": 50,
        "ProvisionedConcurrency": 5,
    }
    assert "InstanceType" not in variant


def test_shadow_variant_gets_the_sampled_share_of_the_production_weight() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Endpoint",
        variants=[InstanceVariant(model=s.model("Prod"), variant_name="Prod")],
        shadow_variant=InstanceVariant(model=s.model("Shadow"), variant_name="Shadow"),
        shadow_sampling_percentage=25,
    )
    (shadow,) = s.config()["ShadowProductionVariants"]
    assert shadow["VariantName"] == "Shadow"
    assert shadow["InitialVariantWeight"] == 0.25


def test_data_capture_is_readable_encrypted_and_writable_by_the_models_only() -> None:
    s = Setup()
    capture_bucket = EncryptedBucket(s.stack, "Capture")
    Endpoint(
        s.stack,
        "Endpoint",
        model=s.model("M"),
        data_capture=DataCapture(
            destination=capture_bucket, prefix="capture/", sampling_percentage=20
        ),
    )
    capture = s.config()["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 20
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["CaptureContentTypeHeader"] == {
        "CsvContentTypes": ["text/csv"],
        "JsonContentTypes": ["application/json"],
    }
    assert capture["KmsKeyId"]["Fn::GetAtt"][0].startswith("CaptureKey")
    assert capture["DestinationS3Uri"]["Fn::Join"][1][-1] == "/capture/"
    (policy,) = Template.from_stack(s.stack).find_resources("AWS::IAM::ManagedPolicy").values()
    puts = [
        st
        for st in policy["Properties"]["PolicyDocument"]["Statement"]
        if st["Action"] == "s3:PutObject"
    ]
    # This endpoint's folder only: SageMaker writes <prefix><endpoint>/..., and
    # another endpoint's folder of the same prefix is that endpoint's to fill.
    assert len(puts) == 1
    assert puts[0]["Resource"]["Fn::Join"][1][-1] == "/capture/Hosting-Endpoint-D164256E/*"


def test_async_inference_with_encrypted_tls_only_topics() -> None:
    s = Setup()
    output = EncryptedBucket(s.stack, "Output")
    endpoint = Endpoint(
        s.stack,
        "Endpoint",
        model=s.model("M"),
        async_inference=AsyncInference(output=output, max_concurrent_invocations_per_instance=4),
    )
    config = s.config()["AsyncInferenceConfig"]
    assert config["ClientConfig"] == {"MaxConcurrentInvocationsPerInstance": 4}
    out = config["OutputConfig"]
    assert out["S3OutputPath"]["Fn::Join"][1][-1] == "/async-output/"
    assert out["S3FailurePath"]["Fn::Join"][1][-1] == "/async-failures/"
    assert set(out["NotificationConfig"]) == {"SuccessTopic", "ErrorTopic"}
    template = Template.from_stack(s.stack)
    template.resource_count_is("AWS::SNS::Topic", 2)
    for topic in template.find_resources("AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("EndpointKey")
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    assert endpoint.success_topic is not None


def test_blue_green_canary_with_rollback_alarms() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Endpoint",
        model=s.model("M"),
        instance_count=4,
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.canary(percent=25, wait=cdk.Duration.minutes(10)),
            rollback_alarms=[s.alarm("Errors")],
            termination_wait=cdk.Duration.minutes(15),
            maximum_execution_timeout=cdk.Duration.hours(2),
        ),
    )
    deployment = s.endpoint()["DeploymentConfig"]
    assert deployment["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 600,
        },
        "TerminationWaitInSeconds": 900,
        "MaximumExecutionTimeoutInSeconds": 7200,
    }
    (rollback,) = s.endpoint()["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert rollback["AlarmName"]["Ref"].startswith("Errors")


def test_linear_and_rolling_policies() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Linear",
        endpoint_name="linear",
        model=s.model("M"),
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.linear(percent=20, wait=cdk.Duration.minutes(5)),
            rollback_alarms=[s.alarm("A1")],
        ),
    )
    Endpoint(
        s.stack,
        "Rolling",
        endpoint_name="rolling",
        model=s.model("N"),
        deployment=DeploymentConfig.rolling(
            batch_instances=1,
            wait=cdk.Duration.minutes(5),
            rollback_alarms=[s.alarm("A2")],
            rollback_batch_percent=100,
        ),
    )
    endpoints = {
        e["Properties"]["EndpointName"]: e["Properties"]["DeploymentConfig"]
        for e in Template.from_stack(s.stack).find_resources("AWS::SageMaker::Endpoint").values()
    }
    routing = endpoints["linear"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 20},
        "WaitIntervalInSeconds": 300,
    }
    assert endpoints["rolling"]["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "INSTANCE_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 300,
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 100},
    }


def test_retained_variant_properties() -> None:
    s = Setup()
    Endpoint(
        s.stack,
        "Endpoint",
        model=s.model("M"),
        retain_all_variant_properties=True,
        exclude_retained_variant_properties=["DesiredInstanceCount"],
    )
    endpoint = s.endpoint()
    assert endpoint["RetainAllVariantProperties"] is True
    assert endpoint["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DesiredInstanceCount"}
    ]


def test_imported_endpoint_grants_and_metrics() -> None:
    s = Setup()
    imported = Endpoint.from_endpoint_name(s.stack, "Imported", "Legacy-Scoring")
    role = iam.Role(s.stack, "Caller", assumed_by=iam.AccountRootPrincipal())
    imported.grant_invoke(role)
    (policy,) = Template.from_stack(s.stack).find_resources("AWS::IAM::Policy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"]["Fn::Join"][1][-1] == ":endpoint/legacy-scoring"
    metric = imported.metric_invocations("Blue")
    assert metric.namespace == "AWS/SageMaker"
    assert metric.dimensions == {"EndpointName": "Legacy-Scoring", "VariantName": "Blue"}


def test_metric_helpers_cover_invocations_latency_errors_and_utilisation() -> None:
    s = Setup()
    endpoint = Endpoint(
        s.stack,
        "Endpoint",
        endpoint_name="e",
        variants=[InstanceVariant(model=s.model("M"), variant_name="Blue")],
    )
    expected = {
        "metric_invocations": ("AWS/SageMaker", "Invocations", "Sum"),
        "metric_invocation_4xx_errors": ("AWS/SageMaker", "Invocation4XXErrors", "Sum"),
        "metric_invocation_5xx_errors": ("AWS/SageMaker", "Invocation5XXErrors", "Sum"),
        "metric_model_latency": ("AWS/SageMaker", "ModelLatency", "p99"),
        "metric_overhead_latency": ("AWS/SageMaker", "OverheadLatency", "p99"),
        "metric_cpu_utilization": ("/aws/sagemaker/Endpoints", "CPUUtilization", "Average"),
        "metric_memory_utilization": ("/aws/sagemaker/Endpoints", "MemoryUtilization", "Average"),
        "metric_disk_utilization": ("/aws/sagemaker/Endpoints", "DiskUtilization", "Average"),
        "metric_gpu_utilization": ("/aws/sagemaker/Endpoints", "GPUUtilization", "Average"),
    }
    for method, (namespace, name, statistic) in expected.items():
        metric = getattr(endpoint, method)()
        assert (metric.namespace, metric.metric_name, metric.statistic) == (
            namespace,
            name,
            statistic,
        ), method
        assert metric.dimensions == {"EndpointName": "e", "VariantName": "Blue"}


@pytest.mark.parametrize(
    ("instance_type", "local"),
    [
        ("ml.m5.large", False),
        ("ml.c5.xlarge", False),
        ("ml.inf2.xlarge", False),
        ("ml.g4dn.xlarge", True),
        ("ml.m5d.large", True),
        ("ml.c6id.large", True),
        ("ml.p4d.24xlarge", True),
        ("ml.g5.xlarge", True),
        ("ml.p5.48xlarge", True),
        ("ml.r5d.large", True),
        ("ml.t2.medium", False),
    ],
)
def test_local_storage_instance_types_are_recognised(instance_type: str, local: bool) -> None:
    assert validation.has_local_storage(instance_type) is local


def test_endpoint_on_local_storage_leaves_out_the_volume_key_sagemaker_would_refuse() -> None:
    s = Setup()
    Endpoint(s.stack, "Endpoint", model=s.model("M"), instance_type="ml.g5.xlarge")
    assert "KmsKeyId" not in s.config()
    t = Setup()
    Endpoint(t.stack, "Endpoint", model=t.model("M"), instance_type="ml.m5.xlarge")
    assert t.config()["KmsKeyId"]["Fn::GetAtt"][0].startswith("EndpointKey")
