"""Application Auto Scaling of one production variant of an endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.variants import ServerlessVariant
from constructs import Construct

if TYPE_CHECKING:
    from cdk_sagemaker_hosting.endpoint import Endpoint

#: Async endpoints publish their queue in this namespace, per endpoint.
ASYNC_NAMESPACE = "AWS/SageMaker"


class VariantScaling(Construct):
    """Scale one variant: instances, or provisioned concurrency for serverless variants.

    Create it with :meth:`Endpoint.auto_scale_variant`, then add policies.
    The scalable target depends on the endpoint, so the first deploy never
    registers a variant that does not exist yet.

    Construct IDs (a public contract): ``Target`` (the scalable target), and
    one ID per policy or scheduled action, as given.

    :param endpoint: the endpoint.
    :param variant_name: the variant.
    :param min_capacity: at least 2 for instance variants of a multi-AZ
        endpoint; 0 only for an asynchronous endpoint scaling to zero.
    :param max_capacity: at least ``min_capacity``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: Endpoint,
        variant_name: str,
        min_capacity: int,
        max_capacity: int,
    ) -> None:
        super().__init__(scope, construct_id)
        variant = next((v for v in endpoint.variants if v.variant_name == variant_name), None)
        if variant is None:
            validation.fail(
                self,
                "variant_name",
                variant_name,
                f"the endpoint's variants are {[v.variant_name for v in endpoint.variants]}",
            )
        self.variant = variant
        self.serverless = isinstance(variant, ServerlessVariant)
        self.endpoint = endpoint
        self.variant_name = variant_name
        validation.check_scaling(
            self,
            variant=variant,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            multi_az=endpoint.multi_az,
            asynchronous=endpoint.asynchronous,
        )
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
        # The variant exists only once the endpoint does.
        self.target.node.add_dependency(endpoint.resource)

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
        validation.check_positive(self, f"{construct_id}.target_value", target_value)
        return self.target.scale_to_track_metric(
            construct_id,
            target_value=target_value,
            predefined_metric=predefined_metric,
            custom_metric=custom_metric,
            scale_in_cooldown=scale_in_cooldown or Duration.minutes(5),
            scale_out_cooldown=scale_out_cooldown or Duration.minutes(1),
        )

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

    def scale_on_provisioned_concurrency(
        self, *, target_utilization: float = 0.7
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Serverless: track provisioned-concurrency utilisation (0-1). Default: 0.7."""
        if not self.serverless:
            validation.fail(
                self,
                "scale_on_provisioned_concurrency",
                self.variant_name,
                "only serverless variants have provisioned concurrency",
            )
        validation.check_range(self, "target_utilization", target_utilization, low=0.1, high=0.9)
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
    ) -> None:
        """Change the bounds on a schedule, e.g. fewer instances at night."""
        if min_capacity is None and max_capacity is None:
            validation.fail(self, construct_id, None, "give min_capacity, max_capacity or both")
        if min_capacity is not None:
            validation.check_scaling(
                self,
                variant=self.variant,
                min_capacity=min_capacity,
                max_capacity=max_capacity if max_capacity is not None else 10**9,
                multi_az=self.endpoint.multi_az,
                asynchronous=self.endpoint.asynchronous,
                prop=construct_id,
            )
        else:
            validation.check_range(
                self,
                f"{construct_id}.max_capacity",
                max_capacity,
                low=0 if self.endpoint.asynchronous else 1,
                high=10**9,
            )
        self.target.scale_on_schedule(
            construct_id,
            schedule=schedule,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
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
