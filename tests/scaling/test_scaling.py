"""Auto scaling of endpoint variants: targets, policies, schedules and their checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Match, Template
from cdk_sagemaker_hosting import (
    AsyncInference,
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ServerlessVariant,
    ValidationError,
    VariantAttributes,
    VariantScaling,
    validation,
)
from cdk_sagemaker_hosting.endpoint import EndpointBase
from cdk_sagemaker_hosting.scaling import is_burstable

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


# --- Trainium, burstable types, imported endpoints and whole numbers ---------------------


@pytest.mark.parametrize(
    "instance_type", ["ml.trn1.2xlarge", "ml.trn1n.32xlarge", "ml.trn2.48xlarge"]
)
def test_trainium_variants_scale(instance_type: str) -> None:
    c = Ctx()
    endpoint = c.endpoint(instance_type=instance_type)
    endpoint.auto_scale_variant(min_capacity=2, max_capacity=4).scale_on_invocations(
        target_per_instance=100
    )
    Template.from_stack(c.stack).has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ResourceId": "endpoint/fraud/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": 2,
            "MaxCapacity": 4,
        },
    )


def test_burstable_means_the_t_family_in_botocores_instance_types() -> None:
    every = validation.production_variant_instance_types()
    burstable = {t for t in every if is_burstable(t)}
    assert burstable == {t for t in every if t.split(".")[1] in ("t2", "t3", "t3a", "t4g")}
    assert burstable, "botocore lists burstable hosting types"
    trainium = {t for t in every if t.startswith("ml.trn")}
    assert trainium and not trainium & burstable


def imported(c: Ctx, *variants: VariantAttributes, **props: Any) -> EndpointBase:
    return Endpoint.from_endpoint_attributes(
        c.stack, "Fraud", endpoint_name="fraud", variants=variants, **props
    )


BLUE = VariantAttributes(variant_name="Blue", instance_type="ml.c5.xlarge")


def test_imported_endpoint_scales_through_the_public_constructor() -> None:
    c = Ctx()
    endpoint = imported(c, BLUE, multi_az=True)
    scaling = VariantScaling(
        c.stack,
        "ScalingBlue",
        endpoint=endpoint,
        variant_name="Blue",
        min_capacity=2,
        max_capacity=8,
    )
    scaling.scale_on_invocations(target_per_instance=700)
    assert scaling.variant == BLUE and not scaling.serverless
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ResourceId"] == "endpoint/fraud/variant/Blue"
    assert target["Properties"]["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert "DependsOn" not in target, "nothing of an imported endpoint to wait for"
    Template.from_stack(c.stack).resource_count_is("AWS::ApplicationAutoScaling::ScalingPolicy", 1)


def test_unknown_multi_az_skips_the_multi_az_minimum() -> None:
    c = Ctx()
    endpoint = imported(c, BLUE)  # multi_az unknown
    VariantScaling(
        c.stack, "S", endpoint=endpoint, variant_name="Blue", min_capacity=1, max_capacity=3
    )
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == 1


def test_single_az_endpoint_may_keep_one_instance() -> None:
    c = Ctx()
    endpoint = c.endpoint(instance_count=1, multi_az=False)
    endpoint.auto_scale_variant(min_capacity=1, max_capacity=3)
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["MinCapacity"] == 1


def test_imported_serverless_and_asynchronous_endpoints() -> None:
    c = Ctx()
    serverless = Endpoint.from_endpoint_attributes(
        c.stack,
        "Small",
        endpoint_name="small",
        variants=[VariantAttributes(variant_name="AllTraffic", serverless=True, max_concurrency=8)],
    )
    VariantScaling(
        c.stack,
        "Provisioned",
        endpoint=serverless,
        variant_name="AllTraffic",
        min_capacity=1,
        max_capacity=8,
    ).scale_on_provisioned_concurrency(target_utilization=0.5)
    queued = Endpoint.from_endpoint_attributes(
        c.stack,
        "Queued",
        endpoint_name="queued",
        variants=[VariantAttributes(variant_name="AllTraffic", instance_type="ml.g5.xlarge")],
        asynchronous=True,
    )
    VariantScaling(
        c.stack,
        "Backlog",
        endpoint=queued,
        variant_name="AllTraffic",
        min_capacity=0,
        max_capacity=3,
    ).scale_on_backlog(target_per_instance=3)
    template = Template.from_stack(c.stack)
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ResourceId": "endpoint/small/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency",
            "MinCapacity": 1,
            "MaxCapacity": 8,
        },
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {"ResourceId": "endpoint/queued/variant/AllTraffic", "MinCapacity": 0},
    )
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "TargetTrackingScalingPolicyConfiguration": Match.object_like(
                {
                    "TargetValue": 3,
                    "CustomizedMetricSpecification": Match.object_like(
                        {
                            "MetricName": "ApproximateBacklogSizePerInstance",
                            "Dimensions": [{"Name": "EndpointName", "Value": "queued"}],
                        }
                    ),
                }
            )
        },
    )


def test_same_variant_scaled_twice_in_environment_agnostic_stacks_only_by_separate_imports() -> (
    None
):
    """Two imports of one name may be two endpoints (stacks deployable anywhere): allowed."""
    app = new_app()
    for name in ("A", "B"):
        stack = cdk.Stack(app, name)
        endpoint = Endpoint.from_endpoint_attributes(
            stack, "Fraud", endpoint_name="fraud", variants=[BLUE]
        )
        VariantScaling(
            stack, "S", endpoint=endpoint, variant_name="Blue", min_capacity=2, max_capacity=4
        )
    app.synth()


ENV = cdk.Environment(account="111111111111", region="eu-west-1")


def _two_imports_in(env: cdk.Environment) -> None:
    app = new_app()
    for name in ("A", "B"):
        stack = cdk.Stack(app, name, env=env)
        endpoint = Endpoint.from_endpoint_attributes(
            stack, "Fraud", endpoint_name="fraud", variants=[BLUE]
        )
        VariantScaling(
            stack, "S", endpoint=endpoint, variant_name="Blue", min_capacity=2, max_capacity=4
        )


def _scale(c: Ctx, endpoint: EndpointBase, variant: str = "Blue", **props: Any) -> VariantScaling:
    props.setdefault("min_capacity", 2)
    props.setdefault("max_capacity", 4)
    return VariantScaling(c.stack, "S", endpoint=endpoint, variant_name=variant, **props)


BAD_IMPORTED: list[tuple[str, Callable[[Ctx], Any], str]] = [
    (
        "imported without variants",
        lambda c: _scale(c, Endpoint.from_endpoint_name(c.stack, "Fraud", "fraud")),
        "Scaled/S: variant_name='Blue' is invalid: endpoint fraud was imported without its "
        "variants, so its scaling cannot be checked; import it with "
        "Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes("
        "variant_name='Blue', instance_type=...)]) (serverless=True for a serverless variant)",
    ),
    (
        "imported, variant not among its attributes",
        lambda c: _scale(c, imported(c, BLUE), "Green"),
        "Scaled/S: variant_name='Green' is invalid: the endpoint's variants are ['Blue']",
    ),
    (
        "imported burstable",
        lambda c: _scale(
            c, imported(c, VariantAttributes(variant_name="Blue", instance_type="ml.t2.large"))
        ),
        "Scaled/S: variant_name='Blue' is invalid: ml.t2.large is a burstable instance type, "
        "which SageMaker does not auto scale; use ml.m5, ml.c5 or larger",
    ),
    (
        "imported multi-AZ below two",
        lambda c: _scale(c, imported(c, BLUE, multi_az=True), min_capacity=1),
        "Scaled/S: min_capacity=1 is invalid: a multi-AZ endpoint keeps at least 2 instances "
        "per variant; raise it, or build the endpoint with multi_az=False (development only)",
    ),
    (
        "imported real-time to zero",
        lambda c: _scale(c, imported(c, BLUE), min_capacity=0),
        "Scaled/S: min_capacity=0 is invalid: only asynchronous endpoints can scale to zero "
        "instances; an imported asynchronous endpoint says so with "
        "Endpoint.from_endpoint_attributes(..., asynchronous=True)",
    ),
    (
        "imported serverless above its max concurrency",
        lambda c: _scale(
            c,
            imported(c, VariantAttributes(variant_name="Blue", serverless=True, max_concurrency=4)),
            min_capacity=1,
            max_capacity=5,
        ),
        "Scaled/S: min_capacity/max_capacity=(1, 5) is invalid: provisioned concurrency scales "
        "within 1-4 (the variant's max_concurrency)",
    ),
    (
        "imported serverless of unknown max concurrency, above SageMaker's limit",
        lambda c: _scale(
            c,
            imported(c, VariantAttributes(variant_name="Blue", serverless=True)),
            min_capacity=1,
            max_capacity=201,
        ),
        "Scaled/S: min_capacity/max_capacity=(1, 201) is invalid: provisioned concurrency "
        "scales within 1-200 (SageMaker's limit; the variant's max_concurrency is unknown)",
    ),
    (
        "serverless provisioned concurrency of zero",
        lambda c: _scale(
            c,
            imported(c, VariantAttributes(variant_name="Blue", serverless=True)),
            min_capacity=0,
        ),
        "Scaled/S: min_capacity/max_capacity=(0, 4) is invalid: provisioned concurrency "
        "scales within 1-200",
    ),
    (
        "fractional min capacity",
        lambda c: _scale(c, imported(c, BLUE), min_capacity=2.5),
        "Scaled/S: min_capacity=2.5 is invalid: must be a whole number (at least 0)",
    ),
    (
        "fractional max capacity",
        lambda c: _scale(c, imported(c, BLUE), max_capacity=4.0),
        "Scaled/S: max_capacity=4.0 is invalid: must be a whole number (at least 0)",
    ),
    (
        "boolean capacity",
        lambda c: _scale(c, imported(c, BLUE), max_capacity=True),
        "Scaled/S: max_capacity=True is invalid: must be a whole number (at least 0)",
    ),
    (
        "negative capacity",
        lambda c: _scale(c, imported(c, BLUE), min_capacity=-1),
        "Scaled/S: min_capacity=-1 is invalid: must be at least 0",
    ),
    (
        "not an endpoint",
        lambda c: VariantScaling(
            c.stack, "S", endpoint="fraud", variant_name="Blue", min_capacity=2, max_capacity=4
        ),
        "Scaled/S: endpoint='fraud' is invalid: must be an Endpoint, or an endpoint imported "
        "with Endpoint.from_endpoint_attributes, not str",
    ),
    (
        "variant name not a string",
        lambda c: _scale(c, imported(c, BLUE), 1),
        "Scaled/S: variant_name=1 is invalid: must be a variant name, not int",
    ),
    (
        "two targets for one imported variant",
        lambda c: [
            e := imported(c, BLUE),
            VariantScaling(
                c.stack, "S1", endpoint=e, variant_name="Blue", min_capacity=2, max_capacity=4
            ),
            VariantScaling(
                c.stack, "S2", endpoint=e, variant_name="Blue", min_capacity=2, max_capacity=6
            ),
        ],
        "Scaled/S2: variant_name='Blue' is invalid: already scaled by Scaled/S1: a variant has "
        "one scalable target; add policies to that one",
    ),
    (
        "a target beside auto_scale_variant's",
        lambda c: [
            e := c.endpoint(),
            e.auto_scale_variant(min_capacity=2, max_capacity=4),
            VariantScaling(
                c.stack,
                "Again",
                endpoint=e,
                variant_name="AllTraffic",
                min_capacity=2,
                max_capacity=4,
            ),
        ],
        "Scaled/Again: variant_name='AllTraffic' is invalid: already scaled by "
        "Scaled/Endpoint/ScalingAllTraffic",
    ),
    (
        "fractional target value",
        lambda c: _scale(c, imported(c, BLUE)).scale_on_metric(
            "Cpu", metric=cloudwatch.Metric(namespace="N", metric_name="M"), target_value=0
        ),
        "Scaled/S: Cpu.target_value=0 is invalid: must be a positive number",
    ),
    (
        "boolean target value",
        lambda c: _scale(c, imported(c, BLUE)).scale_on_invocations(target_per_instance=True),
        "Scaled/S: InvocationsPerInstance.target_value=True is invalid: must be a positive number",
    ),
    (
        "provisioned utilisation out of range",
        lambda c: _scale(
            c,
            imported(c, VariantAttributes(variant_name="Blue", serverless=True)),
            min_capacity=1,
        ).scale_on_provisioned_concurrency(target_utilization=0.95),
        "Scaled/S: target_utilization=0.95 is invalid: must be between 0.1 and 0.9",
    ),
    (
        "invocations policy on a serverless variant",
        lambda c: _scale(
            c,
            imported(c, VariantAttributes(variant_name="Blue", serverless=True)),
            min_capacity=1,
        ).scale_on_invocations(target_per_instance=10),
        "Scaled/S: scale_on_invocations='Blue' is invalid: serverless variants scale on "
        "provisioned concurrency; use scale_on_provisioned_concurrency",
    ),
    (
        "schedule to zero on a real-time endpoint",
        lambda c: _scale(c, imported(c, BLUE)).scale_on_schedule(
            "Night", schedule=appscaling.Schedule.rate(cdk.Duration.hours(1)), max_capacity=0
        ),
        "Scaled/S: Night.max_capacity=0 is invalid: only asynchronous endpoints can scale to "
        "zero instances",
    ),
    (
        "fractional scheduled capacity",
        lambda c: _scale(c, imported(c, BLUE)).scale_on_schedule(
            "Night", schedule=appscaling.Schedule.rate(cdk.Duration.hours(1)), max_capacity=2.5
        ),
        "Scaled/S: Night.max_capacity=2.5 is invalid: must be a whole number (at least 0)",
    ),
    (
        "scheduled min above scheduled max",
        lambda c: _scale(c, imported(c, BLUE)).scale_on_schedule(
            "Night",
            schedule=appscaling.Schedule.rate(cdk.Duration.hours(1)),
            min_capacity=5,
            max_capacity=3,
        ),
        "Scaled/S: Night.min_capacity=5 is invalid: must not exceed max_capacity (3)",
    ),
    (
        "scheduled serverless above its max concurrency",
        lambda c: _scale(
            c,
            imported(c, VariantAttributes(variant_name="Blue", serverless=True, max_concurrency=4)),
            min_capacity=1,
        ).scale_on_schedule(
            "Peak", schedule=appscaling.Schedule.rate(cdk.Duration.hours(1)), max_capacity=6
        ),
        "Scaled/S: Peak.min_capacity/max_capacity=(None, 6) is invalid: provisioned "
        "concurrency scales within 1-4 (the variant's max_concurrency)",
    ),
]


@pytest.mark.parametrize(
    ("build", "message"), [b[1:] for b in BAD_IMPORTED], ids=[b[0] for b in BAD_IMPORTED]
)
def test_bad_scaling_of_any_endpoint_is_refused_with_the_full_message(
    build: Callable[[Ctx], Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        build(Ctx())


def test_two_imports_of_one_endpoint_in_one_environment_scale_one_variant_once() -> None:
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "B/S: variant_name='Blue' is invalid: already scaled by A/S: a variant has one "
            "scalable target; add policies to that one"
        ),
    ):
        _two_imports_in(ENV)


# --- scheduled actions: time zones, and bounds that are never restored -------------------

NIGHT = appscaling.Schedule.cron(hour="22", minute="0")
MORNING = appscaling.Schedule.cron(hour="6", minute="0")


def _warnings(c: Ctx) -> list[tuple[str, str]]:
    messages = cdk.assertions.Annotations.from_stack(c.stack).find_warning("*", Match.any_value())
    return [(m.id, str(m.entry.data)) for m in messages]


def test_a_schedule_takes_a_time_zone() -> None:
    c = Ctx()
    scaling = c.endpoint().auto_scale_variant(min_capacity=2, max_capacity=8)
    scaling.scale_on_schedule(
        "Night", schedule=NIGHT, max_capacity=3, time_zone=cdk.TimeZone.EUROPE_BERLIN
    )
    scaling.scale_on_schedule(
        "Morning", schedule=MORNING, max_capacity=8, time_zone=cdk.TimeZone.of("Asia/Tokyo")
    )
    scaling.scale_on_schedule("Weekly", schedule=NIGHT, min_capacity=2)
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    zones = {
        a["ScheduledActionName"]: a.get("Timezone")
        for a in target["Properties"]["ScheduledActions"]
    }
    assert zones == {"Night": "Europe/Berlin", "Morning": "Asia/Tokyo", "Weekly": None}
    assert _warnings(c) == []


@pytest.mark.parametrize(
    ("schedule", "time_zone", "message"),
    [
        (
            NIGHT,
            cdk.TimeZone.of("Europe/Berln"),
            "Scaled/Endpoint/ScalingAllTraffic: Night.time_zone='Europe/Berln' is invalid: not "
            "an IANA time zone name (Application Auto Scaling takes names such as Europe/Berlin",
        ),
        (
            appscaling.Schedule.rate(cdk.Duration.hours(12)),
            cdk.TimeZone.EUROPE_BERLIN,
            "Night.time_zone='Europe/Berlin' is invalid: a time zone applies to cron and at "
            "schedules only; rate(12 hours) runs at the same interval in every time zone",
        ),
        (
            NIGHT,
            "Europe/Berlin",
            "Night.time_zone='Europe/Berlin' is invalid: must be a TimeZone, e.g. "
            "TimeZone.EUROPE_BERLIN or TimeZone.of('Europe/Berlin'), not str",
        ),
    ],
    ids=["unknown name", "rate schedule", "a string"],
)
def test_bad_time_zones_are_refused(
    schedule: appscaling.Schedule, time_zone: Any, message: str
) -> None:
    scaling = Ctx().endpoint().auto_scale_variant(min_capacity=2, max_capacity=8)
    with pytest.raises(ValidationError, match=re.escape(message)):
        scaling.scale_on_schedule("Night", schedule=schedule, max_capacity=3, time_zone=time_zone)


def test_a_time_zone_known_only_at_deploy_passes() -> None:
    c = Ctx()
    zone = cdk.CfnParameter(c.stack, "Zone").value_as_string
    scaling = c.endpoint().auto_scale_variant(min_capacity=2, max_capacity=8)
    scaling.scale_on_schedule(
        "Night", schedule=NIGHT, max_capacity=3, time_zone=cdk.TimeZone.of(zone)
    )
    scaling.scale_on_schedule("Morning", schedule=MORNING, max_capacity=8)
    (target,) = c.resources("AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["Properties"]["ScheduledActions"][0]["Timezone"] == {"Ref": "Zone"}


def test_a_maximum_lowered_and_never_restored_warns_once() -> None:
    c = Ctx()
    scaling = c.endpoint().auto_scale_variant(min_capacity=2, max_capacity=8)
    scaling.scale_on_schedule("Night", schedule=NIGHT, max_capacity=3)
    scaling.scale_on_schedule("Evening", schedule=MORNING, max_capacity=5)
    c.resources("AWS::ApplicationAutoScaling::ScalableTarget")  # synthesised twice: one warning
    ((wid, message),) = _warnings(c)
    assert wid == "/Scaled/Endpoint/ScalingAllTraffic"
    assert message.startswith(
        "the scheduled actions only lower the maximum (Night max_capacity=3, Evening "
        "max_capacity=5; the target's is 8) and none raises it again: after the first run the "
        "variant stays capped until a deploy changes the target. Add an action restoring "
        "max_capacity=8, e.g. in the morning"
    )
    assert message.endswith("[ack: cdk-sagemaker-hosting:ScheduledMaxNeverRestored]")


def test_a_minimum_raised_and_never_restored_warns() -> None:
    c = Ctx()
    scaling = c.endpoint().auto_scale_variant(min_capacity=2, max_capacity=8)
    scaling.scale_on_schedule("Peak", schedule=MORNING, min_capacity=6)
    ((_, message),) = _warnings(c)
    assert message.startswith(
        "the scheduled actions only raise the minimum (Peak min_capacity=6; the target's is 2) "
        "and none lowers it again"
    )
    assert "ScheduledMinNeverRestored" in message


@pytest.mark.parametrize(
    "actions",
    [
        [("Night", None, 3), ("Morning", None, 8)],  # restored to the target's maximum
        [("Night", None, 3), ("Sale", None, 12)],  # raised past it
        [("Peak", 6, None), ("Quiet", 2, None)],  # the minimum restored
        [("Night", 2, 3), ("Morning", 4, 8), ("Evening", 2, None)],
    ],
    ids=["max restored", "max raised", "min restored", "both restored"],
)
def test_restored_bounds_do_not_warn(actions: list[tuple[str, int | None, int | None]]) -> None:
    c = Ctx()
    scaling = c.endpoint().auto_scale_variant(min_capacity=2, max_capacity=8)
    for cid, low, high in actions:
        scaling.scale_on_schedule(cid, schedule=NIGHT, min_capacity=low, max_capacity=high)
    assert _warnings(c) == []
