"""Alarms, notifications and a dashboard for an endpoint, in one construct."""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting import encryption, validation
from cdk_sagemaker_hosting.endpoint import EndpointBase
from constructs import Construct, IConstruct

GTE = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD

#: Every alarm looks at one-minute periods; CloudWatch evaluates at most one day of them.
PERIOD = Duration.minutes(1)
MAX_EVALUATION_PERIODS = 24 * 60
#: The "at the scaling maximum" alarm looks at this many minutes, all breaching.
AT_MAX_MINUTES = 15

DEFAULT_CPU_PERCENT_PER_CORE = 80
DEFAULT_MEMORY_PERCENT = 85
DEFAULT_DISK_PERCENT = 85

#: The alarm kinds that stop a rollout and make up ``health``.
ROLLBACK_KINDS = ("Errors5xx", "ModelLatency")

#: Warning ID: default instance alarms skipped for variants whose instance type is unknown.
SKIPPED_WARNING = "cdk-sagemaker-hosting:InstanceAlarmsSkipped"
#: The warning EndpointMonitoring gives a gpu_percent it cannot use.
GPU_THRESHOLD_WARNING = "cdk-sagemaker-hosting:GpuThresholdUnused"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """Thresholds of the per-variant alarms; ``None`` turns an alarm off.

    Checked when an :class:`EndpointMonitoring` takes them (:meth:`check`).

    :param errors_5xx: 5XX responses per minute, above 0. Default: 1.
    :param error_rate_4xx_percent: 4XX responses in percent of invocations,
        above 0 and at most 100. Default: 5.
    :param model_latency_p99: p99 model latency. Default: 1 s.
    :param overhead_latency_p99: p99 SageMaker overhead. Default: 100 ms.
    :param cpu_percent_per_core: CPU use per vCPU (CloudWatch sums cores),
        above 0 and at most 100. Needs the variant's instance type. Default: 80.
    :param memory_percent: Needs the variant's instance type. Default: 85.
    :param disk_percent: Needs the variant's instance type. Default: 85.
    :param gpu_percent: GPU use in percent of the accelerators an inference
        component's copies reserved, above 0 and at most 100; used by
        :class:`ComponentMonitoring` for components that reserve
        accelerators. Default: 80.
    :param no_invocations_for: alarm when the variant gets no request for this
        long, in whole minutes (1 minute to 1 day); applies to serverless
        variants too. Default: off.
    :param evaluation_periods: one-minute periods looked at, a whole number
        of 1-1440 (CloudWatch evaluates at most a day). Default: 5.
    :param datapoints_to_alarm: of those, how many must breach: a whole
        number of 1-``evaluation_periods``. Default: 3.
    """

    errors_5xx: float | None = 1
    error_rate_4xx_percent: float | None = 5
    model_latency_p99: Duration | None = dataclasses.field(
        default_factory=lambda: Duration.seconds(1)
    )
    overhead_latency_p99: Duration | None = dataclasses.field(
        default_factory=lambda: Duration.millis(100)
    )
    cpu_percent_per_core: float | None = DEFAULT_CPU_PERCENT_PER_CORE
    memory_percent: float | None = DEFAULT_MEMORY_PERCENT
    disk_percent: float | None = DEFAULT_DISK_PERCENT
    gpu_percent: float | None = 80
    no_invocations_for: Duration | None = None
    evaluation_periods: int = 5
    datapoints_to_alarm: int = 3

    def check(self, scope: IConstruct, prop: str = "thresholds") -> None:
        """Check every threshold; errors name ``<prop>.<field>``."""
        _check_positive(scope, f"{prop}.errors_5xx", self.errors_5xx)
        for field, value in (
            ("error_rate_4xx_percent", self.error_rate_4xx_percent),
            ("cpu_percent_per_core", self.cpu_percent_per_core),
            ("memory_percent", self.memory_percent),
            ("disk_percent", self.disk_percent),
            ("gpu_percent", self.gpu_percent),
        ):
            _check_positive(scope, f"{prop}.{field}", value, high=100, unit=" %")
        for field, duration in (
            ("model_latency_p99", self.model_latency_p99),
            ("overhead_latency_p99", self.overhead_latency_p99),
        ):
            validation.check_optional_type(
                scope, f"{prop}.{field}", duration, Duration, "a Duration"
            )
            if duration is not None and not validation.is_token(duration.to_milliseconds()):
                _check_positive(scope, f"{prop}.{field}", duration.to_milliseconds(), unit=" ms")
        if self.no_invocations_for is not None:
            validation.check_type(
                scope,
                f"{prop}.no_invocations_for",
                self.no_invocations_for,
                Duration,
                "a Duration",
            )
            seconds = self.no_invocations_for.to_seconds(integral=False)
            if seconds % 60 or not 1 <= seconds // 60 <= MAX_EVALUATION_PERIODS:
                validation.fail(
                    scope,
                    f"{prop}.no_invocations_for",
                    self.no_invocations_for.to_human_string(),
                    f"must be whole minutes, from 1 to {MAX_EVALUATION_PERIODS} (one day: "
                    "CloudWatch evaluates at most a day of one-minute periods)",
                )
        validation.check_int(
            scope,
            f"{prop}.evaluation_periods",
            self.evaluation_periods,
            low=1,
            high=MAX_EVALUATION_PERIODS,
        )
        validation.check_int(
            scope,
            f"{prop}.datapoints_to_alarm",
            self.datapoints_to_alarm,
            low=1,
            high=self.evaluation_periods,
        )
        if self.errors_5xx is None and self.model_latency_p99 is None:
            validation.fail(
                scope,
                f"{prop}.errors_5xx/model_latency_p99",
                (None, None),
                "keep at least one: the health alarm and the rollback alarms are made of them",
            )

    @property
    def instance_thresholds(self) -> tuple[tuple[str, str, float | None, float], ...]:
        """``(kind, field, value, default)`` of the alarms that need a variant's instances."""
        return (
            (
                "Cpu",
                "cpu_percent_per_core",
                self.cpu_percent_per_core,
                DEFAULT_CPU_PERCENT_PER_CORE,
            ),
            ("Memory", "memory_percent", self.memory_percent, DEFAULT_MEMORY_PERCENT),
            ("Disk", "disk_percent", self.disk_percent, DEFAULT_DISK_PERCENT),
        )


def _check_positive(
    scope: IConstruct, prop: str, value: object, *, high: float | None = None, unit: str = ""
) -> None:
    """``None`` (off), a token, or a number above 0 (and at most ``high``)."""
    if value is None or validation.is_token(value):
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or value <= 0
        or (high is not None and value > high)
    ):
        bounds = f"above 0 and at most {high}{unit}" if high is not None else f"above 0{unit}"
        validation.fail(scope, prop, value, f"must be a number {bounds}, or None to turn it off")


def vcpus(instance_type: str) -> int | None:
    """vCPUs of a hosting instance size.

    ``medium`` 1 (Graviton) or 2 (``ml.t2``), ``large`` 2, ``xlarge`` 4,
    ``Nxlarge`` 4N; ``None`` for a size this rule does not know.
    """
    family, _, size = instance_type.rpartition(".")
    if size == "medium":
        return 2 if re.fullmatch(r"(ml\.)?t\d+[a-z]*", family) else 1
    if size == "large":
        return 2
    match = re.fullmatch(r"(\d*)xlarge", size)
    if match:
        return 4 * int(match.group(1) or 1)
    return None


class UnknownAlarmError(KeyError):
    """A key naming no alarm of :attr:`EndpointMonitoring.alarms`; the message lists the keys."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AlarmMap(Mapping[str, cloudwatch.Alarm]):
    """The alarms of an :class:`EndpointMonitoring`, keyed ``"<variant>/<kind>"``, read-only.

    A wrong key raises :class:`UnknownAlarmError` (a ``KeyError``) naming the
    valid keys, and why an alarm of that key was not made when it was skipped.
    """

    def __init__(
        self, owner: str, alarms: dict[str, cloudwatch.Alarm], skipped: dict[str, str]
    ) -> None:
        self._owner = owner
        self._alarms = alarms
        self._skipped = skipped

    def __getitem__(self, key: str) -> cloudwatch.Alarm:
        try:
            return self._alarms[key]
        except (KeyError, TypeError):
            why = self._skipped.get(key) if isinstance(key, str) else None
            reason = f"it was not made: {why}. " if why else ""
            raise UnknownAlarmError(
                f"{self._owner}: no alarm {key!r}; {reason}Alarms are keyed "
                f"'<variant>/<kind>': {', '.join(sorted(self._alarms))}"
            ) from None

    def __contains__(self, key: object) -> bool:
        return key in self._alarms

    def __iter__(self) -> Iterator[str]:
        return iter(self._alarms)

    def __len__(self) -> int:
        return len(self._alarms)

    def __repr__(self) -> str:
        return f"AlarmMap({sorted(self._alarms)})"


@dataclasses.dataclass(frozen=True)
class _Watched:
    """A variant as monitoring sees it: its name, instance type and kind."""

    name: str
    instance_type: str | None
    serverless: bool


class EndpointMonitoring(Construct):
    """The alarms an on-call engineer needs for one endpoint, a composite, a topic, a dashboard.

    Build the endpoint first, then its monitoring, then let the monitoring
    guard the endpoint's deployments (the rollback alarms are rendered when
    the template is written, so there is no circular dependency)::

        endpoint = Endpoint(self, "Endpoint", ..., deployment=DeploymentConfig.blue_green(...))
        monitoring = EndpointMonitoring(self, "Monitoring", endpoint=endpoint)
        endpoint.add_rollback_alarms(*monitoring.rollback_alarms())

    For an endpoint made elsewhere, import it with what monitoring needs::

        Endpoint.from_endpoint_attributes(
            self, "Fraud", endpoint_name="fraud",
            variants=[VariantAttributes(variant_name="Blue", instance_type="ml.c5.xlarge")],
        )

    Per variant (production and shadow): 5XX errors, 4XX error rate, p99
    model and overhead latency, CPU / memory / disk utilisation (instance
    variants of known instance type), instances pinned at the scaling
    maximum (when ``max_instances`` gives it), no invocations (when
    ``thresholds.no_invocations_for`` gives it; serverless variants too).
    Missing data is handled per alarm: no traffic is not an error, but no
    invocations at all is. Every alarm notifies ``topic`` (by default a new
    KMS-encrypted, TLS-only topic). ``health`` is a composite alarm of every
    variant's errors and latency: use :meth:`rollback_alarms` for deployment
    guardrails and traffic shifts.

    No option is dropped silently: what was asked for explicitly and cannot
    apply (``max_instances`` for a serverless variant or one of unknown
    instance type; a key of ``variant_names``, ``instance_types`` or
    ``max_instances`` that names no variant; a non-default CPU, memory or
    disk threshold for a variant of unknown instance type) is a
    ``ValidationError``. Default CPU, memory and disk alarms for variants of
    unknown instance type are skipped with the warning
    ``cdk-sagemaker-hosting:InstanceAlarmsSkipped``, naming them; serverless
    variants have no instance metrics, so have no such alarms (a non-default
    threshold for them on an all-serverless endpoint is refused).

    To build on the alarms' metrics: :meth:`metric_error_rate_4xx` and
    :meth:`metric_instance_count` (derived, with a ``period``), and the
    endpoint's own ``metric_*`` methods (``period``, ``statistic``).
    SageMaker takes at most 10 rollback alarms per endpoint: for more than
    five variants, pass ``rollback_alarms(variant_name)`` of those that matter.

    Alarms are keyed ``"<variant>/<kind>"`` in :attr:`alarms` (kinds:
    ``Errors5xx``, ``ErrorRate4xx``, ``ModelLatency``, ``OverheadLatency``,
    ``Cpu``, ``Memory``, ``Disk``, ``AtMaxInstances``, ``NoInvocations``);
    construct IDs are ``<variant><kind>`` (a public contract), ``Health``,
    ``Topic``, ``TopicKey``, ``Dashboard``.

    :param endpoint: the endpoint: an :class:`Endpoint`, or one imported with
        ``Endpoint.from_endpoint_attributes``.
    :param variant_names: the variants to watch. Default: the endpoint's
        (production and shadow); required when the endpoint knows none.
    :param instance_types: variant -> instance type, for the CPU, memory and
        disk alarms (CPU thresholds scale with vCPUs). Default: the types in
        the endpoint's variant attributes.
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
        instance_types: Mapping[str, str] | None = None,
        max_instances: Mapping[str, int] | None = None,
        thresholds: AlarmThresholds | None = None,
        topic: sns.ITopic | None = None,
        dashboard: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_type(
            self,
            "endpoint",
            endpoint,
            EndpointBase,
            "an Endpoint, or an endpoint imported with Endpoint.from_endpoint_attributes",
        )
        validation.check_optional_type(
            self, "thresholds", thresholds, AlarmThresholds, "an AlarmThresholds"
        )
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        validation.check_type(self, "dashboard", dashboard, bool, "a bool")
        for prop, mapping in (("instance_types", instance_types), ("max_instances", max_instances)):
            validation.check_optional_type(self, prop, mapping, Mapping, "a dict keyed by variant")
        self.endpoint = endpoint
        self.thresholds = thresholds or AlarmThresholds()
        self.thresholds.check(self, "thresholds")
        if self.thresholds.gpu_percent != AlarmThresholds.gpu_percent:
            # Never lose an option silently: only ComponentMonitoring reads it.
            Annotations.of(self).add_warning_v2(
                GPU_THRESHOLD_WARNING,
                f"thresholds.gpu_percent={self.thresholds.gpu_percent!r} has no effect here: "
                "EndpointMonitoring makes no GPU alarm (SageMaker publishes GPU use per "
                "inference component); use ComponentMonitoring for components, or leave "
                "gpu_percent at its default.",
            )

        watched = self._watched(variant_names, dict(instance_types or {}))
        maxima = self._check_max_instances(watched, dict(max_instances or {}))
        self._check_instance_thresholds(watched)
        #: The variants watched, in order.
        self.variant_names: tuple[str, ...] = tuple(v.name for v in watched)
        #: Variant -> instance type the alarms use (``None``: serverless or unknown).
        self.instance_types: Mapping[str, str | None] = types.MappingProxyType(
            {v.name: v.instance_type for v in watched}
        )
        #: Variant -> scaling maximum of the "at max" alarm.
        self.max_instances: Mapping[str, int] = types.MappingProxyType(maxima)

        self.topic = topic or self._topic()
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self._alarms: dict[str, cloudwatch.Alarm] = {}
        self._skipped: dict[str, str] = {}
        #: The alarms, keyed ``"<variant>/<kind>"`` (read-only; a wrong key names the valid ones).
        self.alarms: Mapping[str, cloudwatch.Alarm] = AlarmMap(
            self.node.path, self._alarms, self._skipped
        )
        unknown: list[str] = []
        for variant in watched:
            unknown += self._variant_alarms(variant, maxima.get(variant.name))
        if unknown:
            self._warn_skipped(unknown)
        self.health = cloudwatch.CompositeAlarm(
            self,
            "Health",
            # The production variants' (a shadow's only when nothing else is watched).
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(
                    self.rollback_alarms()
                    or [a for k, a in self._alarms.items() if k.split("/")[1] in ROLLBACK_KINDS]
                )
            ),
            alarm_description=f"Any production variant of {endpoint.endpoint_name} failing or slow",
        )
        self.health.add_alarm_action(self._action)
        self.dashboard = self._dashboard(watched) if dashboard else None

    # --- the variants watched -------------------------------------------------

    def _watched(
        self, variant_names: Sequence[str] | None, instance_types: dict[str, str]
    ) -> list[_Watched]:
        known = {v.variant_name: v for v in self.endpoint.variant_attributes}
        if variant_names is None:
            names = list(known)
            if not names:
                validation.fail(
                    self,
                    "variant_names",
                    None,
                    f"endpoint {self.endpoint.endpoint_name} knows no variants (imported by name "
                    "or ARN); give variant_names, or import it with "
                    "Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes(...)])",
                )
        else:
            if isinstance(variant_names, str) or not isinstance(variant_names, Sequence):
                validation.fail(
                    self,
                    "variant_names",
                    variant_names,
                    f"must be a list of variant names, not {type(variant_names).__name__}",
                )
            names = list(variant_names)
            if not names:
                validation.fail(self, "variant_names", names, "name at least one variant")
            for i, name in enumerate(names):
                validation.check_type(self, f"variant_names[{i}]", name, str, "a variant name")
                validation.check_sagemaker_name(self, f"variant_names[{i}]", name)
                if known and name not in known:
                    validation.fail(
                        self,
                        f"variant_names[{i}]",
                        name,
                        f"not a variant of endpoint {self.endpoint.endpoint_name}; "
                        f"its variants: {', '.join(known)}",
                    )
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                validation.fail(self, "variant_names", duplicates, "name each variant once")
        for name, instance_type in instance_types.items():
            prop = f"instance_types[{name!r}]"
            self._check_key("instance_types", name, instance_type, names)
            attributes = known.get(name)
            if attributes is not None and attributes.serverless:
                validation.fail(
                    self,
                    prop,
                    instance_type,
                    f"variant {name} is serverless: it runs on no instance type",
                )
            validation.check_type(self, prop, instance_type, str, "an instance type")
            validation.check_instance_type(self, prop, instance_type)
        watched = []
        for name in names:
            attributes = known.get(name)
            watched.append(
                _Watched(
                    name=name,
                    instance_type=instance_types.get(
                        name, attributes.instance_type if attributes else None
                    ),
                    serverless=bool(attributes and attributes.serverless),
                )
            )
        return watched

    def _check_key(self, prop: str, name: Any, value: Any, names: Sequence[str]) -> None:
        """A key of a dict keyed by variant names a watched variant."""
        if name not in names:
            endpoint = self.endpoint.endpoint_name
            validation.fail(
                self,
                prop,
                {name: value},
                f"{name!r} names no variant watched here (variants of {endpoint} watched: "
                f"{', '.join(names)})",
            )

    def _check_max_instances(
        self, watched: Sequence[_Watched], max_instances: dict[str, int]
    ) -> dict[str, int]:
        by_name = {v.name: v for v in watched}
        for name, maximum in max_instances.items():
            prop = f"max_instances[{name!r}]"
            self._check_key("max_instances", name, maximum, list(by_name))
            validation.check_int(self, prop, maximum, low=1)
            variant = by_name[name]
            if variant.serverless:
                validation.fail(
                    self,
                    prop,
                    maximum,
                    f"variant {name} is serverless: it has no instances to count (its "
                    "provisioned concurrency is bounded by its max_concurrency)",
                )
            if variant.instance_type is None:
                validation.fail(
                    self,
                    prop,
                    maximum,
                    f"the instance type of variant {name} is unknown, so it may be serverless "
                    f"and have no instances to count; {_how_to_give_types([name])}",
                )
        return dict(max_instances)

    def _check_instance_thresholds(self, watched: Sequence[_Watched]) -> None:
        """A CPU, memory or disk threshold set on purpose applies to every variant on instances."""
        unknown = [v.name for v in watched if v.instance_type is None and not v.serverless]
        all_serverless = all(v.serverless for v in watched)
        for kind, field, value, default in self.thresholds.instance_thresholds:
            if value is None or value == default:
                continue
            if all_serverless:
                validation.fail(
                    self,
                    f"thresholds.{field}",
                    value,
                    "serverless variants publish no CPU, memory or disk metrics, so no "
                    f"{kind} alarm can apply; leave it at its default or None",
                )
            if unknown:
                validation.fail(
                    self,
                    f"thresholds.{field}",
                    value,
                    f"no {kind} alarm can apply to variant(s) {', '.join(unknown)}, whose "
                    f"instance type is unknown; {_how_to_give_types(unknown)}",
                )

    def _warn_skipped(self, keys: Sequence[str]) -> None:
        variants = list(dict.fromkeys(k.split("/")[0] for k in keys))
        fields = [
            f
            for kind, f, value, _ in self.thresholds.instance_thresholds
            if value is not None and any(k.endswith(f"/{kind}") for k in keys)
        ]
        Annotations.of(self).add_warning_v2(
            SKIPPED_WARNING,
            f"alarms {', '.join(keys)} were skipped: the instance type of variant(s) "
            f"{', '.join(variants)} of endpoint {self.endpoint.endpoint_name} is unknown. "
            f"To have them, {_how_to_give_types(variants)}; to go without them, set "
            f"thresholds {', '.join(fields)} to None.",
        )

    # --- alarms -----------------------------------------------------------------

    def rollback_alarms(self, variant_name: str | None = None) -> list[cloudwatch.IAlarm]:
        """5XX and latency alarms (of one variant, or of the production variants): what should
        stop a rollout.

        A shadow variant's responses are discarded, so its alarms are not among
        the production variants' (they still notify the topic); ask for them by
        its name. Give them to the endpoint's deployments with
        ``endpoint.add_rollback_alarms(*monitoring.rollback_alarms())``, or to a
        :class:`TrafficShift`.
        """
        if variant_name is not None and variant_name not in self.variant_names:
            validation.fail(
                self,
                "rollback_alarms",
                variant_name,
                f"not a variant watched here ({', '.join(self.variant_names)})",
            )
        shadow = self.endpoint.shadow_variant_name
        return [
            alarm
            for key, alarm in self._alarms.items()
            if key.split("/")[1] in ROLLBACK_KINDS
            and (
                key.split("/")[0] == variant_name
                if variant_name is not None
                else key.split("/")[0] != shadow
            )
        ]

    def metric_error_rate_4xx(
        self, variant_name: str, *, period: Duration = PERIOD, **options: Any
    ) -> cloudwatch.MathExpression:
        """4XX responses in percent of invocations (of sums over ``period``), as alarmed on.

        ``options``: ``label``, ``color`` and the other ``MathExpressionOptions``.
        """
        e = self.endpoint
        options.setdefault("label", "4XX rate (%)")
        return cloudwatch.MathExpression(
            expression="100 * errors / MAX([errors, invocations])",
            using_metrics={
                "errors": e.metric_invocation_4xx_errors(variant_name, period=period),
                "invocations": e.metric_invocations(variant_name, period=period),
            },
            period=period,
            **options,
        )

    def metric_instance_count(
        self, variant_name: str, *, period: Duration = PERIOD, **options: Any
    ) -> cloudwatch.MathExpression:
        """Instances serving, estimated as invocations / invocations per instance.

        SageMaker publishes no instance count. The estimate needs traffic: with
        none, it has no data. ``options``: ``label``, ``color``...
        """
        e = self.endpoint
        options.setdefault("label", "Instances (estimated)")
        return cloudwatch.MathExpression(
            expression="invocations / MAX([per_instance, 1])",
            using_metrics={
                "invocations": e.metric_invocations(variant_name, period=period),
                "per_instance": e.metric(
                    "InvocationsPerInstance", variant_name=variant_name, period=period
                ),
            },
            period=period,
            **options,
        )

    def _topic(self) -> sns.Topic:
        key = encryption.encryption_key(
            self,
            "TopicKey",
            f"Encrypts alarm notifications of {self.endpoint.endpoint_name}",
        )
        return encryption.encrypted_topic(self, "Topic", key)

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
        self._alarms[f"{variant}/{kind}"] = alarm

    def _variant_alarms(self, variant: _Watched, max_instances: int | None) -> list[str]:
        """Make the variant's alarms; return the keys of those skipped for want of its type."""
        t, e, name = self.thresholds, self.endpoint, variant.name
        if t.errors_5xx is not None:
            self._alarm(
                name,
                "Errors5xx",
                e.metric_invocation_5xx_errors(name),
                t.errors_5xx,
                description="Model answered 5XX",
            )
        if t.error_rate_4xx_percent is not None:
            self._alarm(
                name,
                "ErrorRate4xx",
                self.metric_error_rate_4xx(name),
                t.error_rate_4xx_percent,
                description="Share of requests answered 4XX, in percent",
            )
        for kind, metric, limit in (
            ("ModelLatency", e.metric_model_latency(name), t.model_latency_p99),
            ("OverheadLatency", e.metric_overhead_latency(name), t.overhead_latency_p99),
        ):
            if limit is not None:
                self._alarm(
                    name,
                    kind,
                    metric,
                    limit.to_milliseconds() * 1000,  # CloudWatch has them in microseconds
                    operator=GT,
                    description=f"p99 {kind} above {limit.to_milliseconds()} ms",
                )
        skipped = self._instance_alarms(variant)
        if max_instances is not None:
            self._alarm(
                name,
                "AtMaxInstances",
                self.metric_instance_count(name),
                max_instances,
                periods=AT_MAX_MINUTES,
                datapoints=AT_MAX_MINUTES,
                description=f"Pinned at the scaling maximum of {max_instances} instances",
            )
        if t.no_invocations_for is not None:
            minutes = int(t.no_invocations_for.to_seconds(integral=False)) // 60
            self._alarm(
                name,
                "NoInvocations",
                e.metric_invocations(name),
                1,
                operator=LT,
                missing=cloudwatch.TreatMissingData.BREACHING,
                periods=minutes,
                datapoints=minutes,
                description=f"No request for {minutes} minutes",
            )
        return skipped

    def _instance_alarms(self, variant: _Watched) -> list[str]:
        t, e, name = self.thresholds, self.endpoint, variant.name
        for kind, field, value, _ in t.instance_thresholds:
            if value is None:
                self._skipped[f"{name}/{kind}"] = f"thresholds.{field} is None"
        wanted = [kind for kind, _, value, _ in t.instance_thresholds if value is not None]
        if variant.serverless:
            for kind in wanted:
                self._skipped[f"{name}/{kind}"] = (
                    f"variant {name} is serverless: it publishes no instance metrics"
                )
            return []
        cores = vcpus(variant.instance_type) if variant.instance_type else None
        unknown = [
            kind
            for kind in wanted
            if variant.instance_type is None or (kind == "Cpu" and cores is None)
        ]
        for kind in unknown:
            self._skipped[f"{name}/{kind}"] = f"the instance type of variant {name} is unknown"
        # Instances that stop reporting are neither healthy nor failing: ignore.
        ignore = cloudwatch.TreatMissingData.IGNORE
        if t.cpu_percent_per_core is not None and cores:
            self._alarm(
                name,
                "Cpu",
                e.metric_cpu_utilization(name),
                t.cpu_percent_per_core * cores,
                missing=ignore,
                operator=GT,
                description=f"CPU above {t.cpu_percent_per_core} % of {cores} vCPUs",
            )
        if variant.instance_type is not None:
            for resource, used, percent in (
                ("Memory", e.metric_memory_utilization(name), t.memory_percent),
                ("Disk", e.metric_disk_utilization(name), t.disk_percent),
            ):
                if percent is not None:
                    self._alarm(
                        name,
                        resource,
                        used,
                        percent,
                        missing=ignore,
                        operator=GT,
                        description=f"{resource} use above {percent} %",
                    )
        return [f"{name}/{kind}" for kind in unknown]

    def _dashboard(self, variants: Sequence[_Watched]) -> cloudwatch.Dashboard:
        e = self.endpoint
        board = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        board.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title=f"{e.endpoint_name}: alarms",
                alarms=[self.health, *self._alarms.values()],
                width=24,
            )
        )
        for variant in variants:
            name = variant.name
            maximum = self.max_instances.get(name)
            board.add_widgets(
                cloudwatch.GraphWidget(
                    title=f"{name}: invocations and errors",
                    left=[e.metric_invocations(name)],
                    right=[
                        e.metric_invocation_4xx_errors(name),
                        e.metric_invocation_5xx_errors(name),
                    ],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: latency p99 (µs)",
                    left=[e.metric_model_latency(name), e.metric_overhead_latency(name)],
                    width=8,
                ),
                cloudwatch.GraphWidget(
                    title=f"{name}: utilisation (%)",
                    left=[
                        e.metric_cpu_utilization(name),
                        e.metric_memory_utilization(name),
                        e.metric_disk_utilization(name),
                    ],
                    right=[self.metric_instance_count(name)],
                    right_annotations=[
                        cloudwatch.HorizontalAnnotation(value=maximum, label="scaling maximum")
                    ]
                    if maximum is not None
                    else None,
                    width=8,
                ),
            )
        return board


def _how_to_give_types(variants: Sequence[str]) -> str:
    example = ", ".join(f"{v!r}: 'ml.<type>'" for v in variants)
    first = variants[0]
    return (
        f"give instance_types={{{example}}}, or import the endpoint with "
        f"Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes("
        f"variant_name={first!r}, instance_type='ml.<type>'), ...])"
    )
