"""Inference components: several models on one endpoint's instances, each with its own share.

An :class:`~cdk_sagemaker_hosting.endpoint.Endpoint` built with
:class:`~cdk_sagemaker_hosting.variants.ComponentVariant` variants hosts
:class:`InferenceComponent` s (``AWS::SageMaker::InferenceComponent``): each
runs one model (a :class:`~cdk_sagemaker_hosting.model.Model`, or a container
given here) with its own CPU cores, memory and accelerator devices per copy,
and its own number of copies, scaled on its own and down to zero
(:meth:`InferenceComponent.auto_scale_copies`), updated in rolling batches
with rollback alarms (:class:`ComponentDeployment`) and watched by
:class:`ComponentMonitoring`.

What cannot be placed is refused at synth: each copy must fit one instance,
and the copies of every component of a variant must fit its instances at
their managed maximum (vCPUs, memory, accelerators from
:mod:`cdk_sagemaker_hosting.instance_capacity`).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from typing import Any

import jsii
from aws_cdk import Annotations, Duration, IStableAnyProducer, Lazy, Names, Resource, Stage
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting import encryption, instance_capacity, validation
from cdk_sagemaker_hosting.deployment import MAX_ROLLBACK_ALARMS, _check_seconds
from cdk_sagemaker_hosting.endpoint import INVOCATION_NAMESPACE, Endpoint
from cdk_sagemaker_hosting.endpoint import _RollbackAlarms as _EndpointRollbackAlarms
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from cdk_sagemaker_hosting.model import ContainerImage, Model, ModelData
from cdk_sagemaker_hosting.monitoring import (
    AT_MAX_MINUTES,
    GT,
    GTE,
    LT,
    ROLLBACK_KINDS,
    AlarmMap,
    AlarmThresholds,
)
from cdk_sagemaker_hosting.scaling import TargetTracking
from cdk_sagemaker_hosting.variants import ComponentVariant
from constructs import Construct, IConstruct, IValidation

#: Per-copy utilisation of components, normalised to what each copy reserved.
COMPONENT_NAMESPACE = "/aws/sagemaker/InferenceComponents"
SCALABLE_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
#: SageMaker takes at most 16 environment variables for a component's container.
MAX_ENVIRONMENT = 16
#: A rolling batch is 5-50 % of the component's copies.
ROLLING_BATCH_PERCENT = (5, 50)
ROLLBACK_BATCH_PERCENT = (1, 100)
#: Specifications for several instance types: 2-5 (one type: ``requirements``).
SPECIFICATIONS = (2, 5)
#: Warning ID: copies on instance types whose resources the package does not know.
PLACEMENT_UNCHECKED = "cdk-sagemaker-hosting:ComponentPlacementUnchecked"
#: Warning ID: a component created with no copy that nothing scales.
NO_COPIES = "cdk-sagemaker-hosting:ComponentWithoutCopies"


# --- what a copy needs ---------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComputeRequirements:
    """What SageMaker reserves on an instance for each copy of a component.

    :param min_memory_mb: memory reserved per copy, at least 128 MB.
    :param max_memory_mb: memory a copy may use at most, at least
        ``min_memory_mb``. Default: no limit.
    :param cpu_cores: CPU cores reserved per copy, at least 0.25. Default: none.
    :param accelerators: whole GPUs / Inferentia or Trainium devices per copy,
        at least 1. Default: none.
    """

    min_memory_mb: int
    max_memory_mb: int | None = None
    cpu_cores: float | None = None
    accelerators: int | None = None

    def check(self, scope: IConstruct, prop: str) -> None:
        """Check against botocore's limits; errors name ``<prop>.<field>``."""
        for field in ("min_memory_mb", "max_memory_mb"):
            validation.check_service_int(
                scope,
                f"{prop}.{field}",
                getattr(self, field),
                "InferenceComponentComputeResourceRequirements",
                "MinMemoryRequiredInMb",
                unit=" MB",
            )
        low, high = self.min_memory_mb, self.max_memory_mb
        if (
            high is not None
            and not validation.is_token(high)
            and not validation.is_token(low)
            and high < low
        ):
            validation.fail(
                scope, f"{prop}.max_memory_mb", high, f"must be at least min_memory_mb ({low})"
            )
        cores_low, _ = validation.service_range(
            "InferenceComponentComputeResourceRequirements", "NumberOfCpuCoresRequired"
        )
        validation.check_range(
            scope, f"{prop}.cpu_cores", self.cpu_cores, low=cores_low or 0.25, high=math.inf
        )
        devices_low, _ = validation.service_range(
            "InferenceComponentComputeResourceRequirements", "NumberOfAcceleratorDevicesRequired"
        )
        validation.check_int(
            scope,
            f"{prop}.accelerators",
            self.accelerators,
            low=int(devices_low or 1),
            unit=" devices",
        )

    def render(
        self,
    ) -> sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty:
        """The ``ComputeResourceRequirements``."""
        return (
            sagemaker.CfnInferenceComponent.InferenceComponentComputeResourceRequirementsProperty(
                min_memory_required_in_mb=self.min_memory_mb,
                max_memory_required_in_mb=self.max_memory_mb,
                number_of_cpu_cores_required=self.cpu_cores,
                number_of_accelerator_devices_required=self.accelerators,
            )
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComponentContainer:
    """A component's container given directly, without a :class:`Model`.

    SageMaker pulls the image and reads the artifact with the endpoint's
    execution role, which is granted pull on that repository and read on that
    object only.

    :param image: the container image.
    :param model_data: its artifact, one ``.tar.gz`` object. Default: none.
    :param environment: at most 16 variables. Default: none.
    """

    image: ContainerImage
    model_data: ModelData | None = None
    environment: Mapping[str, str] | None = None


class PlacementStrategy(enum.Enum):
    """How SageMaker places a component's copies on the instances (within each zone)."""

    #: Copies evenly over the instances, for resilience.
    SPREAD = "SPREAD"
    #: Copies on as few instances as possible, for cost.
    BINPACK = "BINPACK"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Scheduling:
    """Where a component's copies go: a placement strategy, balanced over Availability Zones.

    SageMaker balances copies over zones permissively (it still places a copy
    when balance cannot be kept); CloudFormation requires the zone balance
    whenever a scheduling config is given.

    :param placement: Default: ``SPREAD``.
    :param max_zone_imbalance: the largest difference in copies between two
        zones, 0-100. Default: SageMaker's (0).
    """

    placement: PlacementStrategy = PlacementStrategy.SPREAD
    max_zone_imbalance: int | None = None

    def check(self, scope: IConstruct, prop: str) -> None:
        """Check the strategy and the imbalance."""
        validation.check_type(
            scope, f"{prop}.placement", self.placement, PlacementStrategy, "a PlacementStrategy"
        )
        validation.check_service_int(
            scope,
            f"{prop}.max_zone_imbalance",
            self.max_zone_imbalance,
            "AvailabilityZoneBalanceMaxImbalance",
        )

    def render(self) -> sagemaker.CfnInferenceComponent.InferenceComponentSchedulingConfigProperty:
        """The ``SchedulingConfig``."""
        cfn = sagemaker.CfnInferenceComponent
        return cfn.InferenceComponentSchedulingConfigProperty(
            placement_strategy=self.placement.value,
            availability_zone_balance=cfn.InferenceComponentAvailabilityZoneBalanceProperty(
                enforcement_mode="PERMISSIVE", max_imbalance=self.max_zone_imbalance
            ),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceTypeSpecification:
    """What a component needs on one instance type of a variant with instance pools.

    :param instance_type: one of the variant's pool types.
    :param requirements: what each copy reserves on that type.
    :param model: a model for that type (e.g. compiled for it). Default: the
        component's.
    """

    instance_type: str
    requirements: ComputeRequirements
    model: Model | None = None


# --- safe updates ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class ComponentDeployment:
    """A rolling update of a component's copies, rolled back on alarms. Use :meth:`rolling`."""

    wait: Duration
    batch_copies: int | None = None
    batch_percent: int | None = None
    rollback_batch_copies: int | None = None
    rollback_batch_percent: int | None = None
    maximum_execution_timeout: Duration | None = None
    rollback_alarms: Sequence[cloudwatch.IAlarm] = ()

    @classmethod
    def rolling(
        cls,
        *,
        wait: Duration,
        batch_copies: int | None = None,
        batch_percent: int | None = None,
        rollback_alarms: Sequence[cloudwatch.IAlarm] = (),
        rollback_batch_copies: int | None = None,
        rollback_batch_percent: int | None = None,
        maximum_execution_timeout: Duration | None = None,
    ) -> ComponentDeployment:
        """Replace copies in batches of ``batch_copies`` or ``batch_percent`` (5-50 % of them).

        :param wait: bake time per batch while alarms are watched, 0-3600 s.
        :param rollback_alarms: 1-10 alarms (or added later with
            :meth:`InferenceComponent.add_rollback_alarms`).
        :param rollback_batch_copies: copies restored at a time on rollback.
            Default: all at once.
        :param rollback_batch_percent: the same in percent (1-100).
        :param maximum_execution_timeout: 600-28800 s. Default: SageMaker's.
        """
        return cls(
            wait=wait,
            batch_copies=batch_copies,
            batch_percent=batch_percent,
            rollback_alarms=tuple(rollback_alarms),
            rollback_batch_copies=rollback_batch_copies,
            rollback_batch_percent=rollback_batch_percent,
            maximum_execution_timeout=maximum_execution_timeout,
        )

    def check(self, scope: IConstruct, prop: str, copy_count: int | None) -> None:
        """Every rule but the alarm count (checked when the template is written)."""
        _check_seconds(scope, f"{prop}.wait", self.wait, "WaitIntervalInSeconds")
        _check_seconds(
            scope,
            f"{prop}.maximum_execution_timeout",
            self.maximum_execution_timeout,
            "MaximumExecutionTimeoutInSeconds",
        )
        _check_batch(
            scope,
            f"{prop}.batch",
            self.batch_copies,
            self.batch_percent,
            ROLLING_BATCH_PERCENT,
            copy_count,
            required=True,
        )
        _check_batch(
            scope,
            f"{prop}.rollback_batch",
            self.rollback_batch_copies,
            self.rollback_batch_percent,
            ROLLBACK_BATCH_PERCENT,
            copy_count,
            required=False,
        )
        for i, alarm in enumerate(self.rollback_alarms):
            validation.check_type(
                scope,
                f"{prop}.rollback_alarms[{i}]",
                alarm,
                cloudwatch.IAlarm,
                "a cloudwatch.IAlarm",
            )
        if len(self.rollback_alarms) > MAX_ROLLBACK_ALARMS:
            validation.fail(
                scope,
                f"{prop}.rollback_alarms",
                f"{len(self.rollback_alarms)} alarms",
                f"give at most {MAX_ROLLBACK_ALARMS}",
            )

    def render(
        self, rollback: Any
    ) -> sagemaker.CfnInferenceComponent.InferenceComponentDeploymentConfigProperty:
        """The component's ``DeploymentConfig``; ``rollback``: its alarms, or a token."""
        cfn = sagemaker.CfnInferenceComponent
        return cfn.InferenceComponentDeploymentConfigProperty(
            auto_rollback_configuration=rollback,
            rolling_update_policy=cfn.InferenceComponentRollingUpdatePolicyProperty(
                maximum_batch_size=_batch(self.batch_copies, self.batch_percent),
                wait_interval_in_seconds=int(self.wait.to_seconds()),
                maximum_execution_timeout_in_seconds=None
                if self.maximum_execution_timeout is None
                else int(self.maximum_execution_timeout.to_seconds()),
                rollback_maximum_batch_size=_batch(
                    self.rollback_batch_copies, self.rollback_batch_percent
                ),
            ),
        )


def _batch(
    copies: int | None, percent: int | None
) -> sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty | None:
    size = sagemaker.CfnInferenceComponent.InferenceComponentCapacitySizeProperty
    if copies is not None:
        return size(type="COPY_COUNT", value=copies)
    if percent is not None:
        return size(type="CAPACITY_PERCENT", value=percent)
    return None


def _check_batch(  # noqa: PLR0917 - one batch's parts
    scope: IConstruct,
    prop: str,
    copies: int | None,
    percent: int | None,
    bounds: tuple[int, int],
    copy_count: int | None,
    *,
    required: bool,
) -> None:
    """A batch in copies or percent; in copies, within ``bounds`` percent of ``copy_count``."""
    if copies is not None and percent is not None:
        validation.fail(
            scope, prop, {"copies": copies, "percent": percent}, "give copies or percent, not both"
        )
    if copies is None and percent is None:
        if required:
            validation.fail(scope, prop, None, "give batch_copies or batch_percent")
        return
    low, high = bounds
    if percent is not None:
        validation.check_int(scope, f"{prop}_percent", percent, low=low, high=high, unit=" %")
        return
    validation.check_int(scope, f"{prop}_copies", copies, low=1)
    if copy_count and not validation.is_token(copy_count) and not validation.is_token(copies):
        assert copies is not None
        share = 100 * copies / copy_count
        if not low <= share <= high:
            validation.fail(
                scope,
                f"{prop}_copies",
                copies,
                f"{copies} of the component's {copy_count} copies is {share:g} %; SageMaker "
                f"takes batches of {low}-{high} % of the copies",
            )


def _check_batches_while_scaling(
    component: InferenceComponent, min_copies: int, max_copies: int
) -> None:
    """A batch in copies stays within SageMaker's share at every copy count scaling may reach."""
    deployment = component.deployment
    if deployment is None:
        return
    for field, copies, (low, high) in (
        ("batch", deployment.batch_copies, ROLLING_BATCH_PERCENT),
        ("rollback_batch", deployment.rollback_batch_copies, ROLLBACK_BATCH_PERCENT),
    ):
        if copies is None or validation.is_token(copies):
            continue
        for count in sorted({max(min_copies, 1), max_copies}):
            share = 100 * copies / count
            if not low <= share <= high:
                validation.fail(
                    component,
                    f"deployment.{field}_copies",
                    copies,
                    f"auto_scale_copies(min_copies={min_copies}, max_copies={max_copies}) lets "
                    f"the component be updated at {count} copies, where {copies} copies is "
                    f"{share:g} %; SageMaker takes batches of {low}-{high} % of the copies: "
                    f"give {field}_percent instead (it follows the copy count)",
                )


@jsii.implements(IStableAnyProducer)
class _RollbackAlarms(_EndpointRollbackAlarms):
    """A component's rollback alarms, rendered when the template is written."""

    def produce(self) -> Any:
        if not self.alarms:
            return None
        cfn = sagemaker.CfnInferenceComponent
        return cfn.AutoRollbackConfigurationProperty(
            alarms=[cfn.AlarmProperty(alarm_name=a.alarm_name) for a in self.alarms]
        )


@jsii.implements(IValidation)
class _CheckRollbackAlarms:
    """A rolling update needs 1-10 alarms: checked when the template is written."""

    def __init__(self, component: InferenceComponent) -> None:
        self._component = component

    def validate(self) -> list[str]:
        count = len(self._component.rollback_alarms)
        path = self._component.node.path
        if count == 0:
            return [
                f"{path}: deployment.rollback_alarms=[] is invalid: a rolling update needs "
                f"1-{MAX_ROLLBACK_ALARMS} alarms to roll back on; give rollback_alarms, or call "
                "component.add_rollback_alarms(...) (e.g. with ComponentMonitoring's "
                "rollback_alarms())"
            ]
        if count > MAX_ROLLBACK_ALARMS:
            return [
                f"{path}: deployment.rollback_alarms='{count} alarms' is invalid: give at most "
                f"{MAX_ROLLBACK_ALARMS}"
            ]
        return []


@jsii.implements(IValidation)
class _WarnNoCopies:
    """``copy_count=0`` and no copy scaling: checked at synth (scaling may be added later)."""

    def __init__(self, component: InferenceComponent) -> None:
        self._component = component

    def validate(self) -> list[str]:
        component = self._component
        if component.scaling is None:
            Annotations.of(component).add_warning_v2(
                NO_COPIES,
                "copy_count=0 and no auto_scale_copies: the component is created without a "
                "copy and nothing adds one, so every request to it fails "
                "(NoCapacityInvocationFailures). Give copy_count, or call "
                "component.auto_scale_copies(min_copies=0, max_copies=...) so that its first "
                "request wakes it.",
            )
        return []


# --- the component -----------------------------------------------------------------


class InferenceComponent(Resource):
    """One model on a component-mode endpoint, with its own share of the instances and copies.

    Give the model as a :class:`Model` (one container; its role pulls and
    reads what it needs) or a :class:`ComponentContainer` (the endpoint's
    execution role is granted exactly that image and artifact); or make an
    adapter (``base_component`` and ``adapter_data``: e.g. LoRA weights) that
    runs inside a base component's copies and reserves nothing of its own.

    Secure and resilient by default: copies spread over instances and
    balanced over Availability Zones; on a multi-AZ endpoint a component has
    at least 2 copies, or 0 (scaled to zero); a model without network
    isolation on an isolated endpoint is refused.

    Checked at synth: requirements and counts against botocore's limits;
    each copy fits one instance of each type it may run on; the copies of
    every component of the variant fit its instances at their managed
    maximum (refused when they certainly cannot; instance types the package
    has no figures for add the warning
    ``cdk-sagemaker-hosting:ComponentPlacementUnchecked``).

    A component may live in another stack than its endpoint (in the same
    ``Stage``): what its container or adapter needs is granted to the
    endpoint's execution role through a managed policy in the component's own
    stack (``ExecutionPolicy``), which the component waits for.

    Construct IDs (a public contract): ``Resource`` (the
    ``AWS::SageMaker::InferenceComponent``), ``ExecutionPolicy`` (with a
    ``container`` or ``adapter_data``), ``Scaling`` (from
    :meth:`auto_scale_copies`).

    :param endpoint: an :class:`Endpoint` with :class:`ComponentVariant` variants.
    :param variant_name: its variant. Default: the first.
    :param model: the model. Give ``model``, ``container`` or ``base_component``.
    :param container: a container instead of a model.
    :param base_component: make this an adapter of that component.
    :param adapter_data: the adapter's artifact (with ``base_component``).
    :param requirements: what each copy reserves (not for adapters, nor with
        ``specifications``).
    :param specifications: 2-5 instance types of the variant's pools, each
        with its own requirements (and model). Default: none.
    :param copy_count: copies at creation, 0 allowed (without
        :meth:`auto_scale_copies`, nothing adds one: warning
        ``cdk-sagemaker-hosting:ComponentWithoutCopies``). Default: 2 (1 on a
        single-AZ endpoint); adapters have none.
    :param model_data_download_timeout: 60-3600 s. Default: SageMaker's.
    :param container_startup_health_check_timeout: 60-3600 s. Default: SageMaker's.
    :param scheduling: Default: ``Scheduling()`` (spread, zones balanced).
    :param cache_data: cache the model and image on the instances, so new
        copies start faster. Default: SageMaker's.
    :param deployment: rolling updates with rollback. Default: SageMaker's.
    :param component_name: Default: derived from the construct path.
    """

    def __init__(  # noqa: PLR0912, PLR0915 - the component's options, each checked
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint: Endpoint,
        variant_name: str | None = None,
        model: Model | None = None,
        container: ComponentContainer | None = None,
        base_component: InferenceComponent | None = None,
        adapter_data: ModelData | None = None,
        requirements: ComputeRequirements | None = None,
        specifications: Sequence[InstanceTypeSpecification] = (),
        copy_count: int | None = None,
        model_data_download_timeout: Duration | None = None,
        container_startup_health_check_timeout: Duration | None = None,
        scheduling: Scheduling | None = None,
        cache_data: bool | None = None,
        deployment: ComponentDeployment | None = None,
        component_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id, physical_name=component_name)
        validation.check_type(
            self, "endpoint", endpoint, Endpoint, "an Endpoint with ComponentVariant variants"
        )
        if not endpoint.component_mode:
            validation.fail(
                self,
                "endpoint",
                endpoint.node.path,
                "hosts models on its variants; inference components need an endpoint built "
                "with variants=[ComponentVariant(...)]",
            )
        if Stage.of(self) is not Stage.of(endpoint):
            validation.fail(
                self,
                "endpoint",
                endpoint.node.path,
                "is in another Stage; CloudFormation orders a component after its endpoint "
                "only within one Stage (one deployment): build the component in a stack of "
                "the endpoint's Stage",
            )
        validation.check_sagemaker_name(self, "component_name", component_name)
        self.endpoint = endpoint
        self._grants: ManagedPolicyPrincipal | None = None
        self.is_adapter = base_component is not None
        given = [n for n, v in (("model", model), ("container", container)) if v is not None]
        if base_component is not None:
            given.append("base_component")
        if len(given) != 1:
            validation.fail(
                self,
                "model/container/base_component",
                given or None,
                "give exactly one: a Model, a ComponentContainer, or base_component (an adapter)",
            )
        self.component_name: str = component_name or Names.unique_resource_name(
            self, max_length=validation.NAME_MAX_LENGTH, separator="-"
        )
        if self.is_adapter:
            self._check_adapter(
                base_component,
                adapter_data,
                requirements=requirements,
                specifications=specifications,
                copy_count=copy_count,
                scheduling=scheduling,
                cache_data=cache_data,
                deployment=deployment,
                variant_name=variant_name,
                timeouts=(model_data_download_timeout, container_startup_health_check_timeout),
            )
            assert base_component is not None
            self.variant: ComponentVariant = base_component.variant
        else:
            if adapter_data is not None:
                validation.fail(
                    self, "adapter_data", "set", "applies to adapters (with base_component) only"
                )
            variant = endpoint.find_component_variant(variant_name)
            if variant is None:
                names = [v.variant_name for v in endpoint.variants]
                validation.fail(
                    self, "variant_name", variant_name, f"the endpoint's variants are {names}"
                )
            self.variant = variant
        self.base_component = base_component
        self.model = model
        self.specifications = tuple(specifications)
        self.requirements = requirements
        default_copies = None if self.is_adapter else (2 if endpoint.multi_az else 1)
        self.copy_count: int | None = copy_count if copy_count is not None else default_copies
        self.scaling: ComponentScaling | None = None
        self.deployment = deployment
        self._rollback = _RollbackAlarms(list(deployment.rollback_alarms) if deployment else [])

        specification: Any = None
        rendered_specs: Any = None
        if self.is_adapter:
            assert adapter_data is not None
            specification = sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                base_inference_component_name=base_component.component_name,  # type: ignore[union-attr]
                container=sagemaker.CfnInferenceComponent.InferenceComponentContainerSpecificationProperty(
                    artifact_url=self._artifact(adapter_data, "adapter_data")
                ),
            )
        else:
            self._check_copies()
            shared = self._shared(
                scheduling,
                cache_data,
                model_data_download_timeout,
                container_startup_health_check_timeout,
            )
            model_name = self._model_name(model, "model") if model is not None else None
            rendered_container = self._container(container) if container is not None else None
            if specifications:
                rendered_specs = self._specifications(model_name, rendered_container, shared)
                if requirements is not None:
                    validation.fail(
                        self,
                        "requirements",
                        "set",
                        "with specifications, give the requirements per instance type",
                    )
            else:
                if requirements is None:
                    validation.fail(
                        self,
                        "requirements",
                        None,
                        "give what each copy reserves: ComputeRequirements(min_memory_mb=..., "
                        "cpu_cores=..., accelerators=...)",
                    )
                validation.check_type(
                    self, "requirements", requirements, ComputeRequirements, "a ComputeRequirements"
                )
                requirements.check(self, "requirements")
                specification = (
                    sagemaker.CfnInferenceComponent.InferenceComponentSpecificationProperty(
                        model_name=model_name,
                        container=rendered_container,
                        compute_resource_requirements=requirements.render(),
                        **shared,
                    )
                )
            if deployment is not None:
                validation.check_type(
                    self, "deployment", deployment, ComponentDeployment, "a ComponentDeployment"
                )
                deployment.check(self, "deployment", self.copy_count)
                self.node.add_validation(_CheckRollbackAlarms(self))

        self.resource = sagemaker.CfnInferenceComponent(
            self,
            "Resource",
            endpoint_name=endpoint.endpoint_name,
            inference_component_name=self.component_name,
            variant_name=None if self.is_adapter else self.variant.variant_name,
            specification=specification,
            specifications=rendered_specs,
            runtime_config=None
            if self.is_adapter
            else sagemaker.CfnInferenceComponent.InferenceComponentRuntimeConfigProperty(
                copy_count=self.copy_count
            ),
            deployment_config=deployment.render(Lazy.any(self._rollback))
            if deployment is not None
            else None,
        )
        # The endpoint is named at synth, so nothing else orders the two.
        self.resource.node.add_dependency(endpoint.resource)
        if self._grants is not None and self._grants.policy.document.is_empty:
            # An image outside ECR and no artifact: nothing to grant.
            self.node.try_remove_child("ExecutionPolicy")
            self._grants = None
        if self._grants is not None:
            # SageMaker pulls the image and artifact once the role may.
            self.resource.node.add_dependency(self._grants.policy)
        if base_component is not None:
            self.resource.node.add_dependency(base_component.resource)
        if not self.is_adapter:
            check_placement(self, self, "copy_count")
            if self.copy_count == 0 and not validation.is_token(self.copy_count):
                self.node.add_validation(_WarnNoCopies(self))
        endpoint._add_component(self, model)
        for spec in self.specifications:
            if spec.model is not None:
                endpoint._add_component(self, spec.model)

    # --- checks -------------------------------------------------------------------

    def _check_adapter(
        self,
        base: InferenceComponent | None,
        adapter_data: ModelData | None,
        *,
        timeouts: tuple[Duration | None, Duration | None],
        **refused: Any,
    ) -> None:
        validation.check_type(
            self, "base_component", base, InferenceComponent, "an InferenceComponent"
        )
        assert base is not None
        if base.is_adapter:
            validation.fail(
                self,
                "base_component",
                base.node.path,
                "is an adapter itself; an adapter runs in a base component (one with a model)",
            )
        if base.endpoint is not self.endpoint:
            validation.fail(
                self,
                "base_component",
                base.node.path,
                f"is hosted by {base.endpoint.node.path}, not by this component's endpoint",
            )
        if adapter_data is None:
            validation.fail(
                self,
                "adapter_data",
                None,
                "an adapter needs its artifact: ModelData.from_bucket(bucket, 'adapter.tar.gz')",
            )
        defaults: dict[str, Any] = {"specifications": ()}
        for prop, value in {**refused, "timeouts": timeouts}.items():
            if prop == "timeouts":
                if any(t is not None for t in value):
                    validation.fail(
                        self,
                        "model_data_download_timeout/container_startup_health_check_timeout",
                        "set",
                        "an adapter starts inside its base component: set the timeouts there",
                    )
                continue
            if value is not None and value != defaults.get(prop):
                validation.fail(
                    self,
                    prop,
                    validation.shown(value),
                    "an adapter runs in its base component's copies, on its variant, and "
                    "reserves nothing of its own: leave it out",
                )

    def _check_copies(self) -> None:
        copies = self.copy_count
        validation.check_service_int(
            self, "copy_count", copies, "InferenceComponentRuntimeConfig", "CopyCount"
        )
        if self.endpoint.multi_az and copies == 1:
            validation.fail(
                self,
                "copy_count",
                copies,
                f"on a multi-AZ endpoint a component keeps at least "
                f"{validation.MULTI_AZ_MIN_INSTANCES} copies (or 0, scaled to zero) so that "
                "SageMaker can place them in different zones; raise it, or build the endpoint "
                "with multi_az=False (development only)",
            )

    def _shared(
        self,
        scheduling: Scheduling | None,
        cache_data: bool | None,
        download: Duration | None,
        startup: Duration | None,
    ) -> dict[str, Any]:
        """Startup parameters, scheduling and caching: the same for every instance type."""
        cfn = sagemaker.CfnInferenceComponent
        seconds: dict[str, int | None] = {}
        for prop, duration, shape in (
            (
                "model_data_download_timeout",
                download,
                "ProductionVariantModelDataDownloadTimeoutInSeconds",
            ),
            (
                "container_startup_health_check_timeout",
                startup,
                "ProductionVariantContainerStartupHealthCheckTimeoutInSeconds",
            ),
        ):
            value = None if duration is None else validation.whole_seconds(self, prop, duration)
            validation.check_service_int(self, prop, value, shape, unit=" s")
            seconds[prop] = value
        scheduling = scheduling or Scheduling()
        validation.check_type(self, "scheduling", scheduling, Scheduling, "a Scheduling")
        scheduling.check(self, "scheduling")
        validation.check_optional_type(self, "cache_data", cache_data, bool, "True or False")
        startup_parameters = None
        if any(v is not None for v in seconds.values()):
            startup_parameters = cfn.InferenceComponentStartupParametersProperty(
                model_data_download_timeout_in_seconds=seconds["model_data_download_timeout"],
                container_startup_health_check_timeout_in_seconds=seconds[
                    "container_startup_health_check_timeout"
                ],
            )
        return {
            "startup_parameters": startup_parameters,
            "scheduling_config": scheduling.render(),
            "data_cache_config": cfn.InferenceComponentDataCacheConfigProperty(
                enable_caching=cache_data
            )
            if cache_data is not None
            else None,
        }

    def _model_name(self, model: Model, prop: str) -> str:
        validation.check_type(self, prop, model, Model, "a Model")
        if model.is_pipeline or model.multi_model:
            validation.fail(
                self,
                prop,
                model.node.path,
                "a component runs one single-model container: give a Model with image= "
                "(components are the many-models-per-endpoint answer, instead of multi-model)",
            )
        if model.vpc is not None:
            validation.fail(
                self,
                f"{prop}.vpc",
                model.vpc.node.path,
                "a component-mode endpoint runs its components with the endpoint config's "
                "network settings, so SageMaker would run the model outside that VPC. Build "
                "the Model without vpc and give the VPC to the endpoint (Endpoint(vpc=..., "
                "vpc_subnets=..., security_groups=...))",
            )
        if self.endpoint.network_isolation and not model.network_isolation:
            validation.fail(
                self,
                prop,
                model.node.path,
                "has network isolation off, but the endpoint isolates every container; "
                "pass network_isolation=False to the endpoint too (its warning says why not), "
                "or keep the model isolated",
            )
        return model.model_name

    def _artifact(self, data: ModelData, prop: str) -> str:
        validation.check_type(self, prop, data, ModelData, "a ModelData")
        if data.is_prefix:
            validation.fail(
                self,
                prop,
                "a prefix",
                "a component's artifact is one .tar.gz object: ModelData.from_bucket(bucket, key)",
            )
        return data.bind(self, self._execution_grantee(), prop)

    def _execution_grantee(self) -> ManagedPolicyPrincipal:
        """The endpoint's execution role, granted through a managed policy in this stack.

        In the component's own stack, so that a component in another stack
        than its endpoint adds no reference from the endpoint's stack to its
        own (which would be a cycle).
        """
        if self._grants is None:
            role = self.endpoint.execution_role
            assert role is not None  # component mode, checked first
            self._grants = ManagedPolicyPrincipal(self, "ExecutionPolicy", role=role)
        return self._grants

    def _container(
        self, container: ComponentContainer
    ) -> sagemaker.CfnInferenceComponent.InferenceComponentContainerSpecificationProperty:
        validation.check_type(
            self, "container", container, ComponentContainer, "a ComponentContainer"
        )
        validation.check_type(
            self, "container.image", container.image, ContainerImage, "a ContainerImage"
        )
        environment = dict(container.environment or {})
        if len(environment) > MAX_ENVIRONMENT:
            validation.fail(
                self,
                "container.environment",
                f"{len(environment)} variables",
                f"a component's container takes at most {MAX_ENVIRONMENT}",
            )
        validation.check_environment(self, "container.environment", environment)
        image = container.image.bind(self, _Grantee(self._execution_grantee()), "container.image")
        artifact = (
            self._artifact(container.model_data, "container.model_data")
            if container.model_data is not None
            else None
        )
        return sagemaker.CfnInferenceComponent.InferenceComponentContainerSpecificationProperty(
            image=image, artifact_url=artifact, environment=environment or None
        )

    def _specifications(
        self, model_name: str | None, container: Any, shared: dict[str, Any]
    ) -> list[Any]:
        low, high = SPECIFICATIONS
        specs = self.specifications
        validation.check_count(
            self, "specifications", len(specs), low=low, high=high, what="instance types"
        )
        pool_types = self.variant.instance_types
        if self.variant.instance_type is not None:
            validation.fail(
                self,
                "specifications",
                [getattr(s, "instance_type", s) for s in specs],
                f"variant {self.variant.variant_name} runs one instance type; give requirements "
                "(specifications are for a variant with capacity=GpuCapacity(instance_pools=...))",
            )
        rendered = []
        cfn = sagemaker.CfnInferenceComponent
        for i, spec in enumerate(specs):
            prop = f"specifications[{i}]"
            validation.check_type(
                self, prop, spec, InstanceTypeSpecification, "an InstanceTypeSpecification"
            )
            if spec.instance_type not in pool_types:
                validation.fail(
                    self,
                    f"{prop}.instance_type",
                    spec.instance_type,
                    f"not an instance pool of variant {self.variant.variant_name} "
                    f"({', '.join(pool_types)})",
                )
            validation.check_type(
                self,
                f"{prop}.requirements",
                spec.requirements,
                ComputeRequirements,
                "a ComputeRequirements",
            )
            spec.requirements.check(self, f"{prop}.requirements")
            name = (
                self._model_name(spec.model, f"{prop}.model")
                if spec.model is not None
                else model_name
            )
            rendered.append(
                cfn.InferenceComponentSpecificationForInstanceTypeProperty(
                    instance_type=spec.instance_type,
                    model_name=name,
                    container=None
                    if container is None or spec.model is not None
                    else cfn.InferenceComponentContainerSpecificationForInstanceTypeProperty(
                        image=container.image,
                        artifact_url=container.artifact_url,
                        environment=container.environment,
                    ),
                    compute_resource_requirements=spec.requirements.render(),
                    **shared,
                )
            )
        types_given = [s.instance_type for s in specs]
        duplicates = sorted({t for t in types_given if types_given.count(t) > 1})
        if duplicates:
            validation.fail(
                self, "specifications[].instance_type", duplicates, "one specification per type"
            )
        return rendered

    # --- placement ------------------------------------------------------------------

    def placements(self) -> list[tuple[str, ComputeRequirements]]:
        """(instance type, what a copy reserves there) for each type a copy may run on."""
        if self.is_adapter:
            return []
        if self.specifications:
            return [(s.instance_type, s.requirements) for s in self.specifications]
        assert self.requirements is not None
        return [(t, self.requirements) for t in self.variant.instance_types]

    @property
    def max_copies(self) -> int | None:
        """Copies at most: the scaling maximum, or the copy count."""
        if self.scaling is not None:
            return self.scaling.max_copies
        return self.copy_count

    # --- scaling, deployments -----------------------------------------------------------

    def auto_scale_copies(self, *, min_copies: int, max_copies: int) -> ComponentScaling:
        """Register the copy count with Application Auto Scaling; add policies to the result.

        ``min_copies=0`` scales the component to zero: the step policy that
        wakes it on its first request (``NoCapacityInvocationFailures``, as
        AWS documents) is added with it. With the variant's
        ``managed_scaling.min_instances=0``, the instances follow to zero.
        """
        if self.scaling is not None:
            validation.fail(
                self,
                "auto_scale_copies",
                self.component_name,
                "a component has one scalable target; add policies to the one returned before",
            )
        self.scaling = ComponentScaling(
            self, "Scaling", component=self, min_copies=min_copies, max_copies=max_copies
        )
        return self.scaling

    def add_rollback_alarms(self, *alarms: cloudwatch.IAlarm) -> None:
        """Roll the component's updates back when any of ``alarms`` is in ALARM.

        Needs a ``deployment``; 1-10 alarms in all, rendered when the template is written.
        """
        if self.deployment is None:
            validation.fail(
                self,
                "add_rollback_alarms",
                [validation.shown(a) for a in alarms],
                "rollback alarms need a deployment: pass deployment=ComponentDeployment."
                "rolling(...) to the component",
            )
        self._rollback.add(self, alarms)

    @property
    def rollback_alarms(self) -> list[cloudwatch.IAlarm]:
        """The alarms that roll the component's updates back."""
        return list(self._rollback.alarms)

    @property
    def component_arn(self) -> str:
        """The component's ARN."""
        return self.resource.attr_inference_component_arn

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke the endpoint (naming this component in its requests)."""
        return self.endpoint.grant_invoke(grantee)

    # --- metrics ------------------------------------------------------------------------

    def metric(
        self,
        metric_name: str,
        *,
        namespace: str = INVOCATION_NAMESPACE,
        statistic: str | None = None,
        period: Duration | None = None,
        **options: Any,
    ) -> cloudwatch.Metric:
        """A metric of this component (dimension ``InferenceComponentName``).

        Default: Sum per minute, in ``AWS/SageMaker``.
        """
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map={
                "InferenceComponentName": self.component_name,
                **(options.pop("dimensions_map", None) or {}),
            },
            statistic=statistic or "Sum",
            period=period or Duration.minutes(1),
            **options,
        )

    def metric_invocations(self, **options: Any) -> cloudwatch.Metric:
        """Requests sent to the component (sum per minute)."""
        return self.metric("Invocations", **options)

    def metric_invocation_4xx_errors(self, **options: Any) -> cloudwatch.Metric:
        """Requests answered with 4XX (sum per minute)."""
        return self.metric("Invocation4XXErrors", **options)

    def metric_invocation_5xx_errors(self, **options: Any) -> cloudwatch.Metric:
        """Requests answered with 5XX (sum per minute)."""
        return self.metric("Invocation5XXErrors", **options)

    def metric_model_latency(self, statistic: str = "p99", **options: Any) -> cloudwatch.Metric:
        """Time the model took, in microseconds. Default: p99."""
        return self.metric("ModelLatency", statistic=statistic, **options)

    def metric_overhead_latency(self, statistic: str = "p99", **options: Any) -> cloudwatch.Metric:
        """Time SageMaker added, in microseconds. Default: p99."""
        return self.metric("OverheadLatency", statistic=statistic, **options)

    def metric_no_capacity_failures(self, **options: Any) -> cloudwatch.Metric:
        """Requests refused for want of a copy (sum per minute); they wake a component from zero."""
        return self.metric("NoCapacityInvocationFailures", **options)

    def metric_invocations_per_copy(self, **options: Any) -> cloudwatch.Metric:
        """Invocations per copy (sum per minute), what copy scaling tracks."""
        return self.metric("InvocationsPerCopy", **options)

    def _utilization(self, name: str, options: dict[str, Any]) -> cloudwatch.Metric:
        options.setdefault("statistic", "Average")
        return self.metric(name, namespace=COMPONENT_NAMESPACE, **options)

    def metric_cpu_utilization(self, **options: Any) -> cloudwatch.Metric:
        """CPU use in percent of the cores the copies reserved (average)."""
        return self._utilization("CPUUtilizationNormalized", options)

    def metric_memory_utilization(self, **options: Any) -> cloudwatch.Metric:
        """Memory use in percent of the memory the copies reserved (average)."""
        return self._utilization("MemoryUtilizationNormalized", options)

    def metric_gpu_utilization(self, **options: Any) -> cloudwatch.Metric:
        """GPU use in percent of the accelerators the copies reserved (average)."""
        return self._utilization("GPUUtilizationNormalized", options)

    def metric_gpu_memory_utilization(self, **options: Any) -> cloudwatch.Metric:
        """GPU memory use in percent of the accelerators' memory the copies reserved (average)."""
        return self._utilization("GPUMemoryUtilizationNormalized", options)

    def metric_copy_count(self, *, period: Duration | None = None) -> cloudwatch.MathExpression:
        """Copies serving, estimated as invocations / invocations per copy (needs traffic)."""
        return cloudwatch.MathExpression(
            expression="invocations / MAX([per_copy, 1])",
            using_metrics={
                "invocations": self.metric_invocations(period=period),
                "per_copy": self.metric_invocations_per_copy(period=period),
            },
            period=period or Duration.minutes(1),
            label="Copies (estimated)",
        )


@jsii.implements(iam.IGrantable)
class _Grantee:
    """The endpoint's execution principal as an ``IGrantable`` for image and artifact grants."""

    def __init__(self, principal: iam.IPrincipal) -> None:
        self.grant_principal = principal


# --- placement ----------------------------------------------------------------------------


def check_placement(  # noqa: PLR0912 - three placement rules, each with its message
    component: InferenceComponent, scope: IConstruct, prop: str
) -> None:
    """Refuse what certainly cannot be placed on the variant of ``scope``'s component.

    Each copy must fit one instance of every type it may run on (vCPUs,
    memory, accelerators); each component's copies must fit the variant's
    instances at their maximum; the copies of all the variant's components
    together must fit them; and copies that need more than half of an
    instance's vCPUs, memory or accelerators (on every type they may run on)
    cannot share an instance, so there are at most as many as instances
    (necessary conditions: what passes may still be refused by SageMaker,
    which keeps part of each instance).
    """
    variant = component.variant
    instances = variant.max_instances
    if validation.is_token(instances):
        return
    where = (
        "managed_scaling.max_instances"
        if variant.managed_scaling is not None
        else "initial_instance_count"
    )
    hosted = [c for c in component.endpoint.components if c.variant is variant and not c.is_adapter]
    if component not in hosted:
        hosted.append(component)
    unknown = sorted(
        {t for c in hosted for t, _ in c.placements() if instance_capacity.capacity(t) is None}
    )
    if unknown and component is hosted[-1]:
        Annotations.of(component).add_warning_v2(
            PLACEMENT_UNCHECKED,
            f"the package has no vCPU, memory and accelerator figures for {', '.join(unknown)}, "
            "so whether the copies fit is not checked at synth",
        )
    for t, needs in component.placements():
        cap = instance_capacity.capacity(t)
        if cap is None:
            continue
        for what, need, has in _resources(needs, cap):
            if need > has:
                validation.fail(
                    scope,
                    prop if prop != "copy_count" else "requirements",
                    f"{_shown(need)} {what}",
                    f"one copy needs {_shown(need)} {what} but an {t} instance has {has}; "
                    "lower the requirement or use a larger instance type",
                )
    copies = component.max_copies
    if copies is None or validation.is_token(copies):
        return
    fits = []
    for t, needs in component.placements():
        cap = instance_capacity.capacity(t)
        if cap is None:
            return
        per_instance = min(
            (math.floor(has / need) for _, need, has in _resources(needs, cap) if need),
            default=copies,
        )
        fits.append(per_instance)
    if fits and copies > instances * max(fits):
        validation.fail(
            scope,
            prop,
            copies,
            f"{copies} copies cannot be placed: at most {max(fits)} fit on one instance and "
            f"variant {variant.variant_name} has at most {instances} instances ({where}); "
            "lower the copies or the requirements, or allow more instances",
        )
    # All the variant's components together, against the fleet's total.
    caps = [instance_capacity.capacity(t) for t in variant.instance_types]
    if not caps or any(c is None for c in caps):
        return
    largest = {
        "vCPUs": max(c.vcpus for c in caps if c),
        "MB of memory": max(c.memory_mb for c in caps if c),
        "accelerators": max(c.accelerators for c in caps if c),
    }
    total: dict[str, float] = dict.fromkeys(largest, 0.0)
    for c in hosted:
        n = c.max_copies
        if not n or validation.is_token(n) or not c.placements():
            continue
        for what in largest:
            total[what] += n * min(_need(req, what) for _, req in c.placements())
    for what, need in total.items():
        has = instances * largest[what]
        if need > has:
            names = ", ".join(f"{c.node.id} x{c.max_copies}" for c in hosted)
            validation.fail(
                scope,
                prop,
                copies,
                f"the copies of variant {variant.variant_name}'s components ({names}) need "
                f"{_shown(need)} {what} in all, but its at most {instances} instances ({where}) "
                f"have {has}; lower copies or requirements, or allow more instances",
            )
    # Copies needing more than half of an instance's resource cannot share one.
    for what in largest:
        big = [
            c
            for c in hosted
            if c.max_copies
            and not validation.is_token(c.max_copies)
            and c.placements()
            and all(
                _need(req, what) > _has(instance_capacity.capacity(t), what) / 2
                for t, req in c.placements()
            )
        ]
        count = sum(c.max_copies or 0 for c in big)
        if count > instances:
            names = ", ".join(f"{c.node.id} x{c.max_copies}" for c in big)
            validation.fail(
                scope,
                prop,
                copies,
                f"the copies of variant {variant.variant_name}'s components that need more "
                f"than half of an instance's {what} ({names}) cannot share an instance: "
                f"{count} copies need {count} instances, but the variant has at most "
                f"{instances} ({where}); lower copies or requirements, or allow more instances",
            )


def _need(req: ComputeRequirements, what: str) -> float:
    value = {
        "vCPUs": req.cpu_cores,
        "MB of memory": req.min_memory_mb,
        "accelerators": req.accelerators,
    }[what]
    return 0.0 if value is None or validation.is_token(value) else float(value)


def _has(cap: instance_capacity.InstanceCapacity | None, what: str) -> float:
    """What an instance of that capacity has of ``what`` (unknown: nothing to compare)."""
    if cap is None:
        return float("inf")
    return float(
        {"vCPUs": cap.vcpus, "MB of memory": cap.memory_mb, "accelerators": cap.accelerators}[what]
    )


def _resources(
    needs: ComputeRequirements, cap: instance_capacity.InstanceCapacity
) -> list[tuple[str, float, int]]:
    return [
        (what, _need(needs, what), has)
        for what, has in (
            ("vCPUs", cap.vcpus),
            ("MB of memory", cap.memory_mb),
            ("accelerators", cap.accelerators),
        )
    ]


def _shown(value: float) -> str:
    return f"{value:g}"


# --- scaling ---------------------------------------------------------------------------------


class ComponentScaling(TargetTracking, Construct):
    """Scale one inference component's copies, to zero and back. Use
    :meth:`InferenceComponent.auto_scale_copies`.

    Checked here: whole numbers, ``min_copies`` at most ``max_copies`` (at
    least 1), the copy count within them, on a multi-AZ endpoint 0 or at
    least 2 copies, and the copies at ``max_copies`` placeable on the
    variant's instances. With ``min_copies=0`` the ``WakeFromZero`` step
    policy is added: one copy as soon as a request finds none
    (``NoCapacityInvocationFailures`` >= 1 in a minute; AWS's procedure,
    "Scale an endpoint to zero instances").

    Construct IDs (a public contract): ``Target``, ``WakeFromZero`` (with
    ``min_copies=0``), and one per policy (``InvocationsPerCopy``,
    ``ConcurrentRequestsPerCopy``, or as given).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        component: InferenceComponent,
        min_copies: int,
        max_copies: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.component = component
        validation.check_int(self, "min_copies", min_copies, low=0)
        validation.check_int(self, "max_copies", max_copies, low=1)
        known = not validation.is_token(min_copies) and not validation.is_token(max_copies)
        if known and min_copies > max_copies:
            validation.fail(
                self, "min_copies", min_copies, f"must not exceed max_copies ({max_copies})"
            )
        copies = component.copy_count
        if (
            known
            and copies is not None
            and not validation.is_token(copies)
            and not min_copies <= copies <= max_copies
        ):
            validation.fail(
                self,
                "min_copies/max_copies",
                (min_copies, max_copies),
                f"must include the component's copy_count ({copies})",
            )
        if known:
            _check_batches_while_scaling(component, min_copies, max_copies)
        if component.endpoint.multi_az and min_copies == 0 and max_copies == 1:
            validation.fail(
                self,
                "max_copies",
                max_copies,
                "a multi-AZ endpoint keeps a component that scales to zero at 0 or at least "
                f"{validation.MULTI_AZ_MIN_INSTANCES} copies, so that they can run in different "
                f"zones; allow at least {validation.MULTI_AZ_MIN_INSTANCES}, or build the "
                "endpoint with multi_az=False (development only)",
            )
        if component.endpoint.multi_az and min_copies == 1:
            validation.fail(
                self,
                "min_copies",
                min_copies,
                f"a multi-AZ endpoint keeps at least {validation.MULTI_AZ_MIN_INSTANCES} copies "
                "of a component (or 0, scaled to zero); raise it, or build the endpoint with "
                "multi_az=False (development only)",
            )
        self.min_copies = min_copies
        self.max_copies = max_copies
        self.target = appscaling.ScalableTarget(
            self,
            "Target",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"inference-component/{component.component_name}",
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=min_copies,
            max_capacity=max_copies,
        )
        # The component exists only once CloudFormation created it.
        self.target.node.add_dependency(component.resource)
        component.scaling = self
        check_placement(component, self, "max_copies")
        self.wake: appscaling.StepScalingPolicy | None = None
        if min_copies == 0:
            self.wake = self.target.scale_on_metric(
                "WakeFromZero",
                metric=component.metric_no_capacity_failures(),
                scaling_steps=[
                    appscaling.ScalingInterval(upper=1, change=0),
                    appscaling.ScalingInterval(lower=1, change=1),
                ],
                adjustment_type=appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
                metric_aggregation_type=appscaling.MetricAggregationType.MAXIMUM,
                cooldown=Duration.minutes(1),
                evaluation_periods=1,
            )

    def scale_on_invocations(
        self,
        *,
        target_per_copy: float,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Track invocations per copy per minute. Cooldowns: in 5 min, out 1 min."""
        return self._track(
            "InvocationsPerCopy",
            target_value=target_per_copy,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_INVOCATIONS_PER_COPY,
            scale_in_cooldown=scale_in_cooldown,
            scale_out_cooldown=scale_out_cooldown,
        )

    def scale_on_concurrent_requests(
        self,
        *,
        target_per_copy: float,
        scale_in_cooldown: Duration | None = None,
        scale_out_cooldown: Duration | None = None,
    ) -> appscaling.TargetTrackingScalingPolicy:
        """Track concurrent requests per copy (high resolution: reacts within a minute)."""
        return self._track(
            "ConcurrentRequestsPerCopy",
            target_value=target_per_copy,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_INFERENCE_COMPONENT_CONCURRENT_REQUESTS_PER_COPY_HIGH_RESOLUTION,
            scale_in_cooldown=scale_in_cooldown,
            scale_out_cooldown=scale_out_cooldown,
        )


# --- monitoring ----------------------------------------------------------------------------------


#: A component that scales to zero refuses requests while it wakes up; its ``NoCapacity``
#: alarm fires only when they are refused in each of this many consecutive minutes,
#: longer than a cold start (new instances, then the model loaded).
WAKE_UP_FAILURE_MINUTES = 15


class ComponentMonitoring(Construct):
    """Alarms, a composite, a topic and a dashboard for one inference component.

    In the style of :class:`EndpointMonitoring`,
    with the same :class:`AlarmThresholds`: 5XX errors, 4XX error rate, p99
    model and overhead latency, CPU and memory use in percent of what the
    copies reserved (``cpu_percent_per_core``, ``memory_percent``), GPU use
    when the copies reserve accelerators (``gpu_percent``), copies pinned at
    the scaling maximum (when the component scales), requests refused for
    want of a copy (``NoCapacity``: at least one in a minute; for a component
    that scales to zero, whose wake-up refuses requests by design, at least
    one in each of 15 consecutive minutes (``WAKE_UP_FAILURE_MINUTES``), longer
    than a cold start, so that a wake-up that fails, e.g. for want of GPU
    capacity, is not silent), no invocations
    (``thresholds.no_invocations_for``). Components publish no disk metric: a
    non-default ``disk_percent`` is refused.

    Alarms are keyed by kind in :attr:`alarms`; construct IDs are the kinds,
    ``Health``, ``Topic``, ``TopicKey``, ``Dashboard``.

    :param component: the component.
    :param thresholds: Default: :class:`AlarmThresholds` defaults.
    :param topic: where alarms notify. Default: a new encrypted topic.
    :param dashboard: Default: ``True``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        component: InferenceComponent,
        thresholds: AlarmThresholds | None = None,
        topic: sns.ITopic | None = None,
        dashboard: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        validation.check_type(
            self, "component", component, InferenceComponent, "an InferenceComponent"
        )
        validation.check_optional_type(
            self, "thresholds", thresholds, AlarmThresholds, "an AlarmThresholds"
        )
        validation.check_optional_type(self, "topic", topic, sns.ITopic, "an sns.ITopic")
        validation.check_type(self, "dashboard", dashboard, bool, "a bool")
        self.component = component
        self.thresholds = thresholds or AlarmThresholds()
        self.thresholds.check(self, "thresholds")
        if self.thresholds.disk_percent not in (None, AlarmThresholds().disk_percent):
            validation.fail(
                self,
                "thresholds.disk_percent",
                self.thresholds.disk_percent,
                "inference components publish no disk metric; leave it at its default or None",
            )
        self.topic = topic or encryption.encrypted_topic(
            self,
            "Topic",
            encryption.encryption_key(
                self, "TopicKey", f"Encrypts alarm notifications of {component.component_name}"
            ),
        )
        self._action = cloudwatch_actions.SnsAction(self.topic)
        self._alarms: dict[str, cloudwatch.Alarm] = {}
        self._skipped: dict[str, str] = {}
        #: The alarms, keyed by kind (read-only; a wrong key names the valid ones).
        self.alarms: Mapping[str, cloudwatch.Alarm] = AlarmMap(
            self.node.path, self._alarms, self._skipped
        )
        self._make_alarms()
        self.health = cloudwatch.CompositeAlarm(
            self,
            "Health",
            alarm_rule=cloudwatch.AlarmRule.any_of(*self.rollback_alarms()),
            alarm_description=f"Inference component {component.component_name} failing or slow",
        )
        self.health.add_alarm_action(self._action)
        self.dashboard = self._dashboard() if dashboard else None

    def rollback_alarms(self) -> list[cloudwatch.IAlarm]:
        """5XX and latency alarms: what should stop a rollout of the component."""
        return [a for k, a in self._alarms.items() if k in ROLLBACK_KINDS]

    def _alarm(
        self,
        kind: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        *,
        description: str,
        operator: cloudwatch.ComparisonOperator = GTE,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        periods: int | None = None,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            kind,
            metric=metric,
            threshold=threshold,
            comparison_operator=operator,
            evaluation_periods=periods or self.thresholds.evaluation_periods,
            datapoints_to_alarm=periods or self.thresholds.datapoints_to_alarm,
            treat_missing_data=missing,
            alarm_description=f"{description} (inference component "
            f"{self.component.component_name})",
        )
        alarm.add_alarm_action(self._action)
        self._alarms[kind] = alarm

    def _make_alarms(self) -> None:
        t, c = self.thresholds, self.component
        if t.errors_5xx is not None:
            self._alarm(
                "Errors5xx",
                c.metric_invocation_5xx_errors(),
                t.errors_5xx,
                description="Model answered 5XX",
            )
        if t.error_rate_4xx_percent is not None:
            self._alarm(
                "ErrorRate4xx",
                cloudwatch.MathExpression(
                    expression="100 * errors / MAX([errors, invocations])",
                    using_metrics={
                        "errors": c.metric_invocation_4xx_errors(),
                        "invocations": c.metric_invocations(),
                    },
                    period=Duration.minutes(1),
                    label="4XX rate (%)",
                ),
                t.error_rate_4xx_percent,
                description="Share of requests answered 4XX, in percent",
            )
        for kind, metric, limit in (
            ("ModelLatency", c.metric_model_latency(), t.model_latency_p99),
            ("OverheadLatency", c.metric_overhead_latency(), t.overhead_latency_p99),
        ):
            if limit is not None:
                self._alarm(
                    kind,
                    metric,
                    limit.to_milliseconds() * 1000,
                    operator=GT,
                    description=f"p99 {kind} above {limit.to_milliseconds()} ms",
                )
        ignore = cloudwatch.TreatMissingData.IGNORE
        uses_accelerators = any(r.accelerators for _, r in c.placements())
        for kind, metric, field, percent, what in (
            (
                "Cpu",
                c.metric_cpu_utilization(),
                "cpu_percent_per_core",
                t.cpu_percent_per_core,
                "CPU",
            ),
            ("Memory", c.metric_memory_utilization(), "memory_percent", t.memory_percent, "Memory"),
            ("Gpu", c.metric_gpu_utilization(), "gpu_percent", t.gpu_percent, "GPU"),
        ):
            if percent is None:
                self._skipped[kind] = f"thresholds.{field} is None"
                continue
            if kind == "Gpu" and not uses_accelerators:
                self._skipped[kind] = "the component reserves no accelerators"
                continue
            self._alarm(
                kind,
                metric,
                percent,
                operator=GT,
                missing=ignore,
                description=f"{what} use above {percent} % of what the copies reserved",
            )
        self._skipped["Disk"] = "inference components publish no disk metric"
        self._no_capacity_alarm()
        scaling = c.scaling
        if scaling is not None:
            self._alarm(
                "AtMaxCopies",
                c.metric_copy_count(),
                scaling.max_copies,
                periods=AT_MAX_MINUTES,
                description=f"Pinned at the scaling maximum of {scaling.max_copies} copies",
            )
        else:
            self._skipped["AtMaxCopies"] = "the component does not scale"
        if t.no_invocations_for is not None:
            minutes = int(t.no_invocations_for.to_seconds(integral=False)) // 60
            self._alarm(
                "NoInvocations",
                c.metric_invocations(),
                1,
                operator=LT,
                missing=cloudwatch.TreatMissingData.BREACHING,
                periods=minutes,
                description=f"No request for {minutes} minutes",
            )

    def _no_capacity_alarm(self) -> None:
        """Requests refused for want of a copy; after a cold start's worth when scaled to zero."""
        c, scaling = self.component, self.component.scaling
        if c.is_adapter:
            self._skipped["NoCapacity"] = (
                "an adapter has no copies of its own: watch its base component"
            )
        elif scaling is not None and scaling.min_copies == 0:
            self._alarm(
                "NoCapacity",
                c.metric_no_capacity_failures(),
                1,
                periods=WAKE_UP_FAILURE_MINUTES,
                description=f"Requests refused in each of {WAKE_UP_FAILURE_MINUTES} consecutive "
                "minutes: the component scales to zero and has not woken up (longer than a cold "
                "start; e.g. no instance capacity for its copies)",
            )
        else:
            self._alarm(
                "NoCapacity",
                c.metric_no_capacity_failures(),
                1,
                description="Requests refused: no copy to serve them",
            )

    def _dashboard(self) -> cloudwatch.Dashboard:
        c = self.component
        board = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        name = c.component_name
        maximum = c.scaling.max_copies if c.scaling is not None else None
        board.add_widgets(
            cloudwatch.AlarmStatusWidget(
                title=f"{name}: alarms", alarms=[self.health, *self._alarms.values()], width=24
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: invocations and errors",
                left=[c.metric_invocations()],
                right=[
                    c.metric_invocation_4xx_errors(),
                    c.metric_invocation_5xx_errors(),
                    c.metric_no_capacity_failures(),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: latency p99 (µs)",
                left=[c.metric_model_latency(), c.metric_overhead_latency()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: use of reserved resources (%), copies",
                left=[
                    c.metric_cpu_utilization(),
                    c.metric_memory_utilization(),
                    c.metric_gpu_utilization(),
                    c.metric_gpu_memory_utilization(),
                ],
                right=[c.metric_copy_count()],
                right_annotations=[
                    cloudwatch.HorizontalAnnotation(value=maximum, label="scaling maximum")
                ]
                if maximum is not None
                else None,
                width=8,
            ),
        )
        return board


__all__ = [
    "ComponentContainer",
    "ComponentDeployment",
    "ComponentMonitoring",
    "ComponentScaling",
    "ComputeRequirements",
    "InferenceComponent",
    "InstanceTypeSpecification",
    "PlacementStrategy",
    "Scheduling",
]
