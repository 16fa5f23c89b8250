"""Every hosting option SageMaker would refuse fails at synth time, with a clear message."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_sagemaker_hosting import (
    AsyncInference,
    ContainerDefinition,
    ContainerImage,
    DataCapture,
    DeploymentConfig,
    EncryptedBucket,
    Endpoint,
    InferenceExecution,
    InstanceVariant,
    Model,
    ModelData,
    ServerlessVariant,
    TrafficRouting,
    ValidationError,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"
MINUTE = cdk.Duration.minutes(1)
ENV = cdk.Environment(account="111111111111", region="us-east-1")


class Ctx:
    """A stack with a bucket, models and alarms on demand."""

    def __init__(self) -> None:
        self.stack = cdk.Stack(new_app(), "Bad")
        self.bucket = EncryptedBucket(self.stack, "Artifacts")
        self._n = 0

    def first_in(self, env: cdk.Environment) -> cdk.Stack:
        """A stack in ``env`` (the models stay in the environment-agnostic one)."""
        return cdk.Stack(self.stack.node.root, "InEnv", env=env)

    def model(self, **props: Any) -> Model:
        self._n += 1
        props.setdefault("image", ContainerImage.from_registry(IMAGE))
        return Model(self.stack, f"Model{self._n}", **props)

    def image(self) -> ContainerImage:
        return ContainerImage.from_registry(IMAGE)

    def variant(self, **props: Any) -> InstanceVariant:
        props.setdefault("model", self.model())
        return InstanceVariant(**props)

    def serverless(self, **props: Any) -> ServerlessVariant:
        props.setdefault("model", self.model(network_isolation=False))
        return ServerlessVariant(**props)

    def alarms(self, n: int) -> list[cloudwatch.IAlarm]:
        return [
            cloudwatch.Alarm.from_alarm_name(self.stack, f"Alarm{i}", f"alarm-{i}")
            for i in range(n)
        ]

    def endpoint(self, **props: Any) -> Endpoint:
        if "variants" not in props:
            props.setdefault("model", self.model())
        return Endpoint(self.stack, "Endpoint", **props)


def canary(c: Ctx, **routing: Any) -> DeploymentConfig:
    return DeploymentConfig.blue_green(
        traffic_routing=TrafficRouting.canary(wait=MINUTE, **routing), rollback_alarms=c.alarms(1)
    )


def linear(c: Ctx, **routing: Any) -> DeploymentConfig:
    return DeploymentConfig.blue_green(
        traffic_routing=TrafficRouting.linear(wait=MINUTE, **routing), rollback_alarms=c.alarms(1)
    )


Case = tuple[str, Callable[[Ctx], Any], str]
CASES: list[Case] = [
    # --- variants
    (
        "no variants",
        lambda c: c.endpoint(variants=[]),
        "Bad/Endpoint: variants='0 variants' is invalid: give 1-10 variants",
    ),
    (
        "eleven variants",
        lambda c: c.endpoint(variants=[c.variant(variant_name=f"v{i}") for i in range(11)]),
        "variants='11 variants' is invalid: give 1-10 variants",
    ),
    (
        "model and variants",
        lambda c: c.endpoint(model=c.model(), variants=[c.variant()]),
        "Bad/Endpoint: model/variants='both' is invalid: "
        "give either model (one variant) or variants",
    ),
    (
        "duplicate variant names",
        lambda c: c.endpoint(variants=[c.variant(variant_name="A"), c.variant(variant_name="A")]),
        "variants[].variant_name=['A'] is invalid: variant names (shadow included) must be unique",
    ),
    (
        "negative weight",
        lambda c: c.endpoint(variants=[c.variant(variant_name="A", initial_weight=-1)]),
        "variants[0].initial_weight=-1 is invalid: weights must be >= 0",
    ),
    (
        "all weights zero",
        lambda c: c.endpoint(
            variants=[
                c.variant(variant_name="A", initial_weight=0),
                c.variant(variant_name="B", initial_weight=0),
            ]
        ),
        "variants[].initial_weight=[0, 0] is invalid: at least one variant needs a positive weight",
    ),
    (
        "volume too large",
        lambda c: c.endpoint(variants=[c.variant(volume_size_gb=513)]),
        "variants[0].volume_size_gb=513 is invalid: must be between 1 and 512 GB",
    ),
    (
        "download timeout too short",
        lambda c: c.endpoint(
            variants=[c.variant(model_data_download_timeout=cdk.Duration.seconds(30))]
        ),
        "variants[0].model_data_download_timeout=30 is invalid: must be between 60 and 3600 s",
    ),
    (
        "startup timeout too long",
        lambda c: c.endpoint(
            variants=[c.variant(container_startup_health_check_timeout=cdk.Duration.hours(2))]
        ),
        "variants[0].container_startup_health_check_timeout=7200 is invalid",
    ),
    (
        "elastic inference accelerator",
        lambda c: c.endpoint(variants=[c.variant(accelerator_type="ml.eia2.medium")]),
        "variants[0].accelerator_type='ml.eia2.medium' is invalid: Elastic Inference ended",
    ),
    (
        "variant on a t2 with one instance",
        lambda c: c.endpoint(
            variants=[c.variant(instance_type="ml.t2.medium", initial_instance_count=1)]
        ),
        "variants[0].initial_instance_count=1 is invalid: a multi-AZ endpoint needs at least 2",
    ),
    (
        "unknown instance type in a variant",
        lambda c: c.endpoint(variants=[c.variant(instance_type="ml.z9.large")]),
        "variants[0].instance_type='ml.z9.large' is invalid: not a SageMaker hosting instance type",
    ),
    # --- serverless
    (
        "serverless memory not a 1 GB step",
        lambda c: c.endpoint(variants=[c.serverless(memory_size_mb=1500)]),
        "variants[0].memory_size_mb=1500 is invalid: must be 1024, 2048, 3072, 4096, 5120 or 6144",
    ),
    (
        "serverless memory too large",
        lambda c: c.endpoint(variants=[c.serverless(memory_size_mb=7168)]),
        "variants[0].memory_size_mb=7168 is invalid",
    ),
    (
        "serverless concurrency too high",
        lambda c: c.endpoint(variants=[c.serverless(max_concurrency=201)]),
        "variants[0].max_concurrency=201 is invalid: must be between 1 and 200",
    ),
    (
        "provisioned above max",
        lambda c: c.endpoint(
            variants=[c.serverless(max_concurrency=10, provisioned_concurrency=11)]
        ),
        "variants[0].provisioned_concurrency=11 is invalid: must not exceed max_concurrency (10)",
    ),
    (
        "serverless mixed with instances",
        lambda c: c.endpoint(
            variants=[c.serverless(variant_name="S"), c.variant(variant_name="I")]
        ),
        "variants=['ServerlessVariant', 'InstanceVariant'] is invalid: a serverless endpoint has "
        "exactly one variant",
    ),
    (
        "serverless with network isolation",
        lambda c: c.endpoint(variants=[ServerlessVariant(model=c.model())]),
        "serverless inference does not support network isolation",
    ),
    (
        "serverless with data capture",
        lambda c: c.endpoint(
            variants=[c.serverless()], data_capture=DataCapture(destination=c.bucket)
        ),
        "data_capture='set' is invalid: serverless endpoints do not support data capture",
    ),
    (
        "serverless asynchronous",
        lambda c: c.endpoint(
            variants=[c.serverless()], async_inference=AsyncInference(output=c.bucket)
        ),
        "async_inference='set' is invalid: serverless endpoints cannot be asynchronous",
    ),
    # --- shadow
    (
        "shadow with two production variants",
        lambda c: c.endpoint(
            variants=[c.variant(variant_name="A"), c.variant(variant_name="B")],
            shadow_variant=c.variant(variant_name="S"),
        ),
        "shadow_variant='S' is invalid: "
        "shadow testing pairs one production variant with one shadow",
    ),
    (
        "shadow sampling zero",
        lambda c: c.endpoint(
            variants=[c.variant(variant_name="A")],
            shadow_variant=c.variant(variant_name="S"),
            shadow_sampling_percentage=0,
        ),
        "shadow_sampling_percentage=0 is invalid: must be between 1 and 100 %",
    ),
    (
        "shadow named like production",
        lambda c: c.endpoint(
            variants=[c.variant(variant_name="A")], shadow_variant=c.variant(variant_name="A")
        ),
        "variants[].variant_name=['A'] is invalid",
    ),
    # --- data capture
    (
        "capture sampling above 100",
        lambda c: c.endpoint(
            data_capture=DataCapture(destination=c.bucket, sampling_percentage=101)
        ),
        "data_capture.sampling_percentage=101 is invalid: must be between 0 and 100 %",
    ),
    (
        "capture nothing",
        lambda c: c.endpoint(
            data_capture=DataCapture(
                destination=c.bucket, capture_input=False, capture_output=False
            )
        ),
        "data_capture.capture_input/capture_output=False is invalid: capture the input, the output",
    ),
    (
        "capture prefix without slash",
        lambda c: c.endpoint(data_capture=DataCapture(destination=c.bucket, prefix="capture")),
        "data_capture.prefix='capture' is invalid: must be an S3 key prefix",
    ),
    (
        "capture eleven csv types",
        lambda c: c.endpoint(
            data_capture=DataCapture(
                destination=c.bucket, csv_content_types=[f"text/csv{i}" for i in range(11)]
            )
        ),
        "data_capture.csv_content_types=['text/csv0', ",
    ),
    (
        "capture content type not MIME",
        lambda c: c.endpoint(
            data_capture=DataCapture(destination=c.bucket, json_content_types=["json"])
        ),
        "data_capture.json_content_types='json' is invalid: must be a MIME type",
    ),
    # --- async
    (
        "async concurrency too high",
        lambda c: c.endpoint(
            async_inference=AsyncInference(
                output=c.bucket, max_concurrent_invocations_per_instance=1001
            )
        ),
        "async_inference.max_concurrent_invocations_per_instance=1001 is invalid",
    ),
    (
        "async output prefix with leading slash",
        lambda c: c.endpoint(
            async_inference=AsyncInference(output=c.bucket, output_prefix="/out/")
        ),
        "async_inference.output_prefix='/out/' is invalid",
    ),
    # --- deployment guardrails
    (
        "canary above half",
        lambda c: c.endpoint(instance_count=4, deployment=canary(c, percent=60)),
        "deployment.traffic_routing (CANARY).percent=60 is invalid: must be between 1 and 50 % of",
    ),
    (
        "canary of too many instances",
        lambda c: c.endpoint(instance_count=4, deployment=canary(c, instances=3)),
        "deployment.traffic_routing (CANARY).instances=3 is invalid: 3 of the smallest variant's "
        "4 instances is 75 %; SageMaker takes 1-50 % of every variant's instances",
    ),
    (
        "linear step of too few instances",
        lambda c: c.endpoint(instance_count=20, deployment=linear(c, instances=1)),
        "deployment.traffic_routing (LINEAR).instances=1 is invalid: 1 of the largest variant's "
        "20 instances is 5 %; SageMaker takes 10-50 % of every variant's instances",
    ),
    (
        "linear step too small for the larger of two variants",
        lambda c: c.endpoint(
            variants=[
                c.variant(variant_name="Small", initial_instance_count=2),
                c.variant(variant_name="Large", initial_instance_count=20),
            ],
            deployment=linear(c, instances=1),
        ),
        "deployment.traffic_routing (LINEAR).instances=1 is invalid: 1 of the largest variant's "
        "20 instances is 5 %; SageMaker takes 10-50 % of every variant's instances",
    ),
    (
        "a wait of a fraction of a second",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.rolling(
                batch_instances=1,
                wait=cdk.Duration.millis(1500),
                rollback_alarms=c.alarms(1),
            )
        ),
        "deployment.wait='1.5 s' is invalid: must be whole seconds",
    ),
    (
        "rolling batch above half the fleet",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.rolling(
                batch_percent=100, wait=MINUTE, rollback_alarms=c.alarms(1)
            )
        ),
        "deployment.batch.percent=100 is invalid: must be between 5 and 50 % of capacity",
    ),
    (
        "rolling batch below 5 % of the fleet",
        lambda c: c.endpoint(
            instance_count=40,
            deployment=DeploymentConfig.rolling(
                batch_instances=1, wait=MINUTE, rollback_alarms=c.alarms(1)
            ),
        ),
        "deployment.batch.instances=1 is invalid: 1 of the largest variant's 40 instances is "
        "2.5 %; SageMaker takes 5-50 % of every variant's instances",
    ),
    (
        "sampling percentage not a whole number",
        lambda c: c.endpoint(
            data_capture=DataCapture(destination=c.bucket, sampling_percentage=50.5)
        ),
        "data_capture.sampling_percentage=50.5 is invalid: must be a whole number (0-100 %)",
    ),
    (
        "serverless concurrency not a whole number",
        lambda c: c.endpoint(variants=[c.serverless(max_concurrency=2.5)]),
        "variants[0].max_concurrency=2.5 is invalid: must be a whole number (1-200)",
    ),
    (
        "a key given as a URL",
        lambda c: c.model(model_data=ModelData.from_bucket(c.bucket, "s3://bucket/m/model.tar.gz")),
        "model_data.key='s3://bucket/m/model.tar.gz' is invalid: give the key within the bucket "
        "(e.g. 'models/v1/model.tar.gz'), not a URL",
    ),
    (
        "a bucket that is not one",
        lambda c: c.model(model_data=ModelData.from_bucket("my-bucket", "m/model.tar.gz")),
        "model_data.bucket='my-bucket' is invalid: must be an s3.IBucket or EncryptedBucket, "
        "not str",
    ),
    (
        "a variant's model that is not one",
        lambda c: c.endpoint(variants=[InstanceVariant(model="fraud-model")]),
        "Bad/Endpoint: variants[0].model='fraud-model' is invalid: must be a Model, not str",
    ),
    (
        "a bucket key that is not one",
        lambda c: EncryptedBucket(c.stack, "Keyed", encryption_key="arn:aws:kms:us-east-1:1:key/x"),
        "Bad/Keyed: encryption_key='arn:aws:kms:us-east-1:1:key/x' is invalid: must be a kms.IKey",
    ),
    (
        "shortcut props beside variants",
        lambda c: c.endpoint(variants=[c.variant()], instance_count=6),
        "Bad/Endpoint: instance_count=6 is invalid: with variants, give the variant's name, "
        "instance type and count in each InstanceVariant",
    ),
    (
        "a shadow variant's own weight",
        lambda c: c.endpoint(shadow_variant=c.variant(variant_name="Shadow", initial_weight=0.25)),
        "Bad/Endpoint: shadow_variant.initial_weight=0.25 is invalid: a shadow variant takes no "
        "weight of its own",
    ),
    (
        "a shadow sampling percentage without a shadow",
        lambda c: c.endpoint(shadow_sampling_percentage=50),
        "Bad/Endpoint: shadow_sampling_percentage=50 is invalid: only applies with a "
        "shadow_variant",
    ),
    (
        "variants that are not a list",
        lambda c: c.endpoint(variants=c.variant()),
        "Bad/Endpoint: variants=InstanceVariant(",
    ),
    (
        "multi_az that is not a boolean",
        lambda c: c.endpoint(multi_az="no"),
        "Bad/Endpoint: multi_az='no' is invalid: must be True or False",
    ),
    (
        "a VPC that is not one",
        lambda c: c.model(vpc="vpc-123"),
        "Bad/Model1: vpc='vpc-123' is invalid: must be an ec2.IVpc, not str",
    ),
    (
        "an image from another Region",
        lambda c: Model(
            cdk.Stack(c.stack.node.root, "Frankfurt", env=cdk.Environment(region="eu-central-1")),
            "Model",
            image=c.image(),
        ),
        "Frankfurt/Model: image='123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0' is "
        "invalid: the image is in us-east-1 but the stack deploys to eu-central-1",
    ),
    (
        "canary with percent and instances",
        lambda c: c.endpoint(deployment=canary(c, percent=10, instances=1)),
        "is invalid: give percent or instances, not both",
    ),
    (
        "linear step below 10 %",
        lambda c: c.endpoint(deployment=linear(c, percent=5)),
        "deployment.traffic_routing (LINEAR).percent=5 is invalid: must be between 10 and 50 %",
    ),
    (
        "canary without alarms",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.canary(percent=10, wait=MINUTE)
            )
        ),
        "deployment.rollback_alarms=[] is invalid: a canary deployment needs 1-10 alarms",
    ),
    (
        "eleven rollback alarms",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.all_at_once(), rollback_alarms=c.alarms(11)
            )
        ),
        "deployment.rollback_alarms='11 alarms' is invalid: give at most 10",
    ),
    (
        "execution timeout too short",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.all_at_once(),
                maximum_execution_timeout=cdk.Duration.minutes(5),
            )
        ),
        "deployment.maximum_execution_timeout='300 s' is invalid: must be 600 s to 28800 s",
    ),
    (
        "termination wait too long",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.all_at_once(), termination_wait=cdk.Duration.hours(2)
            )
        ),
        "deployment.termination_wait='7200 s' is invalid: must be 0 s to 3600 s",
    ),
    (
        "canary wait too long",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.canary(percent=10, wait=cdk.Duration.hours(2)),
                rollback_alarms=c.alarms(1),
            )
        ),
        "deployment.traffic_routing.wait='7200 s' is invalid: must be 0 s to 3600 s",
    ),
    (
        "rolling on a multi-variant endpoint",
        lambda c: c.endpoint(
            variants=[c.variant(variant_name="A"), c.variant(variant_name="B")],
            deployment=DeploymentConfig.rolling(
                batch_instances=1, wait=MINUTE, rollback_alarms=c.alarms(1)
            ),
        ),
        "deployment='rolling' is invalid: SageMaker refuses rolling updates for serverless and "
        "multi-variant endpoints",
    ),
    (
        "rolling on serverless",
        lambda c: c.endpoint(
            variants=[c.serverless()],
            deployment=DeploymentConfig.rolling(
                batch_instances=1, wait=MINUTE, rollback_alarms=c.alarms(1)
            ),
        ),
        "deployment='rolling' is invalid",
    ),
    (
        "rolling without batch size",
        lambda c: c.endpoint(
            deployment=DeploymentConfig.rolling(wait=MINUTE, rollback_alarms=c.alarms(1))
        ),
        "deployment.batch=None is invalid: give percent or instances",
    ),
    (
        "retained property unknown",
        lambda c: c.endpoint(
            retain_all_variant_properties=True, exclude_retained_variant_properties=["InstanceType"]
        ),
        "exclude_retained_variant_properties='InstanceType' is invalid: only DesiredInstanceCount, "
        "DesiredWeight can be excluded",
    ),
    (
        "exclusion without retain",
        lambda c: c.endpoint(exclude_retained_variant_properties=["DesiredWeight"]),
        "only applies with retain_all_variant_properties=True",
    ),
    (
        "endpoint name used twice in one environment",
        lambda c: [
            Endpoint(c.first_in(ENV), "First", model=c.model(), endpoint_name="scoring"),
            Endpoint(
                cdk.Stack(c.stack.node.root, "Other", env=ENV),
                "Second",
                model=c.model(),
                endpoint_name="Scoring",
            ),
        ],
        "Other/Second: endpoint_name='Scoring' is invalid: already used by InEnv/First in "
        "account 111111111111, Region us-east-1; endpoint names are unique per account and "
        "Region",
    ),
    # --- models
    (
        "image and containers",
        lambda c: c.model(
            containers=[ContainerDefinition(image=c.image()), ContainerDefinition(image=c.image())]
        ),
        "Bad/Model1: image/containers='both' is invalid: give either image (one container) or "
        "containers (2-15)",
    ),
    (
        "one-container pipeline",
        lambda c: c.model(image=None, containers=[ContainerDefinition(image=c.image())]),
        "Bad/Model1: containers='1 containers' is invalid: give 2-15 containers",
    ),
    (
        "sixteen containers",
        lambda c: c.model(
            image=None, containers=[ContainerDefinition(image=c.image()) for _ in range(16)]
        ),
        "containers='16 containers' is invalid: give 2-15 containers",
    ),
    (
        "pipeline container image empty",
        lambda c: c.model(
            image=None,
            containers=[
                ContainerDefinition(image=c.image()),
                ContainerDefinition(image=ContainerImage.from_registry("")),
            ],
        ),
        "Bad/Model1: containers[1].image='' is invalid: must name a container image",
    ),
    (
        "direct without hostnames",
        lambda c: c.model(
            image=None,
            inference_execution=InferenceExecution.DIRECT,
            containers=[
                ContainerDefinition(image=c.image(), hostname="a"),
                ContainerDefinition(image=c.image()),
            ],
        ),
        "containers[1].hostname=None is invalid: InferenceExecution.DIRECT invokes each container",
    ),
    (
        "direct with duplicate hostnames",
        lambda c: c.model(
            image=None,
            inference_execution=InferenceExecution.DIRECT,
            containers=[
                ContainerDefinition(image=c.image(), hostname="a"),
                ContainerDefinition(image=c.image(), hostname="a"),
            ],
        ),
        "containers[].hostname=['a'] is invalid: hostnames must be unique",
    ),
    (
        "multi-model with an object key",
        lambda c: c.model(
            multi_model=True, model_data=ModelData.from_bucket(c.bucket, "m/model.tar.gz")
        ),
        "is invalid: multi_model=True needs ModelData.from_bucket_prefix(bucket, 'prefix/')",
    ),
    (
        "prefix without multi-model",
        lambda c: c.model(model_data=ModelData.from_bucket_prefix(c.bucket, "tenants/")),
        "model_data='a prefix' is invalid: a prefix of artifacts needs multi_model=True",
    ),
    (
        "multi-model prefix without slash",
        lambda c: c.model(
            multi_model=True, model_data=ModelData.from_bucket_prefix(c.bucket, "tenants")
        ),
        "model_data.prefix='tenants' is invalid: must be an S3 key prefix",
    ),
    (
        "archive that is not a tar.gz",
        lambda c: c.model(model_data=ModelData.from_asset("README.md")),
        "Bad/Model1: model_data.path='README.md' is invalid: must be an existing .tar.gz file",
    ),
    (
        "subnets without a VPC",
        lambda c: c.model(vpc_subnets=cdk.aws_ec2.SubnetSelection()),
        "Bad/Model1: vpc=None is invalid: vpc_subnets and security_groups need a vpc",
    ),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_a_clear_message(build: Callable[[Ctx], Any], message: str) -> None:
    """Refused when built, or (rules that depend on later calls) when synthesised."""
    c = Ctx()
    with pytest.raises((ValidationError, RuntimeError), match=re.escape(message)):
        build(c)
        c.stack.node.root.synth()


def test_there_are_at_least_40_distinct_cases() -> None:
    assert len({c[0] for c in CASES}) == len(CASES) >= 40
