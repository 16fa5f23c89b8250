"""Auto scaling of endpoint variants: targets, policies, schedules and their checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk.assertions import Template
from cdk_sagemaker_hosting import (
    AsyncInference,
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ServerlessVariant,
    ValidationError,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"


class Ctx:
    def __init__(self) -> None:
        self.stack = cdk.Stack(new_app(), "Scaled")

    def model(self, cid: str = "Model", **props: Any) -> Model:
        return Model(self.stack, cid, image=ContainerImage.from_registry(IMAGE), **props)

    def endpoint(self, **props: Any) -> Endpoint:
        if "variants" not in props:
            props.setdefault("model", self.model())
        return Endpoint(self.stack, "Endpoint", endpoint_name="fraud", **props)

    def resources(self, rtype: str) -> list[dict[str, Any]]:
        found = Template.from_stack(self.stack).find_resources(rtype)
        return [r for r in found.values()]


def test_target_tracks_invocations_and_waits_for_the_endpoint() -> None:
    c = Ctx()
    endpoint = c.endpoint(instance_count=2)
    scaling = endpoint.auto_scale_variant(min_capacity=2, max_capacity=8)
    scaling.scale_on_invocations(target_per_instance=700)
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    props = target["Properties"]
    assert props["ResourceId"] == "endpoint/fraud/variant/AllTraffic"
    assert props["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert props["ServiceNamespace"] == "sagemaker"
    assert (props["MinCapacity"], props["MaxCapacity"]) == (2, 8)
    assert any(d.startswith("Endpoint") for d in target["DependsOn"])
    (policy,) = c.resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 700
    assert tracking["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
    }
    assert (tracking["ScaleInCooldown"], tracking["ScaleOutCooldown"]) == (300, 60)


def test_concurrency_custom_metric_steps_and_schedules() -> None:
    c = Ctx()
    endpoint = c.endpoint(
        variants=[
            InstanceVariant(model=c.model("A"), variant_name="A", instance_type="ml.c5.xlarge"),
            InstanceVariant(model=c.model("B"), variant_name="B", instance_type="ml.c5.xlarge"),
        ]
    )
    a = endpoint.auto_scale_variant("A", min_capacity=2, max_capacity=10)
    a.scale_on_concurrent_requests(target_per_model=4)
    a.scale_on_schedule(
        "Night",
        schedule=appscaling.Schedule.cron(hour="22", minute="0"),
        min_capacity=2,
        max_capacity=4,
    )
    a.scale_on_schedule(
        "Morning", schedule=appscaling.Schedule.cron(hour="6", minute="0"), max_capacity=10
    )
    b = endpoint.auto_scale_variant("B", min_capacity=2, max_capacity=6)
    b.scale_on_metric("Cpu", metric=endpoint.metric_cpu_utilization("B"), target_value=60)
    b.scale_on_steps(
        "Errors",
        metric=endpoint.metric_invocation_5xx_errors("B"),
        steps=[
            appscaling.ScalingInterval(upper=0, change=0),
            appscaling.ScalingInterval(lower=10, change=2),
        ],
    )
    targets = {
        t["Properties"]["ResourceId"]: t["Properties"]
        for t in c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    }
    assert set(targets) == {"endpoint/fraud/variant/A", "endpoint/fraud/variant/B"}
    actions = targets["endpoint/fraud/variant/A"]["ScheduledActions"]
    assert [a["ScheduledActionName"] for a in actions] == ["Night", "Morning"]
    assert actions[0]["ScalableTargetAction"] == {"MinCapacity": 2, "MaxCapacity": 4}
    policies = c.resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    kinds = sorted(p["Properties"]["PolicyType"] for p in policies)
    # concurrency and CPU track targets; the 5XX steps only scale out (change 0 below 0)
    assert kinds == ["StepScaling", "TargetTrackingScaling", "TargetTrackingScaling"]
    (step,) = [p for p in policies if p["Properties"]["PolicyType"] == "StepScaling"]
    adjustments = step["Properties"]["StepScalingPolicyConfiguration"]["StepAdjustments"]
    assert {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2} in adjustments


def test_serverless_scales_provisioned_concurrency() -> None:
    c = Ctx()
    endpoint = c.endpoint(
        variants=[
            ServerlessVariant(
                model=c.model(network_isolation=False),
                max_concurrency=20,
                provisioned_concurrency=2,
            )
        ]
    )
    endpoint.auto_scale_variant(min_capacity=1, max_capacity=10).scale_on_provisioned_concurrency()
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ScalableDimension"] == (
        "sagemaker:variant:DesiredProvisionedConcurrency"
    )
    (policy,) = c.resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["PredefinedMetricSpecification"]["PredefinedMetricType"] == (
        "SageMakerVariantProvisionedConcurrencyUtilization"
    )
    assert tracking["TargetValue"] == 0.7


def test_async_endpoint_scales_to_zero_and_back_on_its_backlog() -> None:
    c = Ctx()
    output = EncryptedBucket(c.stack, "Output")
    endpoint = c.endpoint(async_inference=AsyncInference(output=output))
    endpoint.auto_scale_variant(min_capacity=0, max_capacity=4).scale_on_backlog()
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == 0
    policies = {
        p["Properties"]["PolicyType"]: p["Properties"]
        for p in c.resources("AWS::ApplicationAutoScaling::ScalingPolicy")
    }
    metric = policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"][
        "CustomizedMetricSpecification"
    ]
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert metric["Dimensions"] == [{"Name": "EndpointName", "Value": "fraud"}]
    alarms = c.resources("AWS::CloudWatch::Alarm")
    assert {a["Properties"]["MetricName"] for a in alarms} == {"HasBacklogWithoutCapacity"}
    step = policies["StepScaling"]["StepScalingPolicyConfiguration"]
    assert step["AdjustmentType"] == "ChangeInCapacity"
    assert {"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1} in step["StepAdjustments"]


BAD: list[tuple[str, Callable[[Ctx], Any], str]] = [
    (
        "min above max",
        lambda c: c.endpoint().auto_scale_variant(min_capacity=5, max_capacity=4),
        "Scaled/Endpoint/ScalingAllTraffic: min_capacity=5 is invalid: must not exceed "
        "max_capacity (4)",
    ),
    (
        "one instance while multi-AZ",
        lambda c: c.endpoint().auto_scale_variant(min_capacity=1, max_capacity=4),
        "min_capacity=1 is invalid: a multi-AZ endpoint keeps at least 2 instances per variant",
    ),
    (
        "zero instances on a real-time endpoint",
        lambda c: c.endpoint().auto_scale_variant(min_capacity=0, max_capacity=4),
        "min_capacity=0 is invalid: only asynchronous endpoints can scale to zero instances",
    ),
    (
        "burstable instance type",
        lambda c: c.endpoint(instance_type="ml.t2.medium").auto_scale_variant(
            min_capacity=2, max_capacity=4
        ),
        "variant_name='AllTraffic' is invalid: ml.t2.medium is a burstable instance type",
    ),
    (
        "unknown variant",
        lambda c: c.endpoint().auto_scale_variant("Blue", min_capacity=2, max_capacity=4),
        "variant_name='Blue' is invalid: the endpoint's variants are ['AllTraffic']",
    ),
    (
        "two targets on one variant",
        lambda c: [
            e := c.endpoint(),
            e.auto_scale_variant(min_capacity=2, max_capacity=4),
            e.auto_scale_variant(min_capacity=2, max_capacity=6),
        ],
        "Scaled/Endpoint: auto_scale_variant='AllTraffic' is invalid: a variant has one "
        "scalable target",
    ),
    (
        "negative target",
        lambda c: (
            c.endpoint()
            .auto_scale_variant(min_capacity=2, max_capacity=4)
            .scale_on_invocations(target_per_instance=-1)
        ),
        "InvocationsPerInstance.target_value=-1 is invalid: must be a positive number",
    ),
    (
        "provisioned concurrency on instances",
        lambda c: (
            c.endpoint()
            .auto_scale_variant(min_capacity=2, max_capacity=4)
            .scale_on_provisioned_concurrency()
        ),
        "scale_on_provisioned_concurrency='AllTraffic' is invalid: only serverless variants",
    ),
    (
        "backlog on a real-time endpoint",
        lambda c: (
            c.endpoint().auto_scale_variant(min_capacity=2, max_capacity=4).scale_on_backlog()
        ),
        "scale_on_backlog='fraud' is invalid: only asynchronous endpoints have a backlog",
    ),
    (
        "serverless above max concurrency",
        lambda c: c.endpoint(
            variants=[ServerlessVariant(model=c.model(network_isolation=False), max_concurrency=5)]
        ).auto_scale_variant(min_capacity=1, max_capacity=6),
        "min_capacity/max_capacity=(1, 6) is invalid: provisioned concurrency scales within 1-5",
    ),
    (
        "schedule below multi-AZ",
        lambda c: (
            c.endpoint()
            .auto_scale_variant(min_capacity=2, max_capacity=4)
            .scale_on_schedule(
                "Night", schedule=appscaling.Schedule.rate(cdk.Duration.hours(1)), min_capacity=1
            )
        ),
        "Night.min_capacity=1 is invalid: a multi-AZ endpoint keeps at least 2",
    ),
    (
        "schedule without bounds",
        lambda c: (
            c.endpoint()
            .auto_scale_variant(min_capacity=2, max_capacity=4)
            .scale_on_schedule("Night", schedule=appscaling.Schedule.rate(cdk.Duration.hours(1)))
        ),
        "Night=None is invalid: give min_capacity, max_capacity or both",
    ),
]


@pytest.mark.parametrize(("build", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_scaling_is_refused_with_a_clear_message(
    build: Callable[[Ctx], Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        build(Ctx())
