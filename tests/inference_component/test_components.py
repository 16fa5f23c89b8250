"""Inference components and endpoints in component mode: what they render and refuse."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Annotations, Match
from cdk_sagemaker_hosting import (
    AsyncInference,
    CapacityReservation,
    ComponentContainer,
    ComponentVariant,
    ComputeRequirements,
    ContainerImage,
    DataCapture,
    EncryptedBucket,
    Endpoint,
    EndpointMonitoring,
    GpuCapacity,
    InferenceComponent,
    InstancePool,
    InstanceTypeSpecification,
    InstanceVariant,
    ManagedInstanceScaling,
    ModelData,
    PlacementStrategy,
    ScaleInStrategy,
    Scheduling,
    ValidationError,
)

from tests.inference_component.helpers import GPU, IMAGE, Ctx


def one(found: dict[str, Any]) -> dict[str, Any]:
    (value,) = found.values()
    return value


def test_a_component_runs_its_model_with_its_own_reservation_and_copies() -> None:
    c = Ctx()
    component = c.component()
    props = one(c.resources("AWS::SageMaker::InferenceComponent"))
    assert props["DependsOn"] == [c.stack.get_logical_id(c.endpoint.resource)]
    p = props["Properties"]
    assert p["EndpointName"] == "gpu"
    assert p["VariantName"] == "AllTraffic"
    assert p["InferenceComponentName"] == component.component_name
    assert p["RuntimeConfig"] == {"CopyCount": 2}
    spec = p["Specification"]
    assert spec["ModelName"]["Fn::GetAtt"][1] == "ModelName"
    assert spec["ComputeResourceRequirements"] == {
        "MinMemoryRequiredInMb": 16384,
        "NumberOfCpuCoresRequired": 4,
        "NumberOfAcceleratorDevicesRequired": 1,
    }
    # Copies spread over instances, balanced over zones: the resilient default.
    assert spec["SchedulingConfig"] == {
        "PlacementStrategy": "SPREAD",
        "AvailabilityZoneBalance": {"EnforcementMode": "PERMISSIVE"},
    }
    assert "StartupParameters" not in spec and "DataCacheConfig" not in spec


def test_the_endpoint_in_component_mode_has_no_model_and_its_own_role() -> None:
    c = Ctx()
    c.component()
    config = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"]
    (variant,) = config["ProductionVariants"]
    assert "ModelName" not in variant
    assert variant["ManagedInstanceScaling"] == {
        "Status": "ENABLED",
        "MinInstanceCount": 2,
        "MaxInstanceCount": 4,
    }
    assert config["EnableNetworkIsolation"] is True
    role_id = config["ExecutionRoleArn"]["Fn::GetAtt"][0]
    role = c.template().to_json()["Resources"][role_id]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"}
    }
    # g5 keeps its storage on local NVMe: SageMaker refuses KmsKeyId there.
    assert "KmsKeyId" not in config
    policies = c.resources("AWS::IAM::ManagedPolicy")
    execution = [
        p for p in policies.values() if {"Ref": role_id} in p["Properties"].get("Roles", [])
    ]
    (policy,) = execution
    actions = [s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert "cloudwatch:PutMetricData" in actions
    assert ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"] in actions
    # The endpoint waits for its role's policy.
    endpoint = one(c.resources("AWS::SageMaker::Endpoint"))
    assert any(d.startswith("EndpointExecutionPolicy") for d in endpoint["DependsOn"])


def test_a_cpu_variant_keeps_its_volume_key() -> None:
    c = Ctx(variants=[ComponentVariant(instance_type="ml.m5.4xlarge", initial_instance_count=2)])
    c.component(requirements=ComputeRequirements(min_memory_mb=2048, cpu_cores=2))
    config = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"]
    assert "KmsKeyId" in config
    assert config["ProductionVariants"][0]["InitialInstanceCount"] == 2
    assert "ManagedInstanceScaling" not in config["ProductionVariants"][0]


def test_the_model_of_a_component_may_write_the_endpoints_logs() -> None:
    c = Ctx()
    model = c.model()
    c.component(model=model)
    assert model in c.endpoint.models
    statements = c.stack.resolve(model.grant_principal.policy.document.to_json())["Statement"]  # type: ignore[attr-defined]
    assert any(
        s["Action"] == ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"]
        for s in statements
    )


def test_a_container_component_grants_the_endpoint_role_that_image_and_artifact_only() -> None:
    c = Ctx()
    bucket = EncryptedBucket(c.stack, "Artifacts")
    c.component(
        container=ComponentContainer(
            image=ContainerImage.from_registry(IMAGE),
            model_data=ModelData.from_bucket(bucket, "llm/model.tar.gz"),
            environment={"MAX_INPUT_LENGTH": "4096"},
        )
    )
    spec = one(c.resources("AWS::SageMaker::InferenceComponent"))["Properties"]["Specification"]
    assert spec["Container"]["Image"] == IMAGE
    assert spec["Container"]["Environment"] == {"MAX_INPUT_LENGTH": "4096"}
    assert "ModelName" not in spec
    # In the component's own managed policy, attached to the endpoint's role; the component waits.
    policy = one(
        {
            k: v
            for k, v in c.resources("AWS::IAM::ManagedPolicy").items()
            if k.startswith("ChatExecutionPolicy")
        }
    )
    assert policy["Properties"]["Roles"] == [
        {"Ref": c.stack.get_logical_id(c.endpoint.execution_role.node.default_child)}  # type: ignore[union-attr, arg-type]
    ]
    text = str(policy["Properties"]["PolicyDocument"])
    assert "repository/huggingface-pytorch-tgi-inference" in text
    assert "/llm/model.tar.gz" in text
    endpoint_policy = str(
        c.stack.resolve(c.endpoint.execution_principal.policy.document.to_json())  # type: ignore[attr-defined]
    )
    assert "model.tar.gz" not in endpoint_policy
    component = one(c.resources("AWS::SageMaker::InferenceComponent"))
    assert any(d.startswith("ChatExecutionPolicy") for d in component["DependsOn"])


def test_an_adapter_runs_in_its_base_component_and_reserves_nothing() -> None:
    c = Ctx()
    bucket = EncryptedBucket(c.stack, "Adapters")
    base = c.component("Base")
    adapter = c.component(
        "Lora",
        base_component=base,
        adapter_data=ModelData.from_bucket(bucket, "lora/fraud.tar.gz"),
    )
    found = c.resources("AWS::SageMaker::InferenceComponent")
    props = found[c.stack.get_logical_id(adapter.resource)]
    p = props["Properties"]
    assert p["Specification"]["BaseInferenceComponentName"] == base.component_name
    assert "ArtifactUrl" in p["Specification"]["Container"]
    for absent in ("RuntimeConfig", "VariantName"):
        assert absent not in p
    assert c.stack.get_logical_id(base.resource) in props["DependsOn"]


def test_specifications_per_instance_pool() -> None:
    pools = GpuCapacity(
        instance_pools=[
            InstancePool(instance_type="ml.g6e.12xlarge", priority=1),
            InstancePool(instance_type="ml.g5.12xlarge", priority=2),
        ],
        provision_timeout=cdk.Duration.minutes(20),
        inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1",
    )
    c = Ctx(variants=[ComponentVariant(capacity=pools, initial_instance_count=2)])
    compiled = c.model()
    c.component(
        specifications=[
            InstanceTypeSpecification(
                instance_type="ml.g6e.12xlarge",
                requirements=ComputeRequirements(min_memory_mb=32768, accelerators=1),
            ),
            InstanceTypeSpecification(
                instance_type="ml.g5.12xlarge",
                requirements=ComputeRequirements(min_memory_mb=16384, accelerators=2),
                model=compiled,
            ),
        ],
        model_data_download_timeout=cdk.Duration.minutes(20),
        cache_data=True,
        scheduling=Scheduling(placement=PlacementStrategy.BINPACK, max_zone_imbalance=1),
    )
    variant = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"][
        "ProductionVariants"
    ][0]
    assert "InstanceType" not in variant
    assert variant["InstancePools"] == [
        {"InstanceType": "ml.g6e.12xlarge", "Priority": 1},
        {"InstanceType": "ml.g5.12xlarge", "Priority": 2},
    ]
    assert variant["VariantInstanceProvisionTimeoutInSeconds"] == 1200
    assert variant["InferenceAmiVersion"] == "al2-ami-sagemaker-inference-gpu-3-1"
    p = one(c.resources("AWS::SageMaker::InferenceComponent"))["Properties"]
    assert "Specification" not in p
    first, second = p["Specifications"]
    assert first["InstanceType"] == "ml.g6e.12xlarge"
    assert second["ComputeResourceRequirements"]["NumberOfAcceleratorDevicesRequired"] == 2
    assert first["ModelName"] != second["ModelName"]
    assert first["StartupParameters"] == {"ModelDataDownloadTimeoutInSeconds": 1200}
    assert first["DataCacheConfig"] == {"EnableCaching": True}
    assert first["SchedulingConfig"] == {
        "PlacementStrategy": "BINPACK",
        "AvailabilityZoneBalance": {"EnforcementMode": "PERMISSIVE", "MaxImbalance": 1},
    }


def test_scale_in_policy_and_capacity_reservation_render() -> None:
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/gpu-plan"
    c = Ctx(
        variants=[
            ComponentVariant(
                instance_type="ml.g5.12xlarge",
                initial_instance_count=2,
                managed_scaling=ManagedInstanceScaling(
                    min_instances=0,
                    max_instances=6,
                    scale_in_strategy=ScaleInStrategy.CONSOLIDATION,
                    scale_in_cooldown=cdk.Duration.minutes(30),
                    max_scale_in_step=2,
                ),
                capacity=GpuCapacity(reservation=CapacityReservation(ml_reservation_arn=arn)),
            )
        ]
    )
    c.component()
    variant = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"][
        "ProductionVariants"
    ][0]
    assert variant["ManagedInstanceScaling"]["ScaleInPolicy"] == {
        "Strategy": "CONSOLIDATION",
        "CooldownInMinutes": 30,
        "MaximumStepSize": 2,
    }
    assert variant["CapacityReservationConfig"] == {
        "MlReservationArn": arn,
        "CapacityReservationPreference": "capacity-reservations-only",
    }


def test_network_isolation_off_warns() -> None:
    c = Ctx(network_isolation=False)
    c.component(model=c.model(network_isolation=False))
    config = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"]
    assert config["EnableNetworkIsolation"] is False
    Annotations.from_stack(c.stack).has_warning(
        "/Components/Endpoint", Match.string_like_regexp("network_isolation=False")
    )


def test_the_endpoint_refuses_variant_scaling_in_component_mode() -> None:
    c = Ctx()
    with pytest.raises(ValidationError, match="ManagedInstanceScaling"):
        c.endpoint.auto_scale_variant(min_capacity=2, max_capacity=4)


# --- placement ------------------------------------------------------------------


def test_a_copy_larger_than_an_instance_is_refused() -> None:
    c = Ctx()
    with pytest.raises(ValidationError) as err:
        c.component(requirements=ComputeRequirements(min_memory_mb=1024, accelerators=8))
    assert re.search(
        r"Components/Chat: requirements='8 accelerators' is invalid: one copy needs 8 "
        r"accelerators but an ml.g5.12xlarge instance has 4",
        str(err.value),
    )


def test_copies_beyond_the_managed_maximum_are_refused() -> None:
    c = Ctx()
    with pytest.raises(ValidationError) as err:
        c.component(copy_count=20)
    assert (
        "20 copies cannot be placed: at most 4 fit on one instance and variant AllTraffic "
        "has at most 4 instances (managed_scaling.max_instances)" in str(err.value)
    )


# Two copies that each need more than half of an instance's resource never share one: the
# sums fit (15 of 16 GPUs), the copies do not (5 copies, 4 instances of ml.g5.12xlarge).
HALF = (
    ComputeRequirements(min_memory_mb=16384, cpu_cores=4, accelerators=3),
    ComputeRequirements(min_memory_mb=16384, cpu_cores=25),
    ComputeRequirements(min_memory_mb=100_000, cpu_cores=4),
)
SHARING: list[tuple[str, ComputeRequirements, tuple[int, int], str | None]] = [
    (
        "3 of 4 GPUs, 3 + 2 copies",
        HALF[0],
        (3, 2),
        r"Components/Small: copy_count=2 is invalid: the copies of variant AllTraffic's "
        r"components that need more than half of an instance's accelerators \(Big x3, Small "
        r"x2\) cannot share an instance: 5 copies need 5 instances, but the variant has at most "
        r"4 \(managed_scaling.max_instances\); lower copies or requirements, or allow more",
    ),
    ("3 of 4 GPUs, 2 + 2 copies", HALF[0], (2, 2), None),
    ("25 of 48 vCPUs", HALF[1], (3, 2), r"more than half of an instance's vCPUs \(Big x3"),
    ("100 of 192 GB", HALF[2], (3, 2), r"more than half of an instance's MB of memory"),
]


@pytest.mark.parametrize(
    ("requirements", "copies", "message"), [c[1:] for c in SHARING], ids=[c[0] for c in SHARING]
)
def test_copies_needing_more_than_half_an_instance_cannot_share_one(
    requirements: ComputeRequirements, copies: tuple[int, int], message: str | None
) -> None:
    c = Ctx()
    c.component("Big", requirements=requirements, copy_count=copies[0])
    if message is None:
        c.component("Small", requirements=requirements, copy_count=copies[1])
        return
    with pytest.raises(ValidationError, match=message):
        c.component("Small", requirements=requirements, copy_count=copies[1])


def test_the_components_of_a_variant_must_fit_together() -> None:
    c = Ctx()
    c.component("Chat", copy_count=10)
    with pytest.raises(ValidationError) as err:
        c.component("Embed", copy_count=8)
    message = str(err.value)
    assert "Components/Embed: copy_count=8 is invalid" in message
    assert "(Chat x10, Embed x8) need 18 accelerators in all" in message
    assert "at most 4 instances (managed_scaling.max_instances) have 16" in message
    assert [x.node.id for x in c.endpoint.components] == ["Chat"]


def test_memory_is_counted_too() -> None:
    c = Ctx(variants=[ComponentVariant(instance_type="ml.m5.xlarge", initial_instance_count=2)])
    c.component("Big", requirements=ComputeRequirements(min_memory_mb=12288))
    with pytest.raises(ValidationError, match=r"need 40960 MB of memory in all.*have 32768"):
        c.component("Small", requirements=ComputeRequirements(min_memory_mb=8192))


def test_unknown_instance_figures_are_warned_not_guessed() -> None:
    c = Ctx(variants=[ComponentVariant(instance_type="ml.g7e.12xlarge", initial_instance_count=2)])
    c.component(copy_count=40)
    Annotations.from_stack(c.stack).has_warning(
        "/Components/Chat",
        Match.string_like_regexp("no vCPU, memory and accelerator figures for ml.g7e.12xlarge"),
    )


# --- bad input, one row each ---------------------------------------------------------------

Build = Callable[[Ctx], object]


def bucket_data(c: Ctx, key: str = "a/model.tar.gz") -> ModelData:
    bucket = c.stack.node.try_find_child("B") or EncryptedBucket(c.stack, "B")
    return ModelData.from_bucket(bucket, key)  # type: ignore[arg-type]


def pooled(c: Ctx) -> Ctx:
    """``c`` with a variant on two instance pools (g5 and g6, 12xlarge)."""
    c._endpoint_props["variants"] = [
        ComponentVariant(
            capacity=GpuCapacity(
                instance_pools=[
                    InstancePool(instance_type="ml.g5.12xlarge", priority=1),
                    InstancePool(instance_type="ml.g6.12xlarge", priority=2),
                ]
            )
        )
    ]
    return c


CASES: list[tuple[str, Build, str]] = [
    (
        "component on a model endpoint",
        lambda c: InferenceComponent(
            c.stack,
            "X",
            endpoint=Endpoint(c.stack, "Plain", model=c.model()),
            model=c.model(),
            requirements=GPU,
        ),
        r"Components/X: endpoint='Components/Plain' is invalid: hosts models on its variants",
    ),
    (
        "model and container",
        lambda c: c.component(
            model=c.model(), container=ComponentContainer(image=ContainerImage.from_registry(IMAGE))
        ),
        r"model/container/base_component=\['model', 'container'\] is invalid: give exactly one",
    ),
    (
        "no requirements",
        lambda c: c.component(requirements=None),
        r"requirements=None is invalid: give what each copy reserves",
    ),
    (
        "memory below 128 MB",
        lambda c: c.component(requirements=ComputeRequirements(min_memory_mb=64)),
        r"requirements.min_memory_mb=64 is invalid: must be at least 128 MB",
    ),
    (
        "max memory below min",
        lambda c: c.component(
            requirements=ComputeRequirements(min_memory_mb=2048, max_memory_mb=1024)
        ),
        r"requirements.max_memory_mb=1024 is invalid: must be at least min_memory_mb \(2048\)",
    ),
    (
        "a tenth of a core",
        lambda c: c.component(requirements=ComputeRequirements(min_memory_mb=1024, cpu_cores=0.1)),
        r"requirements.cpu_cores=0.1 is invalid: must be between 0.25 and inf",
    ),
    (
        "half an accelerator",
        lambda c: c.component(
            requirements=ComputeRequirements(min_memory_mb=1024, accelerators=0.5)  # type: ignore[arg-type]
        ),
        r"requirements.accelerators=0.5 is invalid: must be a whole number",
    ),
    (
        "negative copies",
        lambda c: c.component(copy_count=-1),
        r"copy_count=-1 is invalid: must be at least 0",
    ),
    (
        "one copy on a multi-AZ endpoint",
        lambda c: c.component(copy_count=1),
        r"copy_count=1 is invalid: on a multi-AZ endpoint a component keeps at least 2 copies",
    ),
    (
        "unknown variant",
        lambda c: c.component(variant_name="Blue"),
        r"variant_name='Blue' is invalid: the endpoint's variants are \['AllTraffic'\]",
    ),
    (
        "pipeline model",
        lambda c: c.component(
            model=__import__("cdk_sagemaker_hosting").Model(
                c.stack,
                "Pipe",
                containers=[
                    __import__("cdk_sagemaker_hosting").ContainerDefinition(
                        image=ContainerImage.from_registry(IMAGE)
                    )
                ]
                * 2,
            )
        ),
        r"model='Components/Pipe' is invalid: a component runs one single-model container",
    ),
    (
        "model not isolated on an isolated endpoint",
        lambda c: c.component(model=c.model(network_isolation=False)),
        r"has network isolation off, but the endpoint isolates every container",
    ),
    (
        "model in a VPC",
        lambda c: c.component(model=c.model(vpc=ec2.Vpc(c.stack, "Vpc"))),
        r"Components/Chat: model.vpc='Components/Vpc' is invalid: a component-mode endpoint "
        r"runs its components with the endpoint config's network settings.*Build the Model "
        r"without vpc and give the VPC to the endpoint \(Endpoint\(vpc=",
    ),
    (
        "instance-type model in a VPC",
        lambda c: pooled(c).component(
            specifications=[
                InstanceTypeSpecification(instance_type="ml.g5.12xlarge", requirements=GPU),
                InstanceTypeSpecification(
                    instance_type="ml.g6.12xlarge",
                    requirements=GPU,
                    model=c.model(vpc=ec2.Vpc(c.stack, "Vpc")),
                ),
            ],
        ),
        r"specifications\[1\].model.vpc='Components/Vpc' is invalid",
    ),
    (
        "seventeen variables",
        lambda c: c.component(
            container=ComponentContainer(
                image=ContainerImage.from_registry(IMAGE),
                environment={f"V{i}": "x" for i in range(17)},
            )
        ),
        r"container.environment='17 variables' is invalid: a component's container takes at "
        r"most 16",
    ),
    (
        "artifact prefix",
        lambda c: c.component(
            container=ComponentContainer(
                image=ContainerImage.from_registry(IMAGE),
                model_data=ModelData.from_bucket_prefix(EncryptedBucket(c.stack, "B"), "m/"),
            )
        ),
        r"container.model_data='a prefix' is invalid: a component's artifact is one .tar.gz",
    ),
    (
        "adapter of an adapter",
        lambda c: c.component(
            "L2",
            base_component=c.component(
                "L1", base_component=c.component("Base"), adapter_data=bucket_data(c)
            ),
            adapter_data=bucket_data(c, "b/x.tar.gz"),
        ),
        r"base_component='Components/L1' is invalid: is an adapter itself",
    ),
    (
        "adapter with copies",
        lambda c: c.component(
            "L", base_component=c.component("Base"), adapter_data=bucket_data(c), copy_count=2
        ),
        r"copy_count=2 is invalid: an adapter runs in its base component's copies",
    ),
    (
        "adapter without artifact",
        lambda c: c.component("L", base_component=c.component("Base")),
        r"adapter_data=None is invalid: an adapter needs its artifact",
    ),
    (
        "specifications on a single-type variant",
        lambda c: c.component(
            specifications=[
                InstanceTypeSpecification(instance_type="ml.g5.12xlarge", requirements=GPU),
                InstanceTypeSpecification(instance_type="ml.g6.12xlarge", requirements=GPU),
            ]
        ),
        r"specifications=\[.*\] is invalid: variant AllTraffic runs one instance type",
    ),
    (
        "download timeout of 30 s",
        lambda c: c.component(model_data_download_timeout=cdk.Duration.seconds(30)),
        r"model_data_download_timeout=30 is invalid: must be between 60 and 3600 s",
    ),
    (
        "zone imbalance of 101",
        lambda c: c.component(scheduling=Scheduling(max_zone_imbalance=101)),
        r"scheduling.max_zone_imbalance=101 is invalid: must be between 0 and 100",
    ),
]

ENDPOINT_CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "mixed variants",
        {"variants": "mixed"},
        r"variants=\['ComponentVariant', 'InstanceVariant'\] is invalid: an endpoint hosts "
        r"inference components on ComponentVariant variants only",
    ),
    (
        "shadow",
        {"shadow_variant": "shadow"},
        r"shadow_variant='Shadow' is invalid: not in component mode",
    ),
    (
        "capture",
        {"data_capture": "capture"},
        r"data_capture='set' is invalid: not in component mode",
    ),
    (
        "async",
        {"async_inference": "async"},
        r"async_inference='set' is invalid: not in component mode",
    ),
    (
        "no instance type",
        {"variants": [ComponentVariant()]},
        r"variants\[0\].instance_type=None is invalid: give an instance_type",
    ),
    (
        "type and pools",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    capacity=GpuCapacity(
                        instance_pools=[InstancePool(instance_type="ml.g5.2xlarge", priority=1)]
                    ),
                )
            ]
        },
        r"give an instance_type, or capacity=GpuCapacity\(instance_pools=\[...\]\), not both",
    ),
    (
        "min above max",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    managed_scaling=ManagedInstanceScaling(min_instances=5, max_instances=3),
                )
            ]
        },
        r"managed_scaling.min_instances=5 is invalid: must not exceed max_instances \(3\)",
    ),
    (
        "one instance minimum on multi-AZ",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    managed_scaling=ManagedInstanceScaling(min_instances=1, max_instances=3),
                )
            ]
        },
        r"managed_scaling.min_instances=1 is invalid: a multi-AZ endpoint keeps at least 2",
    ),
    (
        "initial count outside the managed range",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    initial_instance_count=6,
                    managed_scaling=ManagedInstanceScaling(min_instances=0, max_instances=3),
                )
            ]
        },
        r"initial_instance_count=6 is invalid: must be within managed_scaling's 0-3 instances",
    ),
    (
        "cooldown without consolidation",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    managed_scaling=ManagedInstanceScaling(
                        min_instances=2, max_instances=3, scale_in_cooldown=cdk.Duration.hours(1)
                    ),
                )
            ]
        },
        r"managed_scaling.scale_in_cooldown='1 hour' is invalid: applies to consolidation only",
    ),
    (
        "cooldown of two days",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    managed_scaling=ManagedInstanceScaling(
                        min_instances=2,
                        max_instances=3,
                        scale_in_strategy=ScaleInStrategy.CONSOLIDATION,
                        scale_in_cooldown=cdk.Duration.days(2),
                    ),
                )
            ]
        },
        r"scale_in_cooldown=2880 is invalid: must be between 5 and 1440 minutes",
    ),
    (
        "six pools",
        {
            "variants": [
                ComponentVariant(
                    capacity=GpuCapacity(
                        instance_pools=[
                            InstancePool(instance_type=t, priority=1 + i % 5)
                            for i, t in enumerate(
                                [
                                    "ml.g5.xlarge",
                                    "ml.g5.2xlarge",
                                    "ml.g5.4xlarge",
                                    "ml.g6.xlarge",
                                    "ml.g6.2xlarge",
                                    "ml.g6.4xlarge",
                                ]
                            )
                        ]
                    )
                )
            ]
        },
        r"capacity.instance_pools='6 pools' is invalid: give 1-5 pools",
    ),
    (
        "two pools of one priority",
        {
            "variants": [
                ComponentVariant(
                    capacity=GpuCapacity(
                        instance_pools=[
                            InstancePool(instance_type="ml.g5.xlarge", priority=1),
                            InstancePool(instance_type="ml.g6.xlarge", priority=1),
                        ]
                    )
                )
            ]
        },
        r"instance_pools\[\].priority=\[1\] is invalid: give each pool its own priority",
    ),
    (
        "provisioning timeout of a minute",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    capacity=GpuCapacity(provision_timeout=cdk.Duration.minutes(1)),
                )
            ]
        },
        r"capacity.provision_timeout=60 is invalid: must be between 300 and 3600 s",
    ),
    (
        "GPU AMI on CPU instances",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.m5.xlarge",
                    capacity=GpuCapacity(
                        inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1"
                    ),
                )
            ]
        },
        r"is an AMI for GPU \(ml.g\*, ml.p\*\) instance types, not ml.m5.xlarge",
    ),
    (
        "unknown AMI",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    capacity=GpuCapacity(inference_ami_version="ubuntu"),
                )
            ]
        },
        r"inference_ami_version='ubuntu' is invalid: must be one of al2-ami-sagemaker",
    ),
    (
        "reservation ARN of a bucket",
        {
            "variants": [
                ComponentVariant(
                    instance_type="ml.g5.xlarge",
                    capacity=GpuCapacity(
                        reservation=CapacityReservation(ml_reservation_arn="arn:aws:s3:::b")
                    ),
                )
            ]
        },
        r"reservation.ml_reservation_arn='arn:aws:s3:::b' is invalid: must be an ML capacity",
    ),
    (
        "VPC outside component mode",
        {"variants": "model", "vpc": "vpc"},
        r"Components/Endpoint: vpc='Components/Vpc' is invalid: applies to component mode "
        r"\(variants of ComponentVariant\) only; a model's VPC is the Model's vpc",
    ),
    (
        "subnets without a VPC",
        {"vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)},
        r"vpc=None is invalid: vpc_subnets and security_groups need a vpc",
    ),
    (
        "subnets in one zone on a multi-AZ endpoint",
        {"vpc": "vpc", "vpc_subnets": "one zone"},
        r"Components/Endpoint: vpc_subnets=\['[^',]+'\] is invalid: a multi-AZ endpoint "
        r"needs model subnets in at least 2 Availability Zones",
    ),
    (
        "six security groups",
        {"vpc": "vpc", "security_groups": "six"},
        r"security_groups='6 security groups' is invalid: give 1-5 security groups",
    ),
    (
        "network isolation outside component mode",
        {"variants": "model", "network_isolation": False},
        r"network_isolation=False is invalid: applies to component mode",
    ),
]


@pytest.mark.parametrize(("build", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_component_input_is_refused_with_a_clear_message(build: Build, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build(Ctx())


@pytest.mark.parametrize(
    ("props", "message"), [c[1:] for c in ENDPOINT_CASES], ids=[c[0] for c in ENDPOINT_CASES]
)
def test_bad_component_endpoint_input_is_refused(props: dict[str, Any], message: str) -> None:
    c = Ctx()
    props = dict(props)
    if props.get("variants") == "mixed":
        props["variants"] = [c.variant(), InstanceVariant(model=c.model(), variant_name="M")]
    if props.get("variants") == "model":
        props["variants"] = [InstanceVariant(model=c.model())]
    props.setdefault("variants", [c.variant()])
    if props.get("shadow_variant") == "shadow":
        props["shadow_variant"] = InstanceVariant(model=c.model(), variant_name="Shadow")
    if props.get("data_capture") == "capture":
        props["data_capture"] = DataCapture(destination=EncryptedBucket(c.stack, "Capture"))
    if props.get("async_inference") == "async":
        props["async_inference"] = AsyncInference(output=EncryptedBucket(c.stack, "Out"))
    if props.get("vpc") == "vpc":
        props["vpc"] = ec2.Vpc(c.stack, "Vpc", max_azs=2)
    if props.get("vpc_subnets") == "one zone":
        props["vpc_subnets"] = ec2.SubnetSelection(subnets=[props["vpc"].private_subnets[0]])
    if props.get("security_groups") == "six":
        props["security_groups"] = [
            ec2.SecurityGroup(c.stack, f"Sg{i}", vpc=props["vpc"]) for i in range(6)
        ]
    with pytest.raises(ValidationError, match=message):
        Endpoint(c.stack, "Endpoint", endpoint_name="gpu", **props)


def test_a_component_mode_endpoint_runs_its_components_in_its_vpc() -> None:
    c = Ctx()
    vpc = ec2.Vpc(c.stack, "Vpc", max_azs=2)
    c._endpoint_props["vpc"] = vpc
    c.component()
    config = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"]
    private = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
    assert config["VpcConfig"]["Subnets"] == [c.stack.resolve(s) for s in private]
    (group,) = c.endpoint.security_groups
    assert config["VpcConfig"]["SecurityGroupIds"] == [c.stack.resolve(group.security_group_id)]
    egress = c.stack.resolve(group.node.default_child.security_group_egress)  # type: ignore[union-attr]
    assert [(e["ipProtocol"], e["fromPort"], e["toPort"]) for e in egress] == [("tcp", 443, 443)]
    policy = str(
        c.stack.resolve(c.endpoint.execution_principal.policy.document.to_json())  # type: ignore[attr-defined]
    )
    assert "ec2:CreateNetworkInterface" in policy


# --- GPU capacity on a model endpoint ------------------------------------------------------


def test_gpu_capacity_on_an_instance_variant() -> None:
    c = Ctx()
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-plan/gpu-plan"
    Endpoint(
        c.stack,
        "Models",
        variants=[
            InstanceVariant(
                model=c.model(),
                capacity=GpuCapacity(
                    instance_pools=[
                        InstancePool(instance_type="ml.g6e.2xlarge", priority=1),
                        InstancePool(instance_type="ml.g5.2xlarge", priority=2),
                    ],
                    reservation=CapacityReservation(ml_reservation_arn=arn),
                    provision_timeout=cdk.Duration.minutes(30),
                    inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1",
                ),
            )
        ],
    )
    config = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"]
    (variant,) = config["ProductionVariants"]
    assert "InstanceType" not in variant
    assert variant["InstancePools"][0] == {"InstanceType": "ml.g6e.2xlarge", "Priority": 1}
    assert variant["VariantInstanceProvisionTimeoutInSeconds"] == 1800
    assert variant["InferenceAmiVersion"] == "al2-ami-sagemaker-inference-gpu-3-1"
    assert variant["CapacityReservationConfig"]["MlReservationArn"] == arn
    # Both pools keep local NVMe storage: no KmsKeyId.
    assert "KmsKeyId" not in config


# ml.m5.large, the default without pools, was once discarded silently beside them.
@pytest.mark.parametrize("instance_type", ["ml.g5.xlarge", "ml.m5.large"])
def test_instance_pools_replace_the_instance_type(instance_type: str) -> None:
    c = Ctx()
    with pytest.raises(
        ValidationError,
        match=rf"variants\[0\].instance_type='{instance_type}' is invalid: a variant with "
        r"instance pools takes its types from them: leave instance_type out",
    ):
        Endpoint(
            c.stack,
            "Models",
            variants=[
                InstanceVariant(
                    model=c.model(),
                    instance_type=instance_type,
                    capacity=GpuCapacity(
                        instance_pools=[InstancePool(instance_type="ml.g6.xlarge", priority=1)]
                    ),
                )
            ],
        )


def test_a_pool_variant_has_no_single_instance_type_and_monitoring_skips_per_type_alarms() -> None:
    c = Ctx()
    pools = GpuCapacity(
        instance_pools=[
            InstancePool(instance_type="ml.g5.12xlarge", priority=1),
            InstancePool(instance_type="ml.g6.12xlarge", priority=2),
        ]
    )
    variant = InstanceVariant(model=c.model(), capacity=pools)
    plain = InstanceVariant(model=c.model(), variant_name="Plain")
    assert variant.instance_type is None
    assert variant.attributes.instance_type is None
    assert variant.instance_types == ["ml.g5.12xlarge", "ml.g6.12xlarge"]
    assert plain.attributes.instance_type == "ml.m5.large"
    assert plain.instance_types == ["ml.m5.large"]
    endpoint = Endpoint(c.stack, "Models", variants=[variant, plain])
    variants = one(c.resources("AWS::SageMaker::EndpointConfig"))["Properties"][
        "ProductionVariants"
    ]
    assert "InstanceType" not in variants[0]
    assert variants[1]["InstanceType"] == "ml.m5.large"
    monitoring = EndpointMonitoring(c.stack, "Monitoring", endpoint=endpoint)
    assert monitoring.instance_types == {"AllTraffic": None, "Plain": "ml.m5.large"}
    assert "Plain/Cpu" in monitoring.alarms
    for kind in ("Cpu", "Memory", "Disk"):
        assert f"AllTraffic/{kind}" not in monitoring.alarms
    Annotations.from_stack(c.stack).has_warning(
        "/Components/Monitoring",
        Match.string_like_regexp(
            r"alarms AllTraffic/Cpu, AllTraffic/Memory, AllTraffic/Disk were skipped"
        ),
    )


def test_a_neuron_ami_needs_inferentia2_or_trainium() -> None:
    c = Ctx()
    with pytest.raises(ValidationError, match=r"is an AMI for Inferentia2 or Trainium"):
        Endpoint(
            c.stack,
            "Models",
            variants=[
                InstanceVariant(
                    model=c.model(),
                    instance_type="ml.g5.xlarge",
                    capacity=GpuCapacity(
                        inference_ami_version="al2-ami-sagemaker-inference-neuron-2"
                    ),
                )
            ],
        )
