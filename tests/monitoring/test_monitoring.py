"""Alarms, notifications and the dashboard of EndpointMonitoring."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from cdk_sagemaker_hosting import (
    AlarmThresholds,
    ContainerImage,
    Endpoint,
    EndpointMonitoring,
    InstanceVariant,
    Model,
    ServerlessVariant,
    ValidationError,
)
from cdk_sagemaker_hosting.monitoring import vcpus

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"


def monitored(**props: Any) -> tuple[cdk.Stack, EndpointMonitoring]:
    stack = cdk.Stack(new_app(), "Watched")
    model = Model(stack, "Model", image=ContainerImage.from_registry(IMAGE))
    endpoint = Endpoint(
        stack,
        "Endpoint",
        endpoint_name="fraud",
        variants=[
            InstanceVariant(model=model, variant_name="Blue", instance_type="ml.c5.2xlarge"),
        ],
    )
    return stack, EndpointMonitoring(stack, "Monitoring", endpoint=endpoint, **props)


def alarms(stack: cdk.Stack) -> dict[str, dict[str, Any]]:
    found = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    return {lid: a["Properties"] for lid, a in found.items()}


def by_prefix(found: dict[str, dict[str, Any]], prefix: str) -> dict[str, Any]:
    (props,) = [p for lid, p in found.items() if lid.startswith(prefix)]
    return props


def test_default_alarms_thresholds_and_missing_data() -> None:
    stack, monitoring = monitored()
    assert sorted(monitoring.alarms) == [
        "Blue/Cpu",
        "Blue/Disk",
        "Blue/ErrorRate4xx",
        "Blue/Errors5xx",
        "Blue/Memory",
        "Blue/ModelLatency",
        "Blue/OverheadLatency",
    ]
    found = alarms(stack)
    errors = by_prefix(found, "MonitoringBlueErrors5xx")
    assert (errors["MetricName"], errors["Threshold"], errors["TreatMissingData"]) == (
        "Invocation5XXErrors",
        1,
        "notBreaching",
    )
    assert (errors["EvaluationPeriods"], errors["DatapointsToAlarm"]) == (5, 3)
    latency = by_prefix(found, "MonitoringBlueModelLatency")
    assert (latency["ExtendedStatistic"], latency["Threshold"]) == ("p99", 1_000_000)
    assert by_prefix(found, "MonitoringBlueOverheadLatency")["Threshold"] == 100_000
    cpu = by_prefix(found, "MonitoringBlueCpu")
    assert (cpu["Namespace"], cpu["Threshold"], cpu["TreatMissingData"]) == (
        "/aws/sagemaker/Endpoints",
        640,
        "ignore",
    )  # 80 % of 8 vCPUs
    rate = by_prefix(found, "MonitoringBlueErrorRate4xx")
    (expression,) = [m for m in rate["Metrics"] if "Expression" in m]
    assert expression["Expression"] == "100 * errors / MAX([errors, invocations])"
    for props in found.values():
        assert props["AlarmActions"], "every alarm notifies the topic"


def test_topic_is_encrypted_tls_only_and_cloudwatch_may_use_its_key() -> None:
    stack, _ = monitored()
    template = Template.from_stack(stack).to_json()
    (topic,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]
    assert topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0].startswith("MonitoringTopicKey")
    (key,) = [r for lid, r in template["Resources"].items() if lid.startswith("MonitoringTopicKey")]
    services = [s["Principal"].get("Service") for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert "cloudwatch.amazonaws.com" in services
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SNS::TopicPolicy"]
    assert "aws:SecureTransport" in json.dumps(policy)


def test_composite_health_covers_errors_and_latency_and_feeds_rollbacks() -> None:
    stack, monitoring = monitored()
    (composite,) = (
        Template.from_stack(stack).find_resources("AWS::CloudWatch::CompositeAlarm").values()
    )
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    assert "MonitoringBlueErrors5xx" in rule and "MonitoringBlueModelLatency" in rule
    assert "Cpu" not in rule
    assert monitoring.rollback_alarms("Blue") == [
        monitoring.alarms["Blue/Errors5xx"],
        monitoring.alarms["Blue/ModelLatency"],
    ]


def test_optional_alarms_at_max_instances_and_no_invocations() -> None:
    stack, monitoring = monitored(
        max_instances={"Blue": 6},
        thresholds=AlarmThresholds(no_invocations_for=cdk.Duration.minutes(15), disk_percent=None),
    )
    assert "Blue/Disk" not in monitoring.alarms
    found = alarms(stack)
    at_max = by_prefix(found, "MonitoringBlueAtMaxInstances")
    assert at_max["Threshold"] == 6 and at_max["EvaluationPeriods"] == 15
    (board,) = Template.from_stack(stack).find_resources("AWS::CloudWatch::Dashboard").values()
    assert "scaling maximum" in json.dumps(board["Properties"]["DashboardBody"])
    idle = by_prefix(found, "MonitoringBlueNoInvocations")
    assert (idle["ComparisonOperator"], idle["TreatMissingData"]) == (
        "LessThanThreshold",
        "breaching",
    )


def test_can_be_built_before_its_endpoint_from_names() -> None:
    stack = cdk.Stack(new_app(), "Early")
    imported = Endpoint.from_endpoint_name(stack, "Ref", "fraud")
    monitoring = EndpointMonitoring(
        stack,
        "Monitoring",
        endpoint=imported,
        variant_names=["A", "B"],
        instance_types={"A": "ml.m5.large", "B": "ml.m5.large"},
    )
    assert len(monitoring.rollback_alarms()) == 4
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "Early/Nameless: variant_names=None is invalid: endpoint fraud knows no variants "
            "(imported by name or ARN); give variant_names, or import it with "
            "Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes(...)])"
        ),
    ):
        EndpointMonitoring(stack, "Nameless", endpoint=imported)


def test_serverless_variant_has_no_instance_alarms() -> None:
    stack = cdk.Stack(new_app(), "Serverless")
    model = Model(
        stack, "Model", image=ContainerImage.from_registry(IMAGE), network_isolation=False
    )
    endpoint = Endpoint(stack, "Endpoint", variants=[ServerlessVariant(model=model)])
    monitoring = EndpointMonitoring(stack, "Monitoring", endpoint=endpoint)
    assert sorted(k.split("/")[1] for k in monitoring.alarms) == [
        "ErrorRate4xx",
        "Errors5xx",
        "ModelLatency",
        "OverheadLatency",
    ]


def test_dashboard_shows_alarms_and_every_variant() -> None:
    stack, _ = monitored()
    (board,) = Template.from_stack(stack).find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(board["Properties"]["DashboardBody"])
    for title in (
        "fraud: alarms",
        "Blue: invocations and errors",
        "Blue: latency p99",
        "Blue: utilisation",
    ):
        assert title in body


@pytest.mark.parametrize(
    ("instance_type", "cores"),
    [
        ("ml.m5.large", 2),
        ("ml.m5.xlarge", 4),
        ("ml.c5.9xlarge", 36),
        ("ml.t2.medium", 2),
        ("ml.c8g.medium", 1),
        ("ml.trn1.32xlarge", 128),
        ("ml.g5.12xlarge", 48),
    ],
)
def test_vcpus_from_instance_size(instance_type: str, cores: int) -> None:
    assert vcpus(instance_type) == cores


def test_datapoints_cannot_exceed_periods() -> None:
    with pytest.raises(
        ValidationError,
        match=re.escape("thresholds.datapoints_to_alarm=6 is invalid: must be between 1 and 5"),
    ):
        monitored(thresholds=AlarmThresholds(datapoints_to_alarm=6))
