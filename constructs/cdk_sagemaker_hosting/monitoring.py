"""Alarms, notifications and a dashboard for an endpoint, in one construct."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting import serverless, validation
from cdk_sagemaker_hosting.endpoint import EndpointBase
from constructs import Construct

GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """Thresholds of the per-variant alarms; ``None`` turns an alarm off.

    :param errors_5xx: 5XX responses per minute. Default: 1.
    :param error_rate_4xx_percent: 4XX responses in percent of invocations. Default: 5.
    :param model_latency_p99: p99 model latency. Default: 1 s.
    :param overhead_latency_p99: p99 SageMaker overhead. Default: 100 ms.
    :param cpu_percent_per_core: CPU use per vCPU (CloudWatch sums cores). Default: 80.
    :param memory_percent: Default: 85.
    :param disk_percent: Default: 85.
    :param no_invocations_for: alarm when the variant gets no request for this
        long. Default: off.
    :param evaluation_periods: one-minute periods looked at. Default: 5.
    :param datapoints_to_alarm: of those, how many must breach. Default: 3.
    """

    errors_5xx: float | None = 1
    error_rate_4xx_percent: float | None = 5
    model_latency_p99: Duration | None = dataclasses.field(
        default_factory=lambda: Duration.seconds(1)
    )
    overhead_latency_p99: Duration | None = dataclasses.field(
        default_factory=lambda: Duration.millis(100)
    )
    cpu_percent_per_core: float | None = 80
    memory_percent: float | None = 85
    disk_percent: float | None = 85
    no_invocations_for: Duration | None = None
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3


def vcpus(instance_type: str) -> int | None:
    """vCPUs of a hosting instance size (``large`` 2, ``xlarge`` 4, ``Nxlarge`` 4N)."""
    size = instance_type.rsplit(".", 1)[-1]
    if size == "medium":
        return 1
    if size == "large":
        return 2
    match = re.fullmatch(r"(\d*)xlarge", size)
    if match:
        return 4 * int(match.group(1) or 1)
    return None


class EndpointMonitoring(Construct):
    """The alarms an on-call engineer needs for one endpoint, a composite, a topic, a dashboard.

    Per variant: 5XX errors, 4XX error rate, p99 model and overhead latency,
    CPU / memory / disk utilisation (instance variants), instances pinned at
    the scaling maximum (when ``max_instances`` gives it), optionally no
    invocations. Missing data is handled per alarm: no traffic is not an
    error, but no invocations at all is. Every alarm notifies ``topic`` (by
    default a new KMS-encrypted, TLS-only topic). ``health`` is a composite
    alarm of every variant's errors and latency: use
    :meth:`rollback_alarms` for deployment guardrails and traffic shifts.

    It may be built before its endpoint, from
    ``Endpoint.from_endpoint_name`` and ``variant_names``, so that its alarms
    can guard that endpoint's own deployments.

    Alarms are keyed ``"<variant>/<kind>"`` in :attr:`alarms`; construct IDs
    are ``<variant><kind>`` (a public contract), ``Health``, ``Topic``,
    ``TopicKey``, ``Dashboard``.

    :param endpoint: the endpoint (created here or imported).
    :param variant_names: the variants to watch. Default: the endpoint's.
    :param instance_types: variant -> instance type, for CPU thresholds
        (CloudWatch sums cores). Default: the endpoint's variants' types.
    :param max_instances: variant -> scaling maximum, for the "at max" alarm.
        Default: none.
    :param thresholds: Default: :class:`AlarmThresholds` defaults.
    :param topic: where alarms notify. Default: a new encrypted topic.
    :param dashboard: create a CloudWatch dashboard. Default: ``True``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointBase,
        variant_names: Sequence[str] | None = None,
        instance_types: dict[str, str] | None = None,
        max_instances: dict[str, int] | None = None,
        thresholds: AlarmThresholds | None = None,
        topic: sns.ITopic | None = None,
        dashboard: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        known = list(getattr(endpoint, "variants", []))
        names = list(variant_names or [v.variant_name for v in known])
        if not names:
            validation.fail(
                self, "variant_names", names, "name the variants of an imported endpoint"
            )
        types = {
            **{v.variant_name: getattr(v, "instance_type", None) for v in known},
            **(instance_types or {}),
        }
        self.endpoint = endpoint
        self.thresholds = thresholds or AlarmThresholds()
        validation.check_range(
            self,
            "thresholds.evaluation_periods",
            self.thresholds.evaluation_periods,
            low=1,
            high=60,
        )
        validation.check_range(
            self,
            "thresholds.datapoints_to_alarm",
            self.thresholds.datapoints_to_alarm,
            low=1,
            high=self.thresholds.evaluation_periods,
        )
        self.topic = topic or self._topic()
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for name in names:
            self._variant_alarms(name, types.get(name), (max_instances or {}).get(name))
        critical = [
            a
            for key, a in self.alarms.items()
            if key.split("/")[1] in ("Errors5xx", "ModelLatency")
        ]
        self.health = cloudwatch.CompositeAlarm(
            self,
            "Health",
            alarm_rule=cloudwatch.AlarmRule.any_of(*critical),
            alarm_description=f"Any variant of {endpoint.endpoint_name} failing or slow",
        )
        self.health.add_alarm_action(self._action)
        self._max_instances = dict(max_instances or {})
        self.dashboard = self._dashboard(names) if dashboard else None

    def rollback_alarms(self, variant_name: str | None = None) -> list[cloudwatch.IAlarm]:
        """5XX and latency alarms (of one variant, or all): what should stop a rollout."""
        return [
            alarm
            for key, alarm in self.alarms.items()
            if key.split("/")[1] in ("Errors5xx", "ModelLatency")
            and (variant_name is None or key.split("/")[0] == variant_name)
        ]

    def _topic(self) -> sns.Topic:
        key = serverless.encryption_key(
            self,
            "TopicKey",
            f"Encrypts alarm notifications of {self.endpoint.endpoint_name}",
        )
        return serverless.encrypted_topic(self, "Topic", key)

    def _alarm(
        self,
        variant: str,
        kind: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        description: str,
        operator: cloudwatch.ComparisonOperator = GTE,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        periods: int | None = None,
        datapoints: int | None = None,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            f"{variant}{kind}",
            metric=metric,
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=periods or self.thresholds.evaluation_periods,
            datapoints_to_alarm=datapoints or self.thresholds.datapoints_to_alarm,
            treat_missing_data=missing,
            alarm_description=f"{description} (variant {variant} of {self.endpoint.endpoint_name})",
        )
        alarm.add_alarm_action(self._action)
        self.alarms[f"{variant}/{kind}"] = alarm

    def _variant_alarms(
        self, variant: str, instance_type: str | None, max_instances: int | None
    ) -> None:
        t, e = self.thresholds, self.endpoint
        if t.errors_5xx is not None:
            self._alarm(
                variant,
                "Errors5xx",
                e.metric_invocation_5xx_errors(variant),
                t.errors_5xx,
                description="Model answered 5XX",
            )
        if t.error_rate_4xx_percent is not None:
            rate = cloudwatch.MathExpression(
                expression="100 * errors / MAX([errors, invocations])",
                using_metrics={
                    "errors": e.metric_invocation_4xx_errors(variant),
                    "invocations": e.metric_invocations(variant),
                },
                label="4XX rate (%)",
                period=Duration.minutes(1),
            )
            self._alarm(
                variant,
                "ErrorRate4xx",
                rate,
                t.error_rate_4xx_percent,
                description="Share of requests answered 4XX, in percent",
            )
        for kind, metric, limit in (
            ("ModelLatency", e.metric_model_latency(variant), t.model_latency_p99),
            ("OverheadLatency", e.metric_overhead_latency(variant), t.overhead_latency_p99),
        ):
            if limit is not None:
                micros = limit.to_milliseconds() * 1000
                self._alarm(
                    variant,
                    kind,
                    metric,
                    micros,
                    operator=GT,
                    description=f"p99 {kind} above {limit.to_milliseconds()} ms",
                )
        if instance_type is None:
            return  # serverless or unknown: no instance metrics
        cores = vcpus(instance_type)
        # Instances that stop reporting are neither healthy nor failing: ignore.
        ignore = cloudwatch.TreatMissingData.IGNORE
        if t.cpu_percent_per_core is not None and cores:
            self._alarm(
                variant,
                "Cpu",
                e.metric_cpu_utilization(variant),
                t.cpu_percent_per_core * cores,
                missing=ignore,
                operator=GT,
                description=f"CPU above {t.cpu_percent_per_core} % of {cores} vCPUs",
            )
        for resource, used, percent in (
            ("Memory", e.metric_memory_utilization(variant), t.memory_percent),
            ("Disk", e.metric_disk_utilization(variant), t.disk_percent),
        ):
            if percent is not None:
                self._alarm(
                    variant,
                    resource,
                    used,
                    percent,
                    missing=ignore,
                    operator=GT,
                    description=f"{resource} use above {percent} %",
                )
        if max_instances is not None:
            self._alarm(
                variant,
                "AtMaxInstances",
                self._instance_count(variant),
                max_instances,
                periods=15,
                datapoints=15,
                description=f"Pinned at the scaling maximum of {max_instances} instances",
            )
        if t.no_invocations_for is not None:
            minutes = max(1, int(t.no_invocations_for.to_minutes()))
            self._alarm(
                variant,
                "NoInvocations",
                e.metric_invocations(variant),
                1,
                operator=LT,
                missing=cloudwatch.TreatMissingData.BREACHING,
                periods=minutes,
                datapoints=minutes,
                description=f"No request for {minutes} minutes",
            )

    def _instance_count(self, variant: str) -> cloudwatch.MathExpression:
        """Instances serving, as SageMaker publishes no count: invocations / per instance."""
        return cloudwatch.MathExpression(
            expression="invocations / MAX([per_instance, 1])",
            using_metrics={
                "invocations": self.endpoint.metric_invocations(variant),
                "per_instance": self.endpoint.metric(
                    "InvocationsPerInstance", variant_name=variant
                ),
            },
            label="Instances (estimated)",
            period=Duration.minutes(1),
        )

    def _dashboard(self, variants: Sequence[str]) -> cloudwatch.Dashboard:
        e = self.endpoint
        board = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        board.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title=f"{e.endpoint_name}: alarms",
                alarms=[self.health, *self.alarms.values()],
                width=24,
            )
        )
        for variant in variants:
            board.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{variant}: invocations and errors",
                    left=[e.metric_invocations(variant)],
                    right=[
                        e.metric_invocation_4xx_errors(variant),
                        e.metric_invocation_5xx_errors(variant),
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{variant}: latency p99 (µs)",
                    left=[e.metric_model_latency(variant), e.metric_overhead_latency(variant)],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{variant}: utilisation (%)",
                    left=[
                        e.metric_cpu_utilization(variant),
                        e.metric_memory_utilization(variant),
                        e.metric_disk_utilization(variant),
                    ],
                    right=[self._instance_count(variant)],
                    right_annotations=[
                        cloudwatch.HorizontalAnnotation(
                            value=self._max_instances[variant], label="scaling maximum"
                        )
                    ]
                    if variant in self._max_instances
                    else None,
                    width=8,
                ),
            )
        return board
