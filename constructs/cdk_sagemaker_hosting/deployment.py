"""Deployment guardrails: how an endpoint moves to a new config, and when it rolls back."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sagemaker as sagemaker

from cdk_sagemaker_hosting import validation
from constructs import IConstruct

#: SageMaker's rolling-update batch: 5-50 % of the variant's instances.
ROLLING_BATCH_PERCENT = (5, 50)
#: Its rollback batch may be the whole fleet.
ROLLBACK_BATCH_PERCENT = (1, 100)
#: Blue/green: a canary is at most half the fleet; a linear step 10-50 % of it.
CANARY_PERCENT = (1, 50)
LINEAR_PERCENT = (10, 50)
#: 1-10 rollback alarms (botocore: AutoRollbackConfig.Alarms).
MAX_ROLLBACK_ALARMS = 10


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrafficRouting:
    """How blue/green shifts traffic to the new fleet. Use the class methods."""

    type: str
    percent: int | None = None
    instances: int | None = None
    wait: Duration | None = None

    @classmethod
    def all_at_once(cls) -> TrafficRouting:
        """All traffic at once to the new fleet."""
        return cls(type="ALL_AT_ONCE")

    @classmethod
    def canary(
        cls, *, percent: int | None = None, instances: int | None = None, wait: Duration
    ) -> TrafficRouting:
        """A canary of ``percent`` of capacity (or ``instances``), at most half; then the rest."""
        return cls(type="CANARY", percent=percent, instances=instances, wait=wait)

    @classmethod
    def linear(
        cls, *, percent: int | None = None, instances: int | None = None, wait: Duration
    ) -> TrafficRouting:
        """Steps of ``percent`` of capacity (10-50 %), or of ``instances``, every ``wait``."""
        return cls(type="LINEAR", percent=percent, instances=instances, wait=wait)

    def render(self) -> sagemaker.CfnEndpoint.TrafficRoutingConfigProperty:
        """The blue/green policy's ``TrafficRoutingConfiguration``."""
        size = _capacity(self.percent, self.instances)
        return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type=self.type,
            canary_size=size if self.type == "CANARY" else None,
            linear_step_size=size if self.type == "LINEAR" else None,
            wait_interval_in_seconds=_seconds(self.wait),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """Blue/green or rolling deployment with automatic rollback. Use the class methods."""

    kind: str
    traffic_routing: TrafficRouting | None = None
    termination_wait: Duration | None = None
    maximum_execution_timeout: Duration | None = None
    batch_percent: int | None = None
    batch_instances: int | None = None
    wait: Duration | None = None
    rollback_batch_percent: int | None = None
    rollback_batch_instances: int | None = None
    rollback_alarms: Sequence[cloudwatch.IAlarm] = ()

    @classmethod
    def blue_green(
        cls,
        *,
        traffic_routing: TrafficRouting,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        termination_wait: Duration | None = None,
        maximum_execution_timeout: Duration | None = None,
    ) -> DeploymentConfig:
        """A new fleet beside the old; traffic moves per ``traffic_routing``.

        :param rollback_alarms: 0-10 alarms; any in ALARM rolls the update back.
        :param termination_wait: how long the old fleet is kept, at most 3600 s.
        :param maximum_execution_timeout: 600-28800 s.
        """
        return cls(
            kind="blue_green",
            traffic_routing=traffic_routing,
            rollback_alarms=tuple(rollback_alarms),
            termination_wait=termination_wait,
            maximum_execution_timeout=maximum_execution_timeout,
        )

    @classmethod
    def rolling(
        cls,
        *,
        batch_percent: int | None = None,
        batch_instances: int | None = None,
        wait: Duration,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        rollback_batch_percent: int | None = None,
        rollback_batch_instances: int | None = None,
        maximum_execution_timeout: Duration | None = None,
    ) -> DeploymentConfig:
        """Replace instances in batches (not for serverless or multi-variant endpoints)."""
        return cls(
            kind="rolling",
            batch_percent=batch_percent,
            batch_instances=batch_instances,
            wait=wait,
            rollback_alarms=tuple(rollback_alarms),
            rollback_batch_percent=rollback_batch_percent,
            rollback_batch_instances=rollback_batch_instances,
            maximum_execution_timeout=maximum_execution_timeout,
        )

    # --- checks and rendering, when an endpoint binds this config ------------

    def check(
        self,
        scope: IConstruct,
        *,
        instance_counts: list[int],
        serverless: bool,
        prop: str = "deployment",
    ) -> None:
        """Every rule of this config that does not depend on the rollback alarms.

        ``instance_counts``: the initial instance counts of the endpoint's
        production variants (empty for serverless).
        """
        _check_seconds(
            scope,
            f"{prop}.maximum_execution_timeout",
            self.maximum_execution_timeout,
            "MaximumExecutionTimeoutInSeconds",
        )
        fleet = (min(instance_counts), max(instance_counts)) if instance_counts else None
        if self.kind == "rolling":
            if serverless or len(instance_counts) > 1:
                validation.fail(
                    scope,
                    prop,
                    "rolling",
                    "SageMaker refuses rolling updates for serverless and multi-variant endpoints; "
                    "use DeploymentConfig.blue_green",
                )
            _check_capacity(
                scope,
                f"{prop}.batch",
                self.batch_percent,
                self.batch_instances,
                percent=ROLLING_BATCH_PERCENT,
                required=True,
                instances=fleet,
            )
            _check_capacity(
                scope,
                f"{prop}.rollback_batch",
                self.rollback_batch_percent,
                self.rollback_batch_instances,
                percent=ROLLBACK_BATCH_PERCENT,
                required=False,
                instances=fleet,
            )
            _check_seconds(scope, f"{prop}.wait", self.wait, "WaitIntervalInSeconds")
            return
        routing = self.traffic_routing
        validation.check_type(
            scope, f"{prop}.traffic_routing", routing, TrafficRouting, "a TrafficRouting"
        )
        assert routing is not None
        _check_seconds(
            scope, f"{prop}.termination_wait", self.termination_wait, "TerminationWaitInSeconds"
        )
        if routing.type == "ALL_AT_ONCE":
            return
        _check_seconds(scope, f"{prop}.traffic_routing.wait", routing.wait, "WaitIntervalInSeconds")
        _check_capacity(
            scope,
            f"{prop}.traffic_routing ({routing.type})",
            routing.percent,
            routing.instances,
            percent=LINEAR_PERCENT if routing.type == "LINEAR" else CANARY_PERCENT,
            required=True,
            instances=None if serverless else fleet,
        )

    @property
    def guarded(self) -> bool:
        """True for a canary, linear or rolling deployment (not all at once)."""
        return self.kind == "rolling" or (
            self.traffic_routing is not None and self.traffic_routing.type != "ALL_AT_ONCE"
        )

    def alarm_errors(self, scope: IConstruct, count: int, prop: str = "deployment") -> list[str]:
        """What is wrong with ``count`` rollback alarms for this config (nothing: empty)."""
        needs = self.kind == "rolling" or (
            self.traffic_routing is not None and self.traffic_routing.type != "ALL_AT_ONCE"
        )
        what = (
            "rolling update"
            if self.kind == "rolling"
            else (
                f"{self.traffic_routing.type.lower()} deployment"
                if self.traffic_routing
                else "deployment"
            )
        )
        if count > MAX_ROLLBACK_ALARMS:
            return [
                f"{scope.node.path}: {prop}.rollback_alarms='{count} alarms' is invalid: "
                f"give at most {MAX_ROLLBACK_ALARMS}"
            ]
        if needs and count == 0:
            return [
                f"{scope.node.path}: {prop}.rollback_alarms=[] is invalid: a {what} needs "
                f"1-{MAX_ROLLBACK_ALARMS} alarms to roll back on; give rollback_alarms, or "
                "call endpoint.add_rollback_alarms(...) (e.g. with EndpointMonitoring's "
                "rollback_alarms())"
            ]
        return []

    def render(self, rollback: Any) -> sagemaker.CfnEndpoint.DeploymentConfigProperty:
        """The endpoint's ``DeploymentConfig``; ``rollback``: its auto-rollback part or a token."""
        if self.kind == "rolling":
            return sagemaker.CfnEndpoint.DeploymentConfigProperty(
                auto_rollback_configuration=rollback,
                rolling_update_policy=sagemaker.CfnEndpoint.RollingUpdatePolicyProperty(
                    maximum_batch_size=_capacity(self.batch_percent, self.batch_instances),  # type: ignore[arg-type]
                    wait_interval_in_seconds=_seconds(self.wait),  # type: ignore[arg-type]
                    maximum_execution_timeout_in_seconds=_seconds(self.maximum_execution_timeout),
                    rollback_maximum_batch_size=_capacity(
                        self.rollback_batch_percent, self.rollback_batch_instances
                    ),
                ),
            )
        assert self.traffic_routing is not None
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            auto_rollback_configuration=rollback,
            blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=self.traffic_routing.render(),
                termination_wait_in_seconds=_seconds(self.termination_wait),
                maximum_execution_timeout_in_seconds=_seconds(self.maximum_execution_timeout),
            ),
        )


def _seconds(duration: Duration | None) -> int | None:
    return None if duration is None else int(duration.to_seconds())


def _check_seconds(scope: IConstruct, prop: str, duration: Duration | None, shape: str) -> None:
    if duration is None:
        return
    seconds = validation.whole_seconds(scope, prop, duration)
    low, high = validation.service_range(shape)
    if validation.is_token(seconds):
        return
    if (low is not None and seconds < low) or (high is not None and seconds > high):
        shown_high = f"{high:g} s" if high is not None else "no limit"
        validation.fail(scope, prop, f"{seconds:g} s", f"must be {low or 0:g} s to {shown_high}")


def _capacity(
    percent: int | None, instances: int | None
) -> sagemaker.CfnEndpoint.CapacitySizeProperty | None:
    if percent is not None:
        return sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=percent)
    if instances is not None:
        return sagemaker.CfnEndpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=instances)
    return None


def _check_capacity(
    scope: IConstruct,
    prop: str,
    percent_value: int | None,
    instances_value: int | None,
    *,
    percent: tuple[int, int],
    required: bool,
    instances: tuple[int, int] | None,
) -> None:
    """A capacity given in percent or instances, within ``percent`` of every variant's fleet.

    ``instances``: the smallest and largest variant's instance counts (``None``:
    unknown, e.g. serverless). A size in instances must be at most the upper
    share of the smallest fleet and at least the lower share of the largest.
    """
    if percent_value is not None and instances_value is not None:
        validation.fail(
            scope,
            prop,
            {"percent": percent_value, "instances": instances_value},
            "give percent or instances, not both",
        )
    if percent_value is None and instances_value is None:
        if required:
            validation.fail(scope, prop, None, "give percent or instances")
        return
    low, high = percent
    if percent_value is not None:
        validation.check_int(
            scope, f"{prop}.percent", percent_value, low=low, high=high, unit=" % of capacity"
        )
        return
    low_count, _ = validation.service_range("CapacitySizeValue")
    validation.check_int(scope, f"{prop}.instances", instances_value, low=int(low_count or 1))
    if instances is None or validation.is_token(instances_value):
        return
    assert instances_value is not None
    smallest, largest = instances
    for fleet, bound, too in ((smallest, high, "above"), (largest, low, "below")):
        if validation.is_token(fleet):
            continue
        share = 100 * instances_value / fleet
        if (too == "above" and share > bound) or (too == "below" and share < bound):
            which = "smallest" if too == "above" else "largest"
            validation.fail(
                scope,
                f"{prop}.instances",
                instances_value,
                f"{instances_value} of the {which} variant's {fleet} instances is {share:g} %; "
                f"SageMaker takes {low}-{high} % of every variant's instances",
            )
