"""EndpointMonitoring on the endpoint API: imported endpoints, options that cannot apply, keys."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Annotations, Match, Template
from cdk_sagemaker_hosting import (
    AlarmThresholds,
    ContainerImage,
    DeploymentConfig,
    Endpoint,
    EndpointMonitoring,
    InstanceVariant,
    Model,
    ServerlessVariant,
    TrafficRouting,
    ValidationError,
    VariantAttributes,
)
from cdk_sagemaker_hosting.endpoint import EndpointBase
from cdk_sagemaker_hosting.monitoring import (
    GPU_THRESHOLD_WARNING,
    SKIPPED_WARNING,
    UnknownAlarmError,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"
ALARM = "AWS::CloudWatch::Alarm"
BLUE = VariantAttributes(variant_name="Blue", instance_type="ml.c5.xlarge")
UNTYPED = VariantAttributes(variant_name="Blue")
SERVERLESS = VariantAttributes(variant_name="Blue", serverless=True, max_concurrency=10)


class Ctx:
    def __init__(self, name: str = "Watched") -> None:
        self.stack = cdk.Stack(new_app(), name)

    def imported(self, *variants: VariantAttributes, **props: Any) -> EndpointBase:
        return Endpoint.from_endpoint_attributes(
            self.stack, "Fraud", endpoint_name="fraud", variants=variants, **props
        )

    def by_name(self) -> EndpointBase:
        return Endpoint.from_endpoint_name(self.stack, "Fraud", "fraud")

    def model(self, cid: str = "Model", **props: Any) -> Model:
        return Model(self.stack, cid, image=ContainerImage.from_registry(IMAGE), **props)

    def serverless_endpoint(self) -> Endpoint:
        return Endpoint(
            self.stack,
            "Endpoint",
            endpoint_name="fraud",
            variants=[
                ServerlessVariant(model=self.model(network_isolation=False), variant_name="Blue")
            ],
        )

    def watch(self, endpoint: EndpointBase, **props: Any) -> EndpointMonitoring:
        return EndpointMonitoring(self.stack, "Monitoring", endpoint=endpoint, **props)

    def template(self) -> Template:
        return Template.from_stack(self.stack)

    def alarm_ids(self) -> set[str]:
        return set(self.template().find_resources(ALARM))


def _alarm(c: Ctx, monitoring: EndpointMonitoring, key: str) -> dict[str, Any]:
    alarm = monitoring.alarms[key]
    logical_id = c.stack.get_logical_id(alarm.node.default_child)  # type: ignore[arg-type]
    props: dict[str, Any] = c.template().find_resources(ALARM)[logical_id]["Properties"]
    return props


# --- imported endpoints --------------------------------------------------------------------


def test_imported_endpoint_with_attributes_gets_every_instance_alarm() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(BLUE))
    assert monitoring.variant_names == ("Blue",)
    assert dict(monitoring.instance_types) == {"Blue": "ml.c5.xlarge"}
    assert sorted(monitoring.alarms) == [
        "Blue/Cpu",
        "Blue/Disk",
        "Blue/ErrorRate4xx",
        "Blue/Errors5xx",
        "Blue/Memory",
        "Blue/ModelLatency",
        "Blue/OverheadLatency",
    ]
    c.template().has_resource_properties(
        ALARM,
        {
            "MetricName": "CPUUtilization",
            "Namespace": "/aws/sagemaker/Endpoints",
            "Dimensions": Match.array_with(
                [
                    {"Name": "EndpointName", "Value": "fraud"},
                    {"Name": "VariantName", "Value": "Blue"},
                ]
            ),
            "Threshold": 320,  # 80 % of the 4 vCPUs of an ml.c5.xlarge
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "ignore",
            "Statistic": "Average",
            "Period": 60,
        },
    )
    assert _alarm(c, monitoring, "Blue/Memory")["Threshold"] == 85
    Annotations.from_stack(c.stack).has_no_warning("*", Match.any_value())


def test_instance_types_override_the_attributes() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(BLUE), instance_types={"Blue": "ml.c5.4xlarge"})
    assert _alarm(c, monitoring, "Blue/Cpu")["Threshold"] == 80 * 16


def test_imported_endpoint_without_instance_types_warns_naming_the_skipped_alarms() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(UNTYPED, VariantAttributes(variant_name="Green")))
    assert not {k for k in monitoring.alarms if k.split("/")[1] in ("Cpu", "Memory", "Disk")}
    assert len(monitoring.alarms) == 8  # errors, 4XX rate and two latencies per variant
    Annotations.from_stack(c.stack).has_warning(
        "/Watched/Monitoring",
        "alarms Blue/Cpu, Blue/Memory, Blue/Disk, Green/Cpu, Green/Memory, Green/Disk were "
        "skipped: the instance type of variant(s) Blue, Green of endpoint fraud is unknown. "
        "To have them, give instance_types={'Blue': 'ml.<type>', 'Green': 'ml.<type>'}, or "
        "import the endpoint with Endpoint.from_endpoint_attributes(..., variants=["
        "VariantAttributes(variant_name='Blue', instance_type='ml.<type>'), ...]); to go "
        "without them, set thresholds cpu_percent_per_core, memory_percent, disk_percent to "
        f"None. [ack: {SKIPPED_WARNING}]",
    )


def test_the_warning_names_only_the_alarms_turned_on() -> None:
    c = Ctx()
    c.watch(
        c.by_name(),
        variant_names=["Blue"],
        thresholds=AlarmThresholds(cpu_percent_per_core=None, memory_percent=None),
    )
    Annotations.from_stack(c.stack).has_warning(
        "/Watched/Monitoring",
        Match.string_like_regexp(
            re.escape("alarms Blue/Disk were skipped")
            + ".*"
            + re.escape("set thresholds disk_percent to None.")
        ),
    )


def test_no_warning_when_the_instance_alarms_are_turned_off() -> None:
    c = Ctx()
    c.watch(
        c.by_name(),
        variant_names=["Blue"],
        thresholds=AlarmThresholds(
            cpu_percent_per_core=None, memory_percent=None, disk_percent=None
        ),
    )
    Annotations.from_stack(c.stack).has_no_warning("*", Match.any_value())


def test_names_and_types_complete_an_endpoint_imported_by_name() -> None:
    c = Ctx()
    monitoring = c.watch(
        c.by_name(),
        variant_names=["A", "B"],
        instance_types={"A": "ml.m5.large", "B": "ml.m5.2xlarge"},
        max_instances={"A": 6},
    )
    assert _alarm(c, monitoring, "A/Cpu")["Threshold"] == 160
    assert _alarm(c, monitoring, "B/Cpu")["Threshold"] == 640
    at_max = _alarm(c, monitoring, "A/AtMaxInstances")
    assert (at_max["Threshold"], at_max["EvaluationPeriods"], at_max["DatapointsToAlarm"]) == (
        6,
        15,
        15,
    )
    assert "B/AtMaxInstances" not in monitoring.alarms
    assert dict(monitoring.max_instances) == {"A": 6}
    Annotations.from_stack(c.stack).has_no_warning("*", Match.any_value())


def test_shadow_variants_are_watched_by_default() -> None:
    c = Ctx()
    endpoint = Endpoint(
        c.stack,
        "Endpoint",
        endpoint_name="fraud",
        variants=[InstanceVariant(model=c.model("A"), variant_name="Live")],
        shadow_variant=InstanceVariant(
            model=c.model("B"), variant_name="Shadow", instance_type="ml.c5.2xlarge"
        ),
    )
    monitoring = c.watch(endpoint)
    assert monitoring.variant_names == ("Live", "Shadow")
    assert _alarm(c, monitoring, "Shadow/Cpu")["Threshold"] == 640
    assert _alarm(c, monitoring, "Live/Cpu")["Threshold"] == 160
    # The shadow's responses are discarded: its alarms notify, but neither roll a
    # production deployment back nor make the endpoint unhealthy, unless asked for.
    live = {monitoring.alarms["Live/Errors5xx"], monitoring.alarms["Live/ModelLatency"]}
    assert set(monitoring.rollback_alarms()) == live
    assert set(monitoring.rollback_alarms("Shadow")) == {
        monitoring.alarms["Shadow/Errors5xx"],
        monitoring.alarms["Shadow/ModelLatency"],
    }
    (health,) = (
        Template.from_stack(c.stack).find_resources("AWS::CloudWatch::CompositeAlarm").values()
    )
    assert "Shadow" not in str(health["Properties"]["AlarmRule"])
    assert "Live" in str(health["Properties"]["AlarmRule"])


# --- serverless -----------------------------------------------------------------------------


def test_serverless_variant_gets_the_no_invocations_alarm() -> None:
    c = Ctx()
    monitoring = c.watch(
        c.serverless_endpoint(),
        thresholds=AlarmThresholds(no_invocations_for=cdk.Duration.minutes(30)),
    )
    assert sorted(k.split("/")[1] for k in monitoring.alarms) == [
        "ErrorRate4xx",
        "Errors5xx",
        "ModelLatency",
        "NoInvocations",
        "OverheadLatency",
    ]
    c.template().has_resource_properties(
        ALARM,
        {
            "MetricName": "Invocations",
            "Namespace": "AWS/SageMaker",
            "Dimensions": Match.array_with([{"Name": "VariantName", "Value": "Blue"}]),
            "Statistic": "Sum",
            "Period": 60,
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
            "EvaluationPeriods": 30,
            "DatapointsToAlarm": 30,
        },
    )
    # Serverless variants publish no instance metrics: nothing to warn about.
    Annotations.from_stack(c.stack).has_no_warning("/Watched/Monitoring", Match.any_value())


def test_instance_variant_keeps_the_no_invocations_alarm_without_a_known_type() -> None:
    c = Ctx()
    monitoring = c.watch(
        c.imported(UNTYPED), thresholds=AlarmThresholds(no_invocations_for=cdk.Duration.days(1))
    )
    idle = _alarm(c, monitoring, "Blue/NoInvocations")
    assert (idle["EvaluationPeriods"], idle["DatapointsToAlarm"]) == (1440, 1440)


# --- the alarms mapping ---------------------------------------------------------------------


def test_a_wrong_key_names_the_valid_keys() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(BLUE))
    with pytest.raises(KeyError) as raised:
        monitoring.alarms["Blue/Cpux"]
    assert isinstance(raised.value, UnknownAlarmError)
    assert str(raised.value) == (
        "Watched/Monitoring: no alarm 'Blue/Cpux'; Alarms are keyed '<variant>/<kind>': "
        "Blue/Cpu, Blue/Disk, Blue/ErrorRate4xx, Blue/Errors5xx, Blue/Memory, "
        "Blue/ModelLatency, Blue/OverheadLatency"
    )


def test_a_key_of_a_skipped_alarm_says_why() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(UNTYPED), thresholds=AlarmThresholds(disk_percent=None))
    with pytest.raises(
        KeyError, match=re.escape("it was not made: the instance type of variant Blue is unknown")
    ):
        monitoring.alarms["Blue/Cpu"]
    with pytest.raises(
        KeyError, match=re.escape("it was not made: thresholds.disk_percent is None")
    ):
        monitoring.alarms["Blue/Disk"]
    serverless = Ctx("Serverless")
    watched = serverless.watch(serverless.serverless_endpoint())
    with pytest.raises(
        KeyError,
        match=re.escape("it was not made: variant Blue is serverless: it publishes no instance"),
    ):
        watched.alarms["Blue/Memory"]


def test_alarms_are_a_read_only_mapping() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(BLUE))
    assert "Blue/Cpu" in monitoring.alarms and "Blue/Cpux" not in monitoring.alarms
    assert monitoring.alarms.get("Blue/Cpux") is None
    assert len(monitoring.alarms) == 7
    with pytest.raises(TypeError):
        monitoring.alarms["Blue/Extra"] = monitoring.alarms["Blue/Cpu"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del monitoring.alarms["Blue/Cpu"]  # type: ignore[attr-defined]


# --- metrics to build on --------------------------------------------------------------------


def test_derived_metrics_take_a_period_and_keep_the_alarms_one_minute() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(BLUE), max_instances={"Blue": 4})
    rate = monitoring.metric_error_rate_4xx("Blue", period=cdk.Duration.minutes(5), color="#ff0000")
    assert rate.period.to_seconds() == 300 and rate.color == "#ff0000"
    assert {m.period.to_seconds() for m in rate.using_metrics.values()} == {300}  # type: ignore[attr-defined]
    count = monitoring.metric_instance_count("Blue", period=cdk.Duration.hours(1))
    assert count.period.to_seconds() == 3600
    assert count.label == "Instances (estimated)"
    for key in ("Blue/ErrorRate4xx", "Blue/AtMaxInstances"):
        metrics = _alarm(c, monitoring, key)["Metrics"]
        periods = {m["MetricStat"]["Period"] for m in metrics if "MetricStat" in m}
        assert periods == {60}, key


# --- the natural order: endpoint, monitoring, rollback alarms --------------------------------


def _guarded(stack: cdk.Stack, monitoring_scope: cdk.Stack) -> tuple[Endpoint, EndpointMonitoring]:
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        endpoint_name="fraud",
        variants=[InstanceVariant(model=model, variant_name="Blue", initial_instance_count=4)],
        deployment=DeploymentConfig.blue_green(
            traffic_routing=TrafficRouting.canary(percent=25, wait=cdk.Duration.minutes(10))
        ),
    )
    monitoring = EndpointMonitoring(monitoring_scope, "Monitoring", endpoint=endpoint)
    endpoint.add_rollback_alarms(*monitoring.rollback_alarms())
    return endpoint, monitoring


def test_monitoring_of_the_real_endpoint_guards_its_deployments() -> None:
    stack = cdk.Stack(new_app(), "Hosting")
    endpoint, monitoring = _guarded(stack, stack)
    assembly = stack.node.root.synth()  # type: ignore[attr-defined]
    template = assembly.get_stack_by_name("Hosting").template
    ids = {
        kind: stack.get_logical_id(monitoring.alarms[f"Blue/{kind}"].node.default_child)  # type: ignore[arg-type]
        for kind in ("Errors5xx", "ModelLatency")
    }
    (resource,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"
    ]
    rollback = resource["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]
    assert rollback == {
        "Alarms": [
            {"AlarmName": {"Ref": ids["Errors5xx"]}},
            {"AlarmName": {"Ref": ids["ModelLatency"]}},
        ]
    }
    assert endpoint.rollback_alarms == monitoring.rollback_alarms()
    # The alarms name the endpoint by its name, not by a reference to it: no cycle.
    for alarm_id in ids.values():
        alarm = template["Resources"][alarm_id]
        assert "DependsOn" not in alarm
        assert {"Name": "EndpointName", "Value": "fraud"} in alarm["Properties"]["Dimensions"]


def test_monitoring_in_another_stack_guards_the_endpoint_without_a_cycle() -> None:
    app = new_app()
    hosting = cdk.Stack(app, "Hosting")
    ops = cdk.Stack(app, "Ops")
    _guarded(hosting, ops)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Hosting").template
    (resource,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"
    ]
    alarms = resource["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    assert len(alarms) == 2 and all("Fn::ImportValue" in a["AlarmName"] for a in alarms)
    assert hosting.dependencies == [ops] and ops.dependencies == []


def test_rollback_alarms_of_an_unwatched_variant_are_refused() -> None:
    c = Ctx()
    monitoring = c.watch(c.imported(BLUE))
    assert [a.node.id for a in monitoring.rollback_alarms("Blue")] == [
        "BlueErrors5xx",
        "BlueModelLatency",
    ]
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "Watched/Monitoring: rollback_alarms='Green' is invalid: not a variant watched here "
            "(Blue)"
        ),
    ):
        monitoring.rollback_alarms("Green")


# --- what cannot apply, asked for explicitly ---------------------------------------------------

HOW = (
    "give instance_types={'Blue': 'ml.<type>'}, or import the endpoint with "
    "Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes(variant_name='Blue', "
    "instance_type='ml.<type>'), ...])"
)

BAD: list[tuple[str, Callable[[Ctx], Any], str]] = [
    (
        "max_instances of a variant of unknown instance type",
        lambda c: c.watch(c.imported(UNTYPED), max_instances={"Blue": 6}),
        "Watched/Monitoring: max_instances['Blue']=6 is invalid: the instance type of variant "
        f"Blue is unknown, so it may be serverless and have no instances to count; {HOW}",
    ),
    (
        "max_instances of an endpoint imported by name",
        lambda c: c.watch(c.by_name(), variant_names=["Blue"], max_instances={"Blue": 6}),
        "Watched/Monitoring: max_instances['Blue']=6 is invalid: the instance type of variant "
        f"Blue is unknown, so it may be serverless and have no instances to count; {HOW}",
    ),
    (
        "max_instances of a serverless variant",
        lambda c: c.watch(c.serverless_endpoint(), max_instances={"Blue": 6}),
        "Watched/Monitoring: max_instances['Blue']=6 is invalid: variant Blue is serverless: it "
        "has no instances to count (its provisioned concurrency is bounded by its "
        "max_concurrency)",
    ),
    (
        "max_instances naming no variant",
        lambda c: c.watch(c.imported(BLUE), max_instances={"Green": 6}),
        "Watched/Monitoring: max_instances={'Green': 6} is invalid: 'Green' names no variant "
        "watched here (variants of fraud watched: Blue)",
    ),
    (
        "max_instances not a whole number",
        lambda c: c.watch(c.imported(BLUE), max_instances={"Blue": 2.5}),
        "Watched/Monitoring: max_instances['Blue']=2.5 is invalid: must be a whole number "
        "(at least 1)",
    ),
    (
        "max_instances of zero",
        lambda c: c.watch(c.imported(BLUE), max_instances={"Blue": 0}),
        "Watched/Monitoring: max_instances['Blue']=0 is invalid: must be at least 1",
    ),
    (
        "instance_types naming no variant",
        lambda c: c.watch(c.imported(BLUE), instance_types={"Green": "ml.m5.large"}),
        "Watched/Monitoring: instance_types={'Green': 'ml.m5.large'} is invalid: 'Green' names "
        "no variant watched here (variants of fraud watched: Blue)",
    ),
    (
        "instance_types naming a variant left out of variant_names",
        lambda c: c.watch(
            c.imported(BLUE, VariantAttributes(variant_name="Green")),
            variant_names=["Blue"],
            instance_types={"Green": "ml.m5.large"},
        ),
        "Watched/Monitoring: instance_types={'Green': 'ml.m5.large'} is invalid: 'Green' names "
        "no variant watched here (variants of fraud watched: Blue)",
    ),
    (
        "instance_types of a serverless variant",
        lambda c: c.watch(c.imported(SERVERLESS), instance_types={"Blue": "ml.m5.large"}),
        "Watched/Monitoring: instance_types['Blue']='ml.m5.large' is invalid: variant Blue is "
        "serverless: it runs on no instance type",
    ),
    (
        "instance_types not a hosting type",
        lambda c: c.watch(c.imported(UNTYPED), instance_types={"Blue": "ml.m5.huge"}),
        "Watched/Monitoring: instance_types['Blue']='ml.m5.huge' is invalid: not a SageMaker "
        "hosting instance type (botocore ProductionVariantInstanceType)",
    ),
    (
        "instance_types not a dict",
        lambda c: c.watch(c.imported(UNTYPED), instance_types=["ml.m5.large"]),
        "Watched/Monitoring: instance_types=['ml.m5.large'] is invalid: must be a dict keyed "
        "by variant, not list",
    ),
    (
        "variant_names naming no variant of the endpoint",
        lambda c: c.watch(c.imported(BLUE), variant_names=["Blue", "Green"]),
        "Watched/Monitoring: variant_names[1]='Green' is invalid: not a variant of endpoint "
        "fraud; its variants: Blue",
    ),
    (
        "variant_names as one string",
        lambda c: c.watch(c.by_name(), variant_names="Blue"),
        "Watched/Monitoring: variant_names='Blue' is invalid: must be a list of variant names, "
        "not str",
    ),
    (
        "variant_names repeated",
        lambda c: c.watch(c.by_name(), variant_names=["Blue", "Blue"]),
        "Watched/Monitoring: variant_names=['Blue'] is invalid: name each variant once",
    ),
    (
        "variant_names empty",
        lambda c: c.watch(c.by_name(), variant_names=[]),
        "Watched/Monitoring: variant_names=[] is invalid: name at least one variant",
    ),
    (
        "variant_names not a SageMaker name",
        lambda c: c.watch(c.by_name(), variant_names=["blue_1"]),
        "Watched/Monitoring: variant_names[0]='blue_1' is invalid: use 1-63 letters",
    ),
    (
        "a custom CPU threshold for a variant of unknown type",
        lambda c: c.watch(
            c.imported(BLUE, VariantAttributes(variant_name="Green")),
            thresholds=AlarmThresholds(cpu_percent_per_core=70),
        ),
        "Watched/Monitoring: thresholds.cpu_percent_per_core=70 is invalid: no Cpu alarm can "
        "apply to variant(s) Green, whose instance type is unknown; give "
        "instance_types={'Green': 'ml.<type>'}, or import the endpoint with "
        "Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes(variant_name="
        "'Green', instance_type='ml.<type>'), ...])",
    ),
    (
        "a custom memory threshold on a serverless endpoint",
        lambda c: c.watch(c.serverless_endpoint(), thresholds=AlarmThresholds(memory_percent=90)),
        "Watched/Monitoring: thresholds.memory_percent=90 is invalid: serverless variants "
        "publish no CPU, memory or disk metrics, so no Memory alarm can apply; leave it at its "
        "default or None",
    ),
    (
        "evaluation periods not a whole number",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(evaluation_periods=2.5)),
        "Watched/Monitoring: thresholds.evaluation_periods=2.5 is invalid: must be a whole "
        "number (1-1440)",
    ),
    (
        "evaluation periods beyond a day",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(evaluation_periods=1441)),
        "Watched/Monitoring: thresholds.evaluation_periods=1441 is invalid: must be between 1 "
        "and 1440",
    ),
    (
        "datapoints not a whole number",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(datapoints_to_alarm=2.0)),
        "Watched/Monitoring: thresholds.datapoints_to_alarm=2.0 is invalid: must be a whole "
        "number (1-5)",
    ),
    (
        "datapoints a boolean",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(datapoints_to_alarm=True)),
        "Watched/Monitoring: thresholds.datapoints_to_alarm=True is invalid: must be a whole "
        "number (1-5)",
    ),
    (
        "no 5XX errors to alarm on",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(errors_5xx=0)),
        "Watched/Monitoring: thresholds.errors_5xx=0 is invalid: must be a number above 0, or "
        "None to turn it off",
    ),
    (
        "a 4XX rate above 100 %",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(error_rate_4xx_percent=150)),
        "Watched/Monitoring: thresholds.error_rate_4xx_percent=150 is invalid: must be a number "
        "above 0 and at most 100 %, or None to turn it off",
    ),
    (
        "latency not a Duration",
        lambda c: c.watch(c.imported(BLUE), thresholds=AlarmThresholds(model_latency_p99=500)),
        "Watched/Monitoring: thresholds.model_latency_p99=500 is invalid: must be a Duration, "
        "not int",
    ),
    (
        "silence shorter than a whole minute",
        lambda c: c.watch(
            c.imported(BLUE),
            thresholds=AlarmThresholds(no_invocations_for=cdk.Duration.seconds(90)),
        ),
        "Watched/Monitoring: thresholds.no_invocations_for='1 minute 30 seconds' is invalid: "
        "must be whole minutes, from 1 to 1440 (one day: CloudWatch evaluates at most a day of "
        "one-minute periods)",
    ),
    (
        "silence longer than a day",
        lambda c: c.watch(
            c.imported(BLUE), thresholds=AlarmThresholds(no_invocations_for=cdk.Duration.days(2))
        ),
        "Watched/Monitoring: thresholds.no_invocations_for='2 days' is invalid: must be whole "
        "minutes, from 1 to 1440",
    ),
    (
        "neither errors nor latency for health and rollbacks",
        lambda c: c.watch(
            c.imported(BLUE),
            thresholds=AlarmThresholds(errors_5xx=None, model_latency_p99=None),
        ),
        "Watched/Monitoring: thresholds.errors_5xx/model_latency_p99=(None, None) is invalid: "
        "keep at least one: the health alarm and the rollback alarms are made of them",
    ),
    (
        "thresholds not AlarmThresholds",
        lambda c: c.watch(c.imported(BLUE), thresholds={"errors_5xx": 2}),
        "Watched/Monitoring: thresholds={'errors_5xx': 2} is invalid: must be an "
        "AlarmThresholds, not dict",
    ),
    (
        "endpoint not an endpoint",
        lambda c: EndpointMonitoring(c.stack, "Monitoring", endpoint="fraud"),
        "Watched/Monitoring: endpoint='fraud' is invalid: must be an Endpoint, or an endpoint "
        "imported with Endpoint.from_endpoint_attributes, not str",
    ),
    (
        "topic not a topic",
        lambda c: c.watch(c.imported(BLUE), topic="arn:aws:sns:us-east-1:111111111111:ops"),
        "Watched/Monitoring: topic='arn:aws:sns:us-east-1:111111111111:ops' is invalid: must be "
        "an sns.ITopic, not str",
    ),
]


@pytest.mark.parametrize(("build", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_options_that_cannot_apply_are_refused_with_the_full_message(
    build: Callable[[Ctx], Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        build(Ctx())


def test_an_imported_topic_is_used_as_is() -> None:
    c = Ctx()
    topic = sns.Topic.from_topic_arn(c.stack, "Ops", "arn:aws:sns:us-east-1:111111111111:ops")
    monitoring = c.watch(c.imported(BLUE), topic=topic)
    assert monitoring.topic is topic
    c.template().resource_count_is("AWS::SNS::Topic", 0)
    assert _alarm(c, monitoring, "Blue/Errors5xx")["AlarmActions"] == [
        "arn:aws:sns:us-east-1:111111111111:ops"
    ]


def test_a_gpu_threshold_endpoint_monitoring_cannot_use_is_named_not_dropped() -> None:
    c = Ctx()
    c.watch(
        c.by_name(),
        variant_names=["Blue"],
        thresholds=AlarmThresholds(
            cpu_percent_per_core=None, memory_percent=None, disk_percent=None, gpu_percent=95
        ),
    )
    Annotations.from_stack(c.stack).has_warning(
        "/Watched/Monitoring",
        Match.string_like_regexp(
            re.escape("thresholds.gpu_percent=95 has no effect here")
            + ".*"
            + re.escape(f"[ack: {GPU_THRESHOLD_WARNING}]")
        ),
    )
