"""Copy scaling (to zero and back), rolling component updates, and component monitoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Annotations, Match
from cdk_sagemaker_hosting import (
    AlarmThresholds,
    ComponentDeployment,
    ComponentMonitoring,
    ComponentVariant,
    ComputeRequirements,
    ManagedInstanceScaling,
    ValidationError,
)
from cdk_sagemaker_hosting.monitoring import UnknownAlarmError

from tests.gates import PACKS, cfn_lint, nag_findings
from tests.inference_component.helpers import GPU, Ctx


def of_type(c: Ctx, rtype: str) -> list[dict[str, Any]]:
    return list(c.resources(rtype).values())


def test_copies_scale_on_concurrency_per_copy() -> None:
    c = Ctx()
    component = c.component(copy_count=2)
    scaling = component.auto_scale_copies(min_copies=2, max_copies=6)
    scaling.scale_on_concurrent_requests(target_per_copy=4)
    (target,) = of_type(c, "AWS::ApplicationAutoScaling::ScalableTarget")
    p = target["Properties"]
    assert p["ResourceId"] == f"inference-component/{component.component_name}"
    assert p["ScalableDimension"] == "sagemaker:inference-component:DesiredCopyCount"
    assert (p["MinCapacity"], p["MaxCapacity"]) == (2, 6)
    assert target["DependsOn"] == [c.stack.get_logical_id(component.resource)]
    (policy,) = of_type(c, "AWS::ApplicationAutoScaling::ScalingPolicy")
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution"
    }
    assert config["TargetValue"] == 4
    # No wake-up policy without zero copies.
    assert scaling.wake is None


def test_scale_to_zero_adds_the_documented_wake_up_step_policy() -> None:
    c = Ctx(
        variants=[
            ComponentVariant(
                instance_type="ml.g5.12xlarge",
                initial_instance_count=2,
                managed_scaling=ManagedInstanceScaling(min_instances=0, max_instances=2),
            )
        ]
    )
    component = c.component(copy_count=2)
    component.auto_scale_copies(min_copies=0, max_copies=4).scale_on_invocations(target_per_copy=1)
    policies = {
        p["Properties"]["PolicyType"]: p["Properties"]
        for p in of_type(c, "AWS::ApplicationAutoScaling::ScalingPolicy")
    }
    assert policies["TargetTrackingScaling"]["TargetTrackingScalingPolicyConfiguration"][
        "PredefinedMetricSpecification"
    ] == {"PredefinedMetricType": "SageMakerInferenceComponentInvocationsPerCopy"}
    step = policies["StepScaling"]["StepScalingPolicyConfiguration"]
    assert step == {
        "AdjustmentType": "ChangeInCapacity",
        "Cooldown": 60,
        "MetricAggregationType": "Maximum",
        "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}],
    }
    (alarm,) = [
        a["Properties"]
        for a in of_type(c, "AWS::CloudWatch::Alarm")
        if a["Properties"].get("MetricName") == "NoCapacityInvocationFailures"
    ]
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [
        {"Name": "InferenceComponentName", "Value": component.component_name}
    ]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 60, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["EvaluationPeriods"] == 1


def test_the_scaling_maximum_must_be_placeable() -> None:
    c = Ctx()
    component = c.component(copy_count=2)
    with pytest.raises(ValidationError) as err:
        component.auto_scale_copies(min_copies=2, max_copies=17)
    assert "Chat/Scaling: max_copies=17 is invalid: 17 copies cannot be placed" in str(err.value)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ((3, 2), r"min_copies=3 is invalid: must not exceed max_copies \(2\)"),
        ((0, 0), r"max_copies=0 is invalid: must be at least 1"),
        ((1, 4), r"min_copies=1 is invalid: a multi-AZ endpoint keeps at least 2 copies"),
        ((3, 4), r"min_copies/max_copies=\(3, 4\) is invalid: must include the component's"),
        ((2.5, 4), r"min_copies=2.5 is invalid: must be a whole number"),
    ],
)
def test_bad_copy_bounds(bounds: tuple[Any, Any], message: str) -> None:
    c = Ctx()
    component = c.component(copy_count=2)
    with pytest.raises(ValidationError, match=message):
        component.auto_scale_copies(min_copies=bounds[0], max_copies=bounds[1])


def test_one_copy_at_most_is_refused_on_a_multi_az_endpoint_scaling_to_zero() -> None:
    component = Ctx().component(copy_count=0)
    with pytest.raises(
        ValidationError,
        match=r"Chat/Scaling: max_copies=1 is invalid: a multi-AZ endpoint keeps a component "
        r"that scales to zero at 0 or at least 2 copies, so that they can run in different zones",
    ):
        component.auto_scale_copies(min_copies=0, max_copies=1)


@pytest.mark.parametrize("scaled", [False, True], ids=["fixed", "scaled"])
def test_no_copies_without_copy_scaling_warns(scaled: bool) -> None:
    c = Ctx()
    component = c.component(copy_count=0)
    if scaled:
        component.auto_scale_copies(min_copies=0, max_copies=2)
    warnings = Annotations.from_stack(c.stack).find_warning(
        "/Components/Chat",
        Match.string_like_regexp(r"copy_count=0 and no auto_scale_copies: .* every request"),
    )
    assert len(warnings) == (0 if scaled else 1)


def test_a_second_scalable_target_is_refused() -> None:
    component = Ctx().component()
    component.auto_scale_copies(min_copies=2, max_copies=4)
    with pytest.raises(ValidationError, match="one scalable target"):
        component.auto_scale_copies(min_copies=2, max_copies=4)


def test_rolling_updates_roll_back_on_the_components_own_alarms() -> None:
    c = Ctx()
    component = c.component(
        copy_count=4,
        deployment=ComponentDeployment.rolling(
            batch_copies=1,
            wait=cdk.Duration.minutes(5),
            rollback_batch_percent=100,
            maximum_execution_timeout=cdk.Duration.hours(1),
        ),
    )
    monitoring = ComponentMonitoring(c.stack, "Monitoring", component=component)
    component.add_rollback_alarms(*monitoring.rollback_alarms())
    (props,) = of_type(c, "AWS::SageMaker::InferenceComponent")
    config = props["Properties"]["DeploymentConfig"]
    assert config["RollingUpdatePolicy"] == {
        "MaximumBatchSize": {"Type": "COPY_COUNT", "Value": 1},
        "WaitIntervalInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
        "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 100},
    }
    names = [a["AlarmName"]["Ref"] for a in config["AutoRollbackConfiguration"]["Alarms"]]
    assert names == [
        c.stack.get_logical_id(a.node.default_child) for a in monitoring.rollback_alarms()
    ]  # type: ignore[arg-type]


def test_a_rolling_update_without_alarms_fails_synth() -> None:
    c = Ctx()
    c.component(
        deployment=ComponentDeployment.rolling(batch_percent=50, wait=cdk.Duration.minutes(1))
    )
    with pytest.raises(Exception, match=r"deployment.rollback_alarms=\[\] is invalid"):
        c.app.synth()


@pytest.mark.parametrize(
    ("deployment", "copies", "message"),
    [
        (
            {"batch_copies": 1, "batch_percent": 10},
            2,
            r"deployment.batch=.* is invalid: give copies or percent, not both",
        ),
        ({}, 2, r"deployment.batch=None is invalid: give batch_copies or batch_percent"),
        ({"batch_percent": 60}, 2, r"deployment.batch_percent=60 is invalid: must be between 5"),
        (
            {"batch_copies": 3},
            4,
            r"batch_copies=3 is invalid: 3 of the component's 4 copies is 75 %; SageMaker takes "
            r"batches of 5-50 %",
        ),
        (
            {"batch_copies": 1, "wait": cdk.Duration.hours(2)},
            2,
            r"deployment.wait='7200 s' is invalid: must be 0 s to 3600 s",
        ),
        (
            {"batch_copies": 1, "maximum_execution_timeout": cdk.Duration.minutes(5)},
            2,
            r"maximum_execution_timeout='300 s' is invalid: must be 600 s to 28800 s",
        ),
    ],
)
def test_bad_rolling_updates(deployment: dict[str, Any], copies: int, message: str) -> None:
    deployment.setdefault("wait", cdk.Duration.minutes(1))
    with pytest.raises(ValidationError, match=message):
        Ctx().component(copy_count=copies, deployment=ComponentDeployment.rolling(**deployment))


SMALL = ComputeRequirements(min_memory_mb=1024, cpu_cores=1)


@pytest.mark.parametrize(
    ("deployment", "bounds", "message"),
    [
        (
            {"batch_copies": 2},
            (2, 4),
            r"Components/Chat: deployment.batch_copies=2 is invalid: auto_scale_copies\(min_copies"
            r"=2, max_copies=4\) lets the component be updated at 2 copies, where 2 copies is "
            r"100 %; SageMaker takes batches of 5-50 % of the copies: give batch_percent instead",
        ),
        (
            {"batch_copies": 1},
            (2, 30),
            r"deployment.batch_copies=1 is invalid: .* updated at 30 copies, where 1 copies is "
            r"3.33333 %",
        ),
        (
            {"batch_copies": 1},
            (0, 4),
            r"deployment.batch_copies=1 is invalid: .* updated at 1 copies, where 1 copies is "
            r"100 %",
        ),
        (
            {"batch_copies": 1, "rollback_batch_copies": 3},
            (2, 4),
            r"deployment.rollback_batch_copies=3 is invalid: .* 150 %; SageMaker takes batches of "
            r"1-100 % of the copies: give rollback_batch_percent instead",
        ),
        ({"batch_copies": 1}, (2, 20), None),
        ({"batch_percent": 10}, (0, 40), None),
    ],
)
def test_batches_in_copies_must_fit_every_scaled_copy_count(
    deployment: dict[str, Any], bounds: tuple[int, int], message: str | None
) -> None:
    component = Ctx().component(
        copy_count=4,
        requirements=SMALL,
        deployment=ComponentDeployment.rolling(wait=cdk.Duration.minutes(1), **deployment),
    )
    if message is None:
        component.auto_scale_copies(min_copies=bounds[0], max_copies=bounds[1])
        return
    with pytest.raises(ValidationError, match=message):
        component.auto_scale_copies(min_copies=bounds[0], max_copies=bounds[1])


def test_eleven_rollback_alarms_are_refused() -> None:
    c = Ctx()
    alarms = [cloudwatch.Alarm.from_alarm_name(c.stack, f"A{i}", f"alarm-{i}") for i in range(11)]
    with pytest.raises(ValidationError, match=r"rollback_alarms='11 alarms' is invalid"):
        c.component(
            deployment=ComponentDeployment.rolling(
                batch_copies=1, wait=cdk.Duration.minutes(1), rollback_alarms=alarms
            )
        )


def test_rollback_alarms_need_a_deployment() -> None:
    c = Ctx()
    component = c.component()
    alarm = cloudwatch.Alarm.from_alarm_name(c.stack, "A", "a")
    with pytest.raises(ValidationError, match="rollback alarms need a deployment"):
        component.add_rollback_alarms(alarm)


def test_monitoring_alarms_per_component() -> None:
    c = Ctx()
    component = c.component(copy_count=2)
    component.auto_scale_copies(min_copies=2, max_copies=4)
    monitoring = ComponentMonitoring(c.stack, "Monitoring", component=component)
    assert sorted(monitoring.alarms) == sorted(
        [
            "Errors5xx",
            "ErrorRate4xx",
            "ModelLatency",
            "OverheadLatency",
            "Cpu",
            "Memory",
            "Gpu",
            "NoCapacity",
            "AtMaxCopies",
        ]
    )
    by_name = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in of_type(c, "AWS::CloudWatch::Alarm")
    }
    cpu = by_name["CPUUtilizationNormalized"]
    assert cpu["Namespace"] == "/aws/sagemaker/InferenceComponents"
    assert cpu["Dimensions"] == [
        {"Name": "InferenceComponentName", "Value": component.component_name}
    ]
    assert by_name["GPUUtilizationNormalized"]["Threshold"] == 80  # gpu_percent default
    assert by_name["NoCapacityInvocationFailures"]["Threshold"] == 1
    with pytest.raises(UnknownAlarmError, match="it was not made: inference components publish"):
        monitoring.alarms["Disk"]
    assert monitoring.dashboard is not None
    (composite,) = of_type(c, "AWS::CloudWatch::CompositeAlarm")
    assert "Errors5xx" in str(composite["Properties"]["AlarmRule"])


def alarm_props(c: Ctx, alarm: cloudwatch.Alarm) -> dict[str, Any]:
    logical_id = c.stack.get_logical_id(alarm.node.default_child)  # type: ignore[arg-type]
    props: dict[str, Any] = c.resources("AWS::CloudWatch::Alarm")[logical_id]["Properties"]
    return props


def test_gpu_alarm_has_its_own_threshold() -> None:
    c = Ctx()
    component = c.component(copy_count=2)
    monitoring = ComponentMonitoring(
        c.stack,
        "Monitoring",
        component=component,
        thresholds=AlarmThresholds(cpu_percent_per_core=None, gpu_percent=95),
        dashboard=False,
    )
    gpu = alarm_props(c, monitoring.alarms["Gpu"])
    assert (gpu["MetricName"], gpu["Threshold"]) == ("GPUUtilizationNormalized", 95)
    assert gpu["ComparisonOperator"] == "GreaterThanThreshold"
    assert gpu["AlarmDescription"].startswith("GPU use above 95 % of what the copies reserved")
    with pytest.raises(UnknownAlarmError, match=r"thresholds.cpu_percent_per_core is None"):
        monitoring.alarms["Cpu"]


@pytest.mark.parametrize(
    ("requirements", "gpu_percent", "reason"),
    [
        (GPU, None, r"thresholds.gpu_percent is None"),
        (SMALL, 80, r"the component reserves no accelerators"),
        (SMALL, None, r"thresholds.gpu_percent is None"),
    ],
    ids=["gpu-off", "no-accelerators", "both"],
)
def test_gpu_alarm_skipped_with_its_reason(
    requirements: ComputeRequirements, gpu_percent: float | None, reason: str
) -> None:
    c = Ctx()
    component = c.component(copy_count=2, requirements=requirements)
    monitoring = ComponentMonitoring(
        c.stack,
        "Monitoring",
        component=component,
        thresholds=AlarmThresholds(gpu_percent=gpu_percent),
        dashboard=False,
    )
    assert "Cpu" in monitoring.alarms
    assert "Gpu" not in monitoring.alarms
    with pytest.raises(UnknownAlarmError, match=reason):
        monitoring.alarms["Gpu"]
    names = [a["Properties"].get("MetricName") for a in of_type(c, "AWS::CloudWatch::Alarm")]
    assert "GPUUtilizationNormalized" not in names


@pytest.mark.parametrize("value", [0, -5, 100.5, "80", True])
def test_bad_gpu_percent(value: Any) -> None:
    c = Ctx()
    component = c.component()
    with pytest.raises(
        ValidationError,
        match=r"Monitoring: thresholds.gpu_percent=.* is invalid: must be a number above 0 and "
        r"at most 100 %, or None to turn it off",
    ):
        ComponentMonitoring(
            c.stack,
            "Monitoring",
            component=component,
            thresholds=AlarmThresholds(gpu_percent=value),
        )


def test_a_component_that_scales_to_zero_alarms_when_it_does_not_wake_up() -> None:
    c = Ctx(
        variants=[
            ComponentVariant(
                instance_type="ml.g5.12xlarge",
                initial_instance_count=2,
                managed_scaling=ManagedInstanceScaling(min_instances=0, max_instances=2),
            )
        ]
    )
    component = c.component(copy_count=0)
    scaling = component.auto_scale_copies(min_copies=0, max_copies=2)
    monitoring = ComponentMonitoring(c.stack, "Monitoring", component=component, dashboard=False)
    alarm = alarm_props(c, monitoring.alarms["NoCapacity"])
    assert alarm["MetricName"] == "NoCapacityInvocationFailures"
    assert alarm["Dimensions"] == [
        {"Name": "InferenceComponentName", "Value": component.component_name}
    ]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 60, 1)
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # Refusals in every one of 15 consecutive minutes: longer than a cold start.
    assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (15, 15)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert "in each of 15 consecutive minutes" in alarm["AlarmDescription"]
    assert "has not woken up" in alarm["AlarmDescription"]
    assert alarm["AlarmActions"] == [
        {"Ref": c.stack.get_logical_id(monitoring.topic.node.default_child)}
    ]  # type: ignore[arg-type]
    # The wake-up step policy's own alarm is a separate one, on the first refusal.
    assert scaling.wake is not None
    wake = [
        a["Properties"]
        for a in of_type(c, "AWS::CloudWatch::Alarm")
        if a["Properties"].get("MetricName") == "NoCapacityInvocationFailures"
    ]
    assert sorted(a["EvaluationPeriods"] for a in wake) == [1, 15]


def test_a_disk_threshold_is_refused() -> None:
    c = Ctx()
    component = c.component()
    with pytest.raises(ValidationError, match="publish no disk metric"):
        ComponentMonitoring(
            c.stack,
            "Monitoring",
            component=component,
            thresholds=AlarmThresholds(disk_percent=50),
        )


def test_cdk_nag_and_cfn_lint_pass(tmp_path: Path) -> None:
    c = Ctx()
    component = c.component(
        copy_count=2,
        deployment=ComponentDeployment.rolling(batch_copies=1, wait=cdk.Duration.minutes(5)),
    )
    component.auto_scale_copies(min_copies=2, max_copies=4).scale_on_invocations(target_per_copy=10)
    monitoring = ComponentMonitoring(c.stack, "Monitoring", component=component)
    component.add_rollback_alarms(*monitoring.rollback_alarms())
    template = c.app.synth().get_stack_by_name(c.stack.stack_name).template
    for pack in PACKS:
        assert nag_findings(c.app, pack) == [], pack.__name__
    found, stderr = cfn_lint({c.stack.stack_name: template}, tmp_path)
    assert found == [], stderr
