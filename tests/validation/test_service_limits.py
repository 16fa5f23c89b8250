"""The limits the constructs enforce are botocore's: both ends pass, one step beyond fails.

Each case names the SageMaker shape whose ``min``/``max`` the construct
reads; the test takes the bounds from botocore's service model on its own,
so a construct that hard-codes a different limit, or checks the wrong
shape, fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import botocore.session
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_sagemaker_hosting import (
    AsyncInference,
    ContainerImage,
    DataCapture,
    DeploymentConfig,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ServerlessVariant,
    TrafficRouting,
    ValidationError,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"


def shape_bounds(shape: str) -> tuple[int | None, int | None]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    metadata = model.shape_for(shape).metadata
    return metadata.get("min"), metadata.get("max")


def endpoint(**props: Any) -> None:
    stack = cdk.Stack(new_app(), "Limits")
    bucket = EncryptedBucket(stack, "Bucket")
    isolated = props.pop("network_isolation", True)
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(IMAGE),
        network_isolation=isolated,
    )
    variant = props.pop("variant", None)
    if variant is not None:
        props["variants"] = [variant(model)]
    else:
        props["model"] = model
    capture = props.pop("capture", None)
    if capture is not None:
        props["data_capture"] = DataCapture(destination=bucket, **capture)
    async_props = props.pop("async_props", None)
    if async_props is not None:
        props["async_inference"] = AsyncInference(output=bucket, **async_props)
    Endpoint(stack, "Endpoint", **props)


def seconds(value: int) -> cdk.Duration:
    return cdk.Duration.seconds(value)


def alarm() -> list[cloudwatch.IAlarm]:
    stack = cdk.Stack(new_app(), "Alarms")
    return [cloudwatch.Alarm.from_alarm_name(stack, "A", "a")]


#: name -> (botocore shape, build with the value)
CASES: dict[str, tuple[str, Callable[[int], None]]] = {
    "volume size": (
        "ProductionVariantVolumeSizeInGB",
        lambda v: endpoint(variant=lambda m: InstanceVariant(model=m, volume_size_gb=v)),
    ),
    "model download timeout": (
        "ProductionVariantModelDataDownloadTimeoutInSeconds",
        lambda v: endpoint(
            variant=lambda m: InstanceVariant(model=m, model_data_download_timeout=seconds(v))
        ),
    ),
    "container startup timeout": (
        "ProductionVariantContainerStartupHealthCheckTimeoutInSeconds",
        lambda v: endpoint(
            variant=lambda m: InstanceVariant(
                model=m, container_startup_health_check_timeout=seconds(v)
            )
        ),
    ),
    "capture sampling": (
        "SamplingPercentage",
        lambda v: endpoint(capture={"sampling_percentage": v}),
    ),
    "async concurrency": (
        "MaxConcurrentInvocationsPerInstance",
        lambda v: endpoint(async_props={"max_concurrent_invocations_per_instance": v}),
    ),
    "serverless concurrency": (
        "ServerlessMaxConcurrency",
        lambda v: endpoint(
            network_isolation=False,
            variant=lambda m: ServerlessVariant(model=m, max_concurrency=v),
        ),
    ),
    "serverless provisioned concurrency": (
        "ServerlessProvisionedConcurrency",
        lambda v: endpoint(
            network_isolation=False,
            variant=lambda m: ServerlessVariant(
                model=m, max_concurrency=200, provisioned_concurrency=v
            ),
        ),
    ),
    "deployment timeout": (
        "MaximumExecutionTimeoutInSeconds",
        lambda v: endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.all_at_once(),
                maximum_execution_timeout=seconds(v),
            )
        ),
    ),
    "termination wait": (
        "TerminationWaitInSeconds",
        lambda v: endpoint(
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.all_at_once(), termination_wait=seconds(v)
            )
        ),
    ),
    "canary wait": (
        "WaitIntervalInSeconds",
        lambda v: endpoint(
            instance_count=4,
            deployment=DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.canary(instances=1, wait=seconds(v)),
                rollback_alarms=alarm(),
            ),
        ),
    ),
}


#: name -> the property the error must name.
PROPS = {
    "volume size": "variants[0].volume_size_gb=",
    "model download timeout": "variants[0].model_data_download_timeout=",
    "container startup timeout": "variants[0].container_startup_health_check_timeout=",
    "capture sampling": "data_capture.sampling_percentage=",
    "async concurrency": "async_inference.max_concurrent_invocations_per_instance=",
    "serverless concurrency": "variants[0].max_concurrency=",
    "serverless provisioned concurrency": "variants[0].provisioned_concurrency=",
    "deployment timeout": "deployment.maximum_execution_timeout=",
    "termination wait": "deployment.termination_wait=",
    "canary wait": "deployment.traffic_routing.wait=",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_botocore_bounds_pass_and_one_beyond_fails(name: str) -> None:
    shape, build = CASES[name]
    low, high = shape_bounds(shape)
    assert low is not None or high is not None, f"{shape} has no bounds in botocore"
    for value in (low, high):
        if value is not None:
            build(value)
    for value in ((low - 1) if low is not None else None, (high + 1) if high is not None else None):
        if value is not None and value >= 0:
            with pytest.raises(ValidationError, match=re.escape(f"Limits/Endpoint: {PROPS[name]}")):
                build(value)


def test_serverless_memory_is_botocores_range_in_steps_of_1024() -> None:
    low, high = shape_bounds("ServerlessMemorySizeInMB")
    assert (low, high) == (1024, 6144)
    for memory in range(low, high + 1, 1024):
        endpoint(
            network_isolation=False,
            variant=lambda m, memory=memory: ServerlessVariant(model=m, memory_size_mb=memory),
        )
    for memory in (low - 1024, low + 512, high + 1024):
        with pytest.raises(ValidationError, match=r"variants\[0\]\.memory_size_mb="):
            endpoint(
                network_isolation=False,
                variant=lambda m, memory=memory: ServerlessVariant(model=m, memory_size_mb=memory),
            )
