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
    :param instance_type: a SageMaker hosting instance type. Default: ``"ml.m5.large"``.
    :param initial_instance_count: instances at creation. Default: 2 (multi-AZ).
    :param initial_weight: relative share of traffic (1/1 is 50/50). Default: 1.0.
    :param volume_size_gb: storage volume per instance, 1-512 GB. Default: SageMaker's.
    :param model_data_download_timeout: 60-3600 s. Default: SageMaker's.
    :param container_startup_health_check_timeout: 60-3600 s. Default: SageMaker's.
    :param routing_strategy: Default: SageMaker's (``LEAST_OUTSTANDING_REQUESTS``).
    :param accelerator_type: refused: Elastic Inference ended in 2024.
    """

    model: Model
    variant_name: str = DEFAULT_VARIANT_NAME
    instance_type: str = DEFAULT_INSTANCE_TYPE
    initial_instance_count: int = 2
    initial_weight: float = 1.0
    volume_size_gb: int | None = None
    model_data_download_timeout: Duration | None = None
    container_startup_health_check_timeout: Duration | None = None
    routing_strategy: RoutingStrategy | None = None
    accelerator_type: str | None = None

    @property
    def attributes(self) -> VariantAttributes:
        """What the endpoint's consumers know of this variant."""
        return VariantAttributes(variant_name=self.variant_name, instance_type=self.instance_type)

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
        validation.check_instance_type(scope, name("instance_type"), self.instance_type)
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
            instance_type=self.instance_type,
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


def check_weight(scope: IConstruct, prop: str, weight: float) -> None:
    if validation.is_token(weight):
        return
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
        validation.fail(scope, prop, weight, "weights must be >= 0")


Variant = InstanceVariant | ServerlessVariant
