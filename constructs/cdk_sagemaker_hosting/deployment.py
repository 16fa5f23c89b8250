"""Deployment guardrails: how an endpoint moves to a new config, and when it rolls back."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch


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
