"""Production variants: the models an endpoint serves and what they run on.

Each variant checks itself when its endpoint binds it (:meth:`InstanceVariant.bind`,
:meth:`ServerlessVariant.bind`) and renders its part of the endpoint config;
what a variant's consumers (monitoring, scaling, drift checks, traffic shifts)
need to know of it, for a variant built here or imported, is its
:class:`VariantAttributes`.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Sequence
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_sagemaker as sagemaker

from cdk_sagemaker_hosting import validation
from cdk_sagemaker_hosting.model import Model
from constructs import IConstruct

DEFAULT_VARIANT_NAME = "AllTraffic"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"


class RoutingStrategy(enum.Enum):
    """How SageMaker spreads a variant's requests over its instances."""

    LEAST_OUTSTANDING_REQUESTS = "LEAST_OUTSTANDING_REQUESTS"
    RANDOM = "RANDOM"


@dataclasses.dataclass(frozen=True, kw_only=True)
class VariantAttributes:
    """What monitoring, scaling, drift checks and traffic shifts know of one variant.

    Every :class:`Endpoint` lists its
    variants' attributes; an imported endpoint carries the ones given to
    ``Endpoint.from_endpoint_attributes``.

    :param variant_name: the variant's name.
    :param instance_type: its instance type; ``None`` for a serverless variant.
    :param serverless: a serverless variant. Default: ``False``.
    :param shadow: a shadow variant (gets a copy of the traffic, no weight).
        Default: ``False``.
    :param max_concurrency: a serverless variant's maximum concurrency, which
        bounds its provisioned concurrency. Default: unknown.
    """

    variant_name: str
    instance_type: str | None = None
    serverless: bool = False
    shadow: bool = False
    max_concurrency: int | None = None

    def check(self, scope: IConstruct, prop: str) -> None:
        """Check the attributes of an imported variant."""
        validation.check_sagemaker_name(scope, f"{prop}.variant_name", self.variant_name)
        if self.serverless and self.instance_type is not None:
            validation.fail(
                scope,
                f"{prop}.instance_type",
                self.instance_type,
                "a serverless variant has no instance type; leave it out",
            )
        if self.instance_type is not None:
            validation.check_instance_type(scope, f"{prop}.instance_type", self.instance_type)
        validation.check_service_int(
            scope, f"{prop}.max_concurrency", self.max_concurrency, "ServerlessMaxConcurrency"
        )


def _seconds(duration: Duration | None) -> int | None:
    return None if duration is None else int(duration.to_seconds())


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceVariant:
    """A production variant on dedicated instances.

    :param model: the model it serves.
    :param variant_name: its name, unique in the endpoint. Default: ``"AllTraffic"``.
    :param instance_type: a SageMaker hosting instance type; refused beside
        ``capacity.instance_pools``. Default: ``"ml.m5.large"`` (none with pools).
    :param initial_instance_count: instances at creation. Default: 2 (multi-AZ).
    :param initial_weight: relative share of traffic (1/1 is 50/50). Default: 1.0.
    :param volume_size_gb: storage volume per instance, 1-512 GB. Default: SageMaker's.
    :param model_data_download_timeout: 60-3600 s. Default: SageMaker's.
    :param container_startup_health_check_timeout: 60-3600 s. Default: SageMaker's.
    :param routing_strategy: Default: SageMaker's (``LEAST_OUTSTANDING_REQUESTS``).
    :param capacity: instance pools (then leave ``instance_type`` out), an ML
        capacity reservation, the provisioning timeout and the AMI version,
        for scarce accelerator capacity. Default: none.
    :param accelerator_type: refused: Elastic Inference ended in 2024.
    """

    model: Model
    variant_name: str = DEFAULT_VARIANT_NAME
    instance_type: str | None = None
    initial_instance_count: int = 2
    initial_weight: float = 1.0
    volume_size_gb: int | None = None
    model_data_download_timeout: Duration | None = None
    container_startup_health_check_timeout: Duration | None = None
    routing_strategy: RoutingStrategy | None = None
    capacity: GpuCapacity | None = None
    accelerator_type: str | None = None

    @property
    def instance_types(self) -> list[str]:
        """Its instance type, or its pools' types in priority order."""
        pools = self.capacity.instance_pools if self.capacity is not None else ()
        if not pools:
            return [self.instance_type or DEFAULT_INSTANCE_TYPE]
        return [p.instance_type for p in sorted(pools, key=lambda p: p.priority)]

    @property
    def _pooled(self) -> bool:
        return bool(self.capacity is not None and self.capacity.instance_pools)

    @property
    def attributes(self) -> VariantAttributes:
        """What the endpoint's consumers know of this variant.

        A variant on instance pools has no single instance type (``None``):
        monitoring then skips the alarms sized for one type, with a warning.
        """
        return VariantAttributes(
            variant_name=self.variant_name,
            instance_type=None if self._pooled else self.instance_types[0],
        )

    def bind(
        self,
        scope: IConstruct,
        prop: str,
        *,
        multi_az: bool,
        weight: float | None = None,
        shortcut: bool = False,
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        """Check this variant for the endpoint ``scope`` and render it.

        ``prop`` names it in errors (``variants[1]``, ``shadow_variant``);
        ``shortcut``: it came from ``Endpoint(model=...)``, so errors name that
        call's properties (``instance_count``). ``weight`` overrides the
        initial weight (a shadow variant's sampled share).
        """

        def name(field: str) -> str:
            shortcuts = {
                "initial_instance_count": "instance_count",
                "instance_type": "instance_type",
            }
            return shortcuts.get(field, field) if shortcut else f"{prop}.{field}"

        validation.check_type(scope, name("model"), self.model, Model, "a Model")
        if self.accelerator_type is not None:
            validation.fail(
                scope,
                f"{prop}.accelerator_type",
                self.accelerator_type,
                validation.ELASTIC_INFERENCE_ENDED,
            )
        if self.instance_type is not None:
            validation.check_instance_type(scope, name("instance_type"), self.instance_type)
        pools = self.capacity.instance_pools if self.capacity is not None else ()
        if self.capacity is not None:
            validation.check_type(
                scope, f"{prop}.capacity", self.capacity, GpuCapacity, "a GpuCapacity"
            )
            if pools and self.instance_type is not None:
                validation.fail(
                    scope,
                    name("instance_type"),
                    self.instance_type,
                    "a variant with instance pools takes its types from them: leave "
                    "instance_type out",
                )
            self.capacity.check(scope, f"{prop}.capacity", self.instance_types)
        validation.check_instance_count(
            scope, name("initial_instance_count"), self.initial_instance_count, multi_az=multi_az
        )
        check_weight(scope, f"{prop}.initial_weight", self.initial_weight)
        validation.check_service_int(
            scope,
            f"{prop}.volume_size_gb",
            self.volume_size_gb,
            "ProductionVariantVolumeSizeInGB",
            unit=" GB",
        )
        for field, shape in (
            ("model_data_download_timeout", "ProductionVariantModelDataDownloadTimeoutInSeconds"),
            (
                "container_startup_health_check_timeout",
                "ProductionVariantContainerStartupHealthCheckTimeoutInSeconds",
            ),
        ):
            duration = getattr(self, field)
            seconds = (
                None
                if duration is None
                else validation.whole_seconds(scope, f"{prop}.{field}", duration)
            )
            validation.check_service_int(scope, f"{prop}.{field}", seconds, shape, unit=" s")
        if self.routing_strategy is not None:
            validation.check_type(
                scope,
                f"{prop}.routing_strategy",
                self.routing_strategy,
                RoutingStrategy,
                "a RoutingStrategy",
            )
        if multi_az and self.model.vpc is not None:
            validation.check_availability_zones(
                scope,
                "model.vpc_subnets" if shortcut else f"{prop}.model.vpc_subnets",
                self.model.subnet_availability_zones,
            )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=self.variant_name,
            model_name=self.model.model_name,
            instance_type=None if pools else self.instance_types[0],
            initial_instance_count=self.initial_instance_count,
            initial_variant_weight=self.initial_weight if weight is None else weight,
            volume_size_in_gb=self.volume_size_gb,
            model_data_download_timeout_in_seconds=_seconds(self.model_data_download_timeout),
            container_startup_health_check_timeout_in_seconds=_seconds(
                self.container_startup_health_check_timeout
            ),
            routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                routing_strategy=self.routing_strategy.value
            )
            if self.routing_strategy
            else None,
            **(self.capacity.render() if self.capacity is not None else {}),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerlessVariant:
    """A production variant on SageMaker Serverless Inference.

    Serverless endpoints have one variant, and their model may use neither
    network isolation, a VPC, several containers nor multi-model mode.

    :param model: the model it serves.
    :param variant_name: its name. Default: ``"AllTraffic"``.
    :param memory_size_mb: 1024-6144 in steps of 1024. Default: 2048.
    :param max_concurrency: 1-200. Default: 20.
    :param provisioned_concurrency: 1-200, at most ``max_concurrency``. Default: none.
    :param initial_weight: Default: 1.0.
    """

    model: Model
    variant_name: str = DEFAULT_VARIANT_NAME
    memory_size_mb: int = 2048
    max_concurrency: int = 20
    provisioned_concurrency: int | None = None
    initial_weight: float = 1.0

    @property
    def attributes(self) -> VariantAttributes:
        """What the endpoint's consumers know of this variant."""
        return VariantAttributes(
            variant_name=self.variant_name, serverless=True, max_concurrency=self.max_concurrency
        )

    def bind(
        self, scope: IConstruct, prop: str, **_: object
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        """Check this variant for the endpoint ``scope`` and render it."""
        validation.check_type(scope, f"{prop}.model", self.model, Model, "a Model")
        memory = self.memory_size_mb
        validation.check_service_int(
            scope, f"{prop}.memory_size_mb", memory, "ServerlessMemorySizeInMB", unit=" MB"
        )
        if not validation.is_token(memory) and memory % 1024:
            validation.fail(
                scope,
                f"{prop}.memory_size_mb",
                memory,
                "must be 1024, 2048, 3072, 4096, 5120 or 6144",
            )
        validation.check_service_int(
            scope, f"{prop}.max_concurrency", self.max_concurrency, "ServerlessMaxConcurrency"
        )
        provisioned = self.provisioned_concurrency
        validation.check_service_int(
            scope,
            f"{prop}.provisioned_concurrency",
            provisioned,
            "ServerlessProvisionedConcurrency",
        )
        if (
            provisioned is not None
            and not validation.is_token(provisioned)
            and not validation.is_token(self.max_concurrency)
            and provisioned > self.max_concurrency
        ):
            validation.fail(
                scope,
                f"{prop}.provisioned_concurrency",
                provisioned,
                f"must not exceed max_concurrency ({self.max_concurrency})",
            )
        check_weight(scope, f"{prop}.initial_weight", self.initial_weight)
        model = self.model
        for refused, why in (
            (
                model.network_isolation,
                "network isolation (pass network_isolation=False to the model)",
            ),
            (model.vpc is not None, "a VPC"),
            (model.is_pipeline, "several containers"),
            (model.multi_model, "multi-model mode"),
        ):
            if refused:
                validation.fail(
                    scope,
                    f"{prop}.model",
                    model.node.path,
                    f"serverless inference does not support {why}",
                )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=self.variant_name,
            model_name=self.model.model_name,
            initial_variant_weight=self.initial_weight,
            serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                memory_size_in_mb=self.memory_size_mb,
                max_concurrency=self.max_concurrency,
                provisioned_concurrency=self.provisioned_concurrency,
            ),
        )


class ScaleInStrategy(enum.Enum):
    """How managed instance scaling releases a component endpoint's instances."""

    #: Release instances that host no copy of any inference component.
    IDLE_RELEASE = "IDLE_RELEASE"
    #: Move copies onto fewer instances to release more of them.
    CONSOLIDATION = "CONSOLIDATION"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ManagedInstanceScaling:
    """SageMaker adds and removes a component variant's instances as its components' copies need.

    Checked when the endpoint binds its :class:`ComponentVariant`.

    :param min_instances: instances kept when copies scale in; 0 lets the
        endpoint scale to zero instances (components only). On a multi-AZ
        endpoint: 0, or at least 2.
    :param max_instances: instances at most; inference components' copies
        must fit on this many (checked at synth).
    :param scale_in_strategy: Default: SageMaker's (``IDLE_RELEASE``).
    :param scale_in_cooldown: with ``CONSOLIDATION``: how long after the last
        endpoint operation consolidation waits, 5-1440 whole minutes.
        Default: SageMaker's (20 minutes).
    :param max_scale_in_step: with ``CONSOLIDATION``: instances released at
        a time, 1-100. Default: SageMaker's (1).
    """

    min_instances: int
    max_instances: int
    scale_in_strategy: ScaleInStrategy | None = None
    scale_in_cooldown: Duration | None = None
    max_scale_in_step: int | None = None

    def check(self, scope: IConstruct, prop: str, *, multi_az: bool) -> None:
        """Check the bounds and the scale-in policy; errors name ``<prop>.<field>``."""
        validation.check_service_int(
            scope,
            f"{prop}.min_instances",
            self.min_instances,
            "ManagedInstanceScalingMinInstanceCount",
        )
        validation.check_service_int(
            scope,
            f"{prop}.max_instances",
            self.max_instances,
            "ManagedInstanceScalingMaxInstanceCount",
        )
        low, high = self.min_instances, self.max_instances
        if not validation.is_token(low) and not validation.is_token(high) and low > high:
            validation.fail(
                scope, f"{prop}.min_instances", low, f"must not exceed max_instances ({high})"
            )
        if multi_az and low == 1:
            validation.fail(
                scope,
                f"{prop}.min_instances",
                low,
                f"a multi-AZ endpoint keeps at least {validation.MULTI_AZ_MIN_INSTANCES} "
                "instances (or 0, scaling to zero); raise it, or build the endpoint with "
                "multi_az=False (development only)",
            )
        validation.check_optional_type(
            scope,
            f"{prop}.scale_in_strategy",
            self.scale_in_strategy,
            ScaleInStrategy,
            "a ScaleInStrategy",
        )
        if self.scale_in_strategy is not ScaleInStrategy.CONSOLIDATION:
            for field in ("scale_in_cooldown", "max_scale_in_step"):
                value = getattr(self, field)
                if value is not None:
                    validation.fail(
                        scope,
                        f"{prop}.{field}",
                        validation.shown(value)
                        if not isinstance(value, Duration)
                        else value.to_human_string(),
                        "applies to consolidation only: pass "
                        "scale_in_strategy=ScaleInStrategy.CONSOLIDATION, or leave it out",
                    )
        if self.scale_in_cooldown is not None:
            seconds = validation.whole_seconds(
                scope, f"{prop}.scale_in_cooldown", self.scale_in_cooldown
            )
            if not validation.is_token(seconds) and seconds % 60:
                validation.fail(
                    scope, f"{prop}.scale_in_cooldown", f"{seconds} s", "must be whole minutes"
                )
            validation.check_service_int(
                scope,
                f"{prop}.scale_in_cooldown",
                None if validation.is_token(seconds) else seconds // 60,
                "ManagedInstanceScalingCooldownInMinutes",
                unit=" minutes",
            )
        validation.check_service_int(
            scope,
            f"{prop}.max_scale_in_step",
            self.max_scale_in_step,
            "ManagedInstanceScalingMaximumStepSize",
        )

    def render(self) -> sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty:
        """The variant's ``ManagedInstanceScaling``."""
        policy = None
        if self.scale_in_strategy is not None:
            policy = sagemaker.CfnEndpointConfig.ScaleInPolicyProperty(
                strategy=self.scale_in_strategy.value,
                cooldown_in_minutes=None
                if self.scale_in_cooldown is None
                else int(self.scale_in_cooldown.to_seconds()) // 60,
                maximum_step_size=self.max_scale_in_step,
            )
        return sagemaker.CfnEndpointConfig.ManagedInstanceScalingProperty(
            status="ENABLED",
            min_instance_count=self.min_instances,
            max_instance_count=self.max_instances,
            scale_in_policy=policy,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstancePool:
    """One instance type of a heterogeneous variant, and its priority.

    SageMaker provisions from the pool of priority 1 first, then 2, and so on
    when a pool has no capacity.

    :param instance_type: a SageMaker hosting instance type.
    :param priority: 1 (first) to 5.
    """

    instance_type: str
    priority: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class CapacityReservation:
    """An ML capacity reservation the variant's instances launch into.

    :param ml_reservation_arn: the reservation's ARN
        (``arn:<partition>:sagemaker:<region>:<account>:<type>/<id>``).
    :param reservations_only: launch only into the reservation (SageMaker's
        ``capacity-reservations-only``, its one preference): with no capacity
        left there, instances fail to launch. Default: ``True``.
    """

    ml_reservation_arn: str
    reservations_only: bool = True


_RESERVATION_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:[a-z0-9\-]{1,14}/")
#: Instance families with GPUs, and with AWS Neuron devices (Inferentia2, Trainium).
_GPU_FAMILY = re.compile(r"^ml\.(g\d|p\d)")
_NEURON_FAMILY = re.compile(r"^ml\.(inf2|trn\d)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class GpuCapacity:
    """Where a variant's instances come from, and what they boot: for scarce accelerator capacity.

    Give it to an :class:`InstanceVariant` or a :class:`ComponentVariant` as
    ``capacity``. Checked when the endpoint binds the variant.

    :param instance_pools: 1-5 instance types with their priorities; the
        variant then has no ``instance_type`` of its own. Default: none.
    :param reservation: an ML capacity reservation. Default: none.
    :param provision_timeout: how long SageMaker keeps trying to get
        instances (then the next pool), 300-3600 whole seconds. Default:
        SageMaker's.
    :param inference_ami_version: the AMI (drivers, CUDA or Neuron version),
        one of botocore's ``ProductionVariantInferenceAmiVersion``; GPU AMIs
        need GPU instance types, Neuron AMIs Inferentia2 or Trainium.
        Default: SageMaker's.
    """

    instance_pools: Sequence[InstancePool] = ()
    reservation: CapacityReservation | None = None
    provision_timeout: Duration | None = None
    inference_ami_version: str | None = None

    def check(self, scope: IConstruct, prop: str, instance_types: Sequence[str]) -> None:
        """Check against the variant's instance types (its own, or its pools')."""
        pools = list(self.instance_pools)
        if pools:
            validation.check_count(
                scope, f"{prop}.instance_pools", len(pools), low=1, high=5, what="pools"
            )
        for i, pool in enumerate(pools):
            where = f"{prop}.instance_pools[{i}]"
            validation.check_type(scope, where, pool, InstancePool, "an InstancePool")
            validation.check_instance_type(scope, f"{where}.instance_type", pool.instance_type)
            validation.check_service_int(
                scope, f"{where}.priority", pool.priority, "InstancePoolPriority"
            )
        for field in ("instance_type", "priority"):
            values = [getattr(p, field) for p in pools]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                validation.fail(
                    scope,
                    f"{prop}.instance_pools[].{field}",
                    duplicates,
                    f"give each pool its own {field.replace('_', ' ')}",
                )
        reservation = self.reservation
        if reservation is not None:
            validation.check_type(
                scope,
                f"{prop}.reservation",
                reservation,
                CapacityReservation,
                "a CapacityReservation",
            )
            arn = reservation.ml_reservation_arn
            if not validation.is_token(arn) and (
                not isinstance(arn, str) or not _RESERVATION_ARN.match(arn) or len(arn) > 258
            ):
                validation.fail(
                    scope,
                    f"{prop}.reservation.ml_reservation_arn",
                    arn,
                    "must be an ML capacity reservation ARN: arn:<partition>:sagemaker:"
                    "<region>:<account>:<type>/<id>, at most 258 characters",
                )
        if self.provision_timeout is not None:
            seconds = validation.whole_seconds(
                scope, f"{prop}.provision_timeout", self.provision_timeout
            )
            validation.check_service_int(
                scope,
                f"{prop}.provision_timeout",
                seconds,
                "VariantInstanceProvisionTimeoutInSeconds",
                unit=" s",
            )
        ami = self.inference_ami_version
        if ami is not None and not validation.is_token(ami):
            allowed = validation.service_enum("ProductionVariantInferenceAmiVersion")
            if ami not in allowed:
                validation.fail(
                    scope,
                    f"{prop}.inference_ami_version",
                    ami,
                    f"must be one of {', '.join(sorted(allowed))} (botocore "
                    "ProductionVariantInferenceAmiVersion)",
                )
            family, needs = (
                (_GPU_FAMILY, "GPU (ml.g*, ml.p*)")
                if "-gpu-" in ami
                else (_NEURON_FAMILY, "Inferentia2 or Trainium (ml.inf2, ml.trn*)")
            )
            wrong = sorted(
                t
                for t in instance_types
                if isinstance(t, str) and not validation.is_token(t) and not family.match(t)
            )
            if wrong:
                validation.fail(
                    scope,
                    f"{prop}.inference_ami_version",
                    ami,
                    f"is an AMI for {needs} instance types, not {', '.join(wrong)}",
                )

    def render(self) -> dict[str, Any]:
        """The variant's capacity properties: keyword arguments of ``ProductionVariantProperty``."""
        reservation = self.reservation
        config = sagemaker.CfnEndpointConfig.CapacityReservationConfigProperty
        return {
            "instance_pools": [
                sagemaker.CfnEndpointConfig.InstancePoolProperty(
                    instance_type=p.instance_type, priority=p.priority
                )
                for p in self.instance_pools
            ]
            or None,
            "capacity_reservation_config": config(
                ml_reservation_arn=reservation.ml_reservation_arn,
                capacity_reservation_preference="capacity-reservations-only"
                if reservation.reservations_only
                else None,
            )
            if reservation is not None
            else None,
            "variant_instance_provision_timeout_in_seconds": _seconds(self.provision_timeout),
            "inference_ami_version": self.inference_ami_version,
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComponentVariant:
    """A production variant that hosts inference components: instances, and no model of its own.

    An endpoint whose variants are ``ComponentVariant`` is in component mode:
    its models are :class:`InferenceComponent` constructs, each with its own
    CPU, memory and accelerator reservation and its own number of copies,
    placed on these instances.

    :param variant_name: its name. Default: ``"AllTraffic"``.
    :param instance_type: a SageMaker hosting instance type; or give
        ``capacity.instance_pools`` instead. Default: none.
    :param initial_instance_count: instances at creation. Default: 2 (multi-AZ).
    :param managed_scaling: let SageMaker scale the instances to the
        components' copies (down to 0 instances with ``min_instances=0``).
        Default: a fixed ``initial_instance_count``.
    :param capacity: instance pools, a capacity reservation, the provisioning
        timeout and the AMI version. Default: none.
    :param routing_strategy: Default: SageMaker's (``LEAST_OUTSTANDING_REQUESTS``).
    :param volume_size_gb: storage volume per instance, 1-512 GB. Default: SageMaker's.
    :param initial_weight: relative share of traffic. Default: 1.0.
    """

    variant_name: str = DEFAULT_VARIANT_NAME
    instance_type: str | None = None
    initial_instance_count: int = 2
    managed_scaling: ManagedInstanceScaling | None = None
    capacity: GpuCapacity | None = None
    routing_strategy: RoutingStrategy | None = None
    volume_size_gb: int | None = None
    initial_weight: float = 1.0

    @property
    def instance_types(self) -> list[str]:
        """Its instance type, or its pools' types in priority order."""
        if self.instance_type is not None:
            return [self.instance_type]
        pools = sorted(
            self.capacity.instance_pools if self.capacity else (), key=lambda p: p.priority
        )
        return [p.instance_type for p in pools]

    @property
    def max_instances(self) -> int:
        """Instances at most: the managed maximum, or the fixed count."""
        if self.managed_scaling is not None:
            return self.managed_scaling.max_instances
        return self.initial_instance_count

    @property
    def attributes(self) -> VariantAttributes:
        """What the endpoint's consumers know of this variant (pools: no single instance type)."""
        return VariantAttributes(variant_name=self.variant_name, instance_type=self.instance_type)

    def bind(
        self, scope: IConstruct, prop: str, *, multi_az: bool, **_: object
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        """Check this variant for the component-mode endpoint ``scope`` and render it."""
        pools = self.capacity.instance_pools if self.capacity is not None else ()
        if (self.instance_type is None) == (not pools):
            validation.fail(
                scope,
                f"{prop}.instance_type",
                self.instance_type,
                "give an instance_type, or capacity=GpuCapacity(instance_pools=[...]), not both"
                if pools
                else "give an instance_type (or instance pools)",
            )
        if self.instance_type is not None:
            validation.check_instance_type(scope, f"{prop}.instance_type", self.instance_type)
        validation.check_instance_count(
            scope, f"{prop}.initial_instance_count", self.initial_instance_count, multi_az=multi_az
        )
        scaling = self.managed_scaling
        if scaling is not None:
            validation.check_type(
                scope,
                f"{prop}.managed_scaling",
                scaling,
                ManagedInstanceScaling,
                "a ManagedInstanceScaling",
            )
            scaling.check(scope, f"{prop}.managed_scaling", multi_az=multi_az)
            count = self.initial_instance_count
            if (
                all(
                    not validation.is_token(v)
                    for v in (count, scaling.min_instances, scaling.max_instances)
                )
                and not scaling.min_instances <= count <= scaling.max_instances
            ):
                validation.fail(
                    scope,
                    f"{prop}.initial_instance_count",
                    count,
                    f"must be within managed_scaling's {scaling.min_instances}-"
                    f"{scaling.max_instances} instances",
                )
        if self.capacity is not None:
            validation.check_type(
                scope, f"{prop}.capacity", self.capacity, GpuCapacity, "a GpuCapacity"
            )
            self.capacity.check(scope, f"{prop}.capacity", self.instance_types)
        check_weight(scope, f"{prop}.initial_weight", self.initial_weight)
        validation.check_service_int(
            scope,
            f"{prop}.volume_size_gb",
            self.volume_size_gb,
            "ProductionVariantVolumeSizeInGB",
            unit=" GB",
        )
        validation.check_optional_type(
            scope,
            f"{prop}.routing_strategy",
            self.routing_strategy,
            RoutingStrategy,
            "a RoutingStrategy",
        )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=self.variant_name,
            instance_type=self.instance_type,
            initial_instance_count=self.initial_instance_count,
            initial_variant_weight=self.initial_weight,
            volume_size_in_gb=self.volume_size_gb,
            managed_instance_scaling=scaling.render() if scaling is not None else None,
            routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                routing_strategy=self.routing_strategy.value
            )
            if self.routing_strategy
            else None,
            **(self.capacity.render() if self.capacity is not None else {}),
        )


def check_weight(scope: IConstruct, prop: str, weight: float) -> None:
    if validation.is_token(weight):
        return
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        validation.fail(scope, prop, weight, "weights must be >= 0")


Variant = InstanceVariant | ServerlessVariant | ComponentVariant
