"""Application Auto Scaling of one variant of an endpoint, and the rules its bounds follow."""

from __future__ import annotations

import functools
import re
import weakref
import zoneinfo
from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, Stack, TimeZone
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.endpoint import Endpoint, EndpointBase
from cdk_sagemaker_hosting.variants import VariantAttributes
from constructs import Construct, IConstruct, IValidation

#: Async endpoints publish their queue in this namespace, per endpoint.
ASYNC_NAMESPACE = "AWS/SageMaker"
#: Burstable instance types: the ``t`` family followed by its generation (ml.t2, ml.t3, ml.t4g).
#: Not ``ml.trn1``/``ml.trn2`` (Trainium), which also start with ``ml.t``.
BURSTABLE_PATTERN = re.compile(r"^ml\.t\d+[a-z]*\.")
#: Provisioned concurrency of a target tracking policy: SageMaker's documented range.
PROVISIONED_UTILIZATION_RANGE = (0.1, 0.9)

#: Variants given a scalable target, per app: ``root -> {key: VariantScaling}``.
_SCALED: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], VariantScaling]] = (
    weakref.WeakKeyDictionary()
)


def is_burstable(instance_type: str) -> bool:
    """True for burstable instance types (``ml.t2.*``...), which SageMaker does not auto scale."""
    return bool(BURSTABLE_PATTERN.match(instance_type))


def check_target_value(scope: IConstruct, prop: str, value: object) -> None:
    """The target of a tracking policy: a positive number (tokens pass)."""
    if validation.is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        validation.fail(scope, prop, value, "must be a positive number")


def _known(value: object) -> bool:
    return value is not None and not validation.is_token(value)


@functools.cache
def time_zone_names() -> frozenset[str]:
    """The IANA time zone names of the installed tz database (Python's ``zoneinfo``).

    Empty where the system has no tz database (then names are not checked).
    """
    return frozenset(zoneinfo.available_timezones())


@jsii.implements(IValidation)
class _ScheduleCheck:
    """Warns, once the app is synthesised, when the scheduled actions never undo a bound.

    A scheduled action changes the scalable target's bounds until another
    action changes them again: an action lowering ``max_capacity`` with no
    action ever raising it back caps the variant for good after its first
    run (and one raising ``min_capacity`` keeps the raised floor for good).
    Checked at synth so that actions added after the first count.
    """

    def __init__(self, scaling: VariantScaling) -> None:
        self._scaling = scaling
        self._done = False

    def validate(self) -> list[str]:
        if not self._done:
            self._done = True
            self._scaling._warn_unrestored_bounds()
        return []


class TargetTracking:
    """Target-tracking policies on ``target``: what variant and component scaling share."""

    target: appscaling.ScalableTarget

    def _track(
        self,
        construct_id: str,
        *,
        target_value: float,
        predefined_metric: appscaling.PredefinedMetric | None = None,
        custom_metric: cloudwatch.IMetric | None = None,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Target tracking; cooldowns default to 5 minutes in and 1 minute out."""
        assert isinstance(self, Construct)
        check_target_value(self, f"{construct_id}.target_value", target_value)
        return self.target.scale_to_track_metric(
            construct_id,
            target_value=target_value,
            predefined_metric=predefined_metric,
            custom_metric=custom_metric,
            scale_in_cooldown=scale_in_cooldown or Duration.minutes(5),
            scale_out_cooldown=scale_out_cooldown or Duration.minutes(1),
        )

    def scale_on_metric(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        target_value: float,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Track a metric of your own."""
        return self._track(
            construct_id,
            target_value=target_value,
            custom_metric=metric,
            scale_in_cooldown=scale_in_cooldown,
            scale_out_cooldown=scale_out_cooldown,
        )


class VariantScaling(TargetTracking, Construct):
    """Scale one variant: instances, or provisioned concurrency for serverless variants.

    For an :class:`Endpoint` built here, create it with
    :meth:`Endpoint.auto_scale_variant`; for an endpoint made elsewhere,
    import it with its variants' attributes and construct it directly::

        fraud = Endpoint.from_endpoint_attributes(
            self, "Fraud", endpoint_name="fraud", multi_az=True,
            variants=[VariantAttributes(variant_name="Blue", instance_type="ml.c5.xlarge")],
        )
        scaling = VariantScaling(
            self, "ScalingBlue", endpoint=fraud, variant_name="Blue",
            min_capacity=2, max_capacity=8,
        )
        scaling.scale_on_invocations(target_per_instance=700)

    Then add policies. The scalable target of an endpoint built here depends
    on it, so the first deploy never registers a variant that does not exist
    yet. A variant has one scalable target: a second one for the same
    variant of the same endpoint is refused.

    Checked here: capacities are whole numbers, ``min_capacity`` at most
    ``max_capacity``; instance variants: at least 2 on a multi-AZ endpoint
    (not checked when ``multi_az`` is unknown, as for most imports), 0 only
    on an asynchronous endpoint, no burstable (``ml.t2``...) instance type;
    serverless variants: provisioned concurrency within 1 and the variant's
    ``max_concurrency``.

    Construct IDs (a public contract): ``Target`` (the scalable target), and
    one ID per policy or scheduled action, as given.

    :param endpoint: the endpoint: an :class:`Endpoint`, or one imported with
        ``Endpoint.from_endpoint_attributes`` that lists this variant.
    :param variant_name: the variant (production or shadow).
    :param min_capacity: instances (provisioned concurrency for serverless
        variants); at least 2 for instance variants of a multi-AZ endpoint; 0
        only for an asynchronous endpoint scaling to zero.
    :param max_capacity: at least ``min_capacity``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: EndpointBase,
        variant_name: str,
        min_capacity: int,
        max_capacity: int,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_type(
            self,
            "endpoint",
            endpoint,
            EndpointBase,
            "an Endpoint, or an endpoint imported with Endpoint.from_endpoint_attributes",
        )
        validation.check_type(self, "variant_name", variant_name, str, "a variant name")
        self.endpoint = endpoint
        self.variant_name = variant_name
        self._own_endpoint = isinstance(endpoint, Endpoint)
        self.variant: VariantAttributes = self._find_variant()
        self.serverless = self.variant.serverless
        for prop, value in (("min_capacity", min_capacity), ("max_capacity", max_capacity)):
            validation.check_int(self, prop, value, low=0)
        if self.variant.instance_type is not None and is_burstable(self.variant.instance_type):
            validation.fail(
                self,
                "variant_name",
                variant_name,
                f"{self.variant.instance_type} is a burstable instance type, which SageMaker "
                "does not auto scale; use ml.m5, ml.c5 or larger",
            )
        self._check_bounds("", min_capacity, max_capacity)
        self.min_capacity = min_capacity
        self.max_capacity = max_capacity
        #: Scheduled actions so far: ``(construct ID, min_capacity, max_capacity)``.
        self._scheduled: list[tuple[str, int | None, int | None]] = []
        self._claim()
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{endpoint.endpoint_name}/variant/{variant_name}",
            scalable_dimension="sagemaker:variant:DesiredProvisionedConcurrency"
            if self.serverless
            else "sagemaker:variant:DesiredInstanceCount",
            min_capacity=min_capacity,
            max_capacity=max_capacity,
        )
        if isinstance(endpoint, Endpoint):
            # The variant exists only once the endpoint does.
            self.target.node.add_dependency(endpoint.resource)

    # --- checks ---------------------------------------------------------------

    def _find_variant(self) -> VariantAttributes:
        endpoint, name = self.endpoint, self.variant_name
        variant = endpoint.find_variant(name)
        if variant is not None:
            return variant
        known = [v.variant_name for v in endpoint.variant_attributes]
        if not known:
            validation.fail(
                self,
                "variant_name",
                name,
                f"endpoint {endpoint.endpoint_name} was imported without its variants, so "
                "its scaling cannot be checked; import it with "
                "Endpoint.from_endpoint_attributes(..., variants=[VariantAttributes("
                f"variant_name={name!r}, instance_type=...)]) (serverless=True for a "
                "serverless variant)",
            )
        validation.fail(self, "variant_name", name, f"the endpoint's variants are {known}")

    def _limit(self) -> tuple[int, str]:
        """A serverless variant's highest provisioned concurrency, and where it comes from."""
        if _known(self.variant.max_concurrency):
            return int(self.variant.max_concurrency or 0), "the variant's max_concurrency"
        high = validation.service_range("ServerlessProvisionedConcurrency")[1]
        return int(high or 0), "SageMaker's limit; the variant's max_concurrency is unknown"

    def _check_bounds(self, prop: str, low: int | None, high: int | None) -> None:
        """Bounds of the target (``prop`` empty) or of a scheduled action (``prop`` its ID).

        ``None`` (not given) and tokens (known at deploy time) are not checked.
        """
        where = f"{prop}." if prop else ""
        lo = low if _known(low) else None
        hi = high if _known(high) else None
        if lo is not None and hi is not None and lo > hi:
            validation.fail(
                self, f"{where}min_capacity", lo, f"must not exceed max_capacity ({hi})"
            )
        if self.serverless:
            limit, source = self._limit()
            if any(v is not None and not 1 <= v <= limit for v in (lo, hi)):
                validation.fail(
                    self,
                    f"{where}min_capacity/max_capacity",
                    (low, high),
                    f"provisioned concurrency scales within 1-{limit} ({source})",
                )
            return
        endpoint = self.endpoint
        for name, value in (("min_capacity", lo), ("max_capacity", hi)):
            if value == 0 and not endpoint.asynchronous:
                hint = (
                    ""
                    if self._own_endpoint
                    else "; an imported asynchronous endpoint says so with "
                    "Endpoint.from_endpoint_attributes(..., asynchronous=True)"
                )
                validation.fail(
                    self,
                    f"{where}{name}",
                    0,
                    f"only asynchronous endpoints can scale to zero instances{hint}",
                )
        minimum = validation.MULTI_AZ_MIN_INSTANCES
        if endpoint.multi_az is True and lo is not None and 0 < lo < minimum:
            validation.fail(
                self,
                f"{where}min_capacity",
                lo,
                f"a multi-AZ endpoint keeps at least {minimum} instances per variant; raise "
                "it, or build the endpoint with multi_az=False (development only)",
            )

    def _claim(self) -> None:
        """Refuse a second scalable target for this variant (same endpoint, or same name
        in the same resolved account and Region)."""
        endpoint = self.endpoint
        stack = Stack.of(endpoint)
        name = endpoint.endpoint_name
        if any(validation.is_token(v) for v in (name, stack.account, stack.region)):
            key: tuple[str, ...] = ("path", endpoint.node.path, self.variant_name)
        else:
            key = ("name", stack.account, stack.region, name.lower(), self.variant_name)
        claimed = _SCALED.setdefault(self.node.root, {})
        owner = claimed.setdefault(key, self)
        if owner is not self:
            validation.fail(
                self,
                "variant_name",
                self.variant_name,
                f"already scaled by {owner.node.path}: a variant has one scalable target; "
                "add policies to that one",
            )

    # --- policies -------------------------------------------------------------

    def scale_on_invocations(
        self,
        *,
        target_per_instance: float,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Track invocations per instance per minute. Cooldowns: in 5 min, out 1 min."""
        self._instances_only("scale_on_invocations")
        return self._track(
            "InvocationsPerInstance",
            target_value=target_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=scale_in_cooldown,
            scale_out_cooldown=scale_out_cooldown,
        )

    def scale_on_concurrent_requests(
        self,
        *,
        target_per_model: float,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Track concurrent requests per model (high-resolution, reacts within a minute)."""
        self._instances_only("scale_on_concurrent_requests")
        return self._track(
            "ConcurrentRequestsPerModel",
            target_value=target_per_model,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_CONCURRENT_REQUESTS_PER_MODEL_HIGH_RESOLUTION,
            scale_in_cooldown=scale_in_cooldown,
            scale_out_cooldown=scale_out_cooldown,
        )

    def scale_on_provisioned_concurrency(
        self, *, target_utilization: float = 0.7
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Serverless: track provisioned-concurrency utilisation (0.1-0.9). Default: 0.7."""
        if not self.serverless:
            validation.fail(
                self,
                "scale_on_provisioned_concurrency",
                self.variant_name,
                "only serverless variants have provisioned concurrency",
            )
        low, high = PROVISIONED_UTILIZATION_RANGE
        validation.check_range(self, "target_utilization", target_utilization, low=low, high=high)
        return self._track(
            "ProvisionedConcurrencyUtilization",
            target_value=target_utilization,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_PROVISIONED_CONCURRENCY_UTILIZATION,
        )

    def scale_on_backlog(
        self, *, target_per_instance: float = 5
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Asynchronous endpoints: track queued requests per instance, and come back from zero.

        Target tracking on ``ApproximateBacklogSizePerInstance`` cannot start
        a fleet of zero instances; a step policy on
        ``HasBacklogWithoutCapacity`` adds the first instance.
        """
        if not self.endpoint.asynchronous:
            validation.fail(
                self,
                "scale_on_backlog",
                self.endpoint.endpoint_name,
                "only asynchronous endpoints have a backlog",
            )
        dimensions = {"EndpointName": self.endpoint.endpoint_name}
        policy = self._track(
            "BacklogPerInstance",
            target_value=target_per_instance,
            custom_metric=cloudwatch.Metric(
                namespace=ASYNC_NAMESPACE,
                metric_name="ApproximateBacklogSizePerInstance",
                dimensions_map=dimensions,
                statistic="Average",
                period=Duration.minutes(1),
            ),
        )
        self.target.scale_on_metric(
            "StartFromZero",
            metric=cloudwatch.Metric(
                namespace=ASYNC_NAMESPACE,
                metric_name="HasBacklogWithoutCapacity",
                dimensions_map=dimensions,
                statistic="Average",
                period=Duration.minutes(1),
            ),
            scaling_steps=[
                appscaling.ScalingInterval(upper=0.5, change=0),
                appscaling.ScalingInterval(lower=0.5, change=1),
            ],
            adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
            cooldown=Duration.minutes(5),
        )
        return policy

    def scale_on_steps(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        steps: Sequence[appscaling.ScalingInterval],
        adjustment_type: appscaling.AdjustmentType = appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
        cooldown: Duration | None = None,
    ) -> appscaling.StepScalingPolicy:
        """Step scaling driven by alarms on ``metric`` (CDK creates the alarms)."""
        return self.target.scale_on_metric(
            construct_id,
            metric=metric,
            scaling_steps=list(steps),
            adjustment_type=adjustment_type,
            cooldown=cooldown or Duration.minutes(5),
        )

    def scale_on_schedule(
        self,
        construct_id: str,
        *,
        schedule: appscaling.Schedule,
        min_capacity: int | None = None,
        max_capacity: int | None = None,
        time_zone: TimeZone | None = None,
    ) -> None:
        """Change the bounds on a schedule, e.g. fewer instances at night.

        A scheduled action sets the bounds until another one changes them:
        pair an action that lowers ``max_capacity`` (or raises
        ``min_capacity``) with one that restores it, or the variant keeps the
        new bound for good after the first run. A variant whose scheduled
        actions only ever lower ``max_capacity`` below the target's (or only
        raise ``min_capacity`` above it) gets a warning at synth
        (``cdk-sagemaker-hosting:ScheduledMaxNeverRestored``,
        ``...:ScheduledMinNeverRestored``).

        The new bounds follow the target's rules (whole numbers, multi-AZ
        minimum, zero only when asynchronous, serverless limits).

        :param construct_id: the scheduled action's name.
        :param schedule: ``Schedule.cron(...)``, ``Schedule.at(...)`` or
            ``Schedule.rate(...)``.
        :param min_capacity: the new minimum, from the action's run on.
        :param max_capacity: the new maximum, from the action's run on.
        :param time_zone: the time zone of a cron or at schedule, e.g.
            ``TimeZone.EUROPE_BERLIN`` (an IANA name). Default: UTC. A rate
            schedule takes none.
        """
        if min_capacity is None and max_capacity is None:
            validation.fail(self, construct_id, None, "give min_capacity, max_capacity or both")
        for name, value in (("min_capacity", min_capacity), ("max_capacity", max_capacity)):
            validation.check_int(self, f"{construct_id}.{name}", value, low=0)
        self._check_bounds(construct_id, min_capacity, max_capacity)
        if time_zone is not None:
            self._check_time_zone(construct_id, schedule, time_zone)
        self.target.scale_on_schedule(
            construct_id,
            schedule=schedule,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            time_zone=time_zone,
        )
        if not self._scheduled:
            self.node.add_validation(_ScheduleCheck(self))
        self._scheduled.append((construct_id, min_capacity, max_capacity))

    def _check_time_zone(
        self, construct_id: str, schedule: appscaling.Schedule, time_zone: TimeZone
    ) -> None:
        prop = f"{construct_id}.time_zone"
        validation.check_type(
            self,
            prop,
            time_zone,
            TimeZone,
            "a TimeZone, e.g. TimeZone.EUROPE_BERLIN or TimeZone.of('Europe/Berlin')",
        )
        name = time_zone.timezone_name
        if validation.is_token(name):
            return
        expression = schedule.expression_string
        if not validation.is_token(expression) and expression.startswith("rate("):
            validation.fail(
                self,
                prop,
                name,
                f"a time zone applies to cron and at schedules only; {expression} runs at the "
                "same interval in every time zone",
            )
        known = time_zone_names()
        if known and name not in known:
            validation.fail(
                self,
                prop,
                name,
                "not an IANA time zone name (Application Auto Scaling takes names such as "
                "Europe/Berlin, America/New_York or Etc/GMT+9)",
            )

    def _warn_unrestored_bounds(self) -> None:
        """The scheduled-bounds warning (see :meth:`scale_on_schedule`)."""
        maxima = [
            (cid, high)
            for cid, _, high in self._scheduled
            if high is not None and not validation.is_token(high)
        ]
        minima = [
            (cid, low)
            for cid, low, _ in self._scheduled
            if low is not None and not validation.is_token(low)
        ]
        high, low = self.max_capacity, self.min_capacity
        if maxima and _known(high) and all(v < high for _, v in maxima):
            lowered = ", ".join(f"{cid} max_capacity={v}" for cid, v in maxima)
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:ScheduledMaxNeverRestored",
                f"the scheduled actions only lower the maximum ({lowered}; the target's is "
                f"{high}) and none raises it again: after the first run the variant stays "
                f"capped until a deploy changes the target. Add an action restoring "
                f"max_capacity={high}, e.g. in the morning",
            )
        if minima and _known(low) and all(v > low for _, v in minima):
            raised = ", ".join(f"{cid} min_capacity={v}" for cid, v in minima)
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:ScheduledMinNeverRestored",
                f"the scheduled actions only raise the minimum ({raised}; the target's is "
                f"{low}) and none lowers it again: after the first run the variant keeps "
                f"that many instances for good. Add an action restoring min_capacity={low}",
            )

    def _instances_only(self, what: str) -> None:
        if self.serverless:
            validation.fail(
                self,
                what,
                self.variant_name,
                "serverless variants scale on provisioned concurrency; "
                "use scale_on_provisioned_concurrency",
            )
