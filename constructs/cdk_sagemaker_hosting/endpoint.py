"""A SageMaker endpoint: encrypted, multi-AZ by default, logged, guarded on update."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    ArnFormat,
    Duration,
    Fn,
    IStableAnyProducer,
    Lazy,
    Names,
    RemovalPolicy,
    Resource,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces import aws_sagemaker as sagemaker_refs

from cdk_sagemaker_hosting import encryption, validation
from cdk_sagemaker_hosting.async_inference import AsyncInference
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.data_capture import DataCapture
from cdk_sagemaker_hosting.deployment import MAX_ROLLBACK_ALARMS, DeploymentConfig
from cdk_sagemaker_hosting.managed_policy_principal import ManagedPolicyPrincipal
from cdk_sagemaker_hosting.model import (
    VPC_NETWORK_INTERFACE_ACTIONS,
    Model,
    _check_network_types,
    _network_placement,
    acknowledge_network_interfaces,
)
from cdk_sagemaker_hosting.validation import ValidationError
from cdk_sagemaker_hosting.variants import (
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_VARIANT_NAME,
    ComponentVariant,
    InstanceVariant,
    ServerlessVariant,
    Variant,
    VariantAttributes,
    check_weight,
)
from constructs import Construct, IValidation

if TYPE_CHECKING:
    # Imported where used: aws_ec2 is slow to import (see model.py).
    from aws_cdk import aws_ec2 as ec2

    from cdk_sagemaker_hosting.inference_component import InferenceComponent
    from cdk_sagemaker_hosting.scaling import VariantScaling

#: Invocation metrics (per endpoint and variant).
INVOCATION_NAMESPACE = "AWS/SageMaker"
#: Instance utilisation metrics.
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
#: SageMaker: 1-10 production variants per endpoint config.
MAX_VARIANTS = 10
RETAINABLE_PROPERTIES = ("DesiredInstanceCount", "DesiredWeight")


@jsii.implements(sagemaker.IEndpoint)
class EndpointBase(Resource):
    """What every endpoint offers, created here or imported: grants, metrics, attributes.

    A CDK ``Resource`` implementing ``aws_sagemaker.IEndpoint``, so CDK's own
    APIs take it (e.g. ``aws_apigateway.SagemakerIntegration``).
    """

    #: What the endpoint's consumers know of its variants (production, then shadow).
    variant_attributes: tuple[VariantAttributes, ...] = ()
    #: True for an asynchronous endpoint (queued requests).
    asynchronous: bool = False
    #: True when every instance variant spans Availability Zones; ``None``: unknown.
    multi_az: bool | None = None
    #: The endpoint's data capture, when known.
    data_capture: DataCapture | None = None
    #: True for an endpoint whose variants host inference components; ``None``: unknown.
    component_mode: bool | None = False

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name."""
        raise NotImplementedError

    @property
    def endpoint_arn(self) -> str:
        """The endpoint's ARN."""
        raise NotImplementedError

    @property
    def endpoint_ref(self) -> sagemaker_refs.EndpointReference:
        """A reference to this endpoint, for CDK's ``IEndpointRef`` consumers."""
        return sagemaker_refs.EndpointReference(endpoint_arn=self.endpoint_arn)

    @property
    def production_variant_names(self) -> list[str]:
        """The names of the production variants (those that take weight)."""
        return [v.variant_name for v in self.variant_attributes if not v.shadow]

    @property
    def shadow_variant_name(self) -> str | None:
        """The shadow variant's name, if any."""
        return next((v.variant_name for v in self.variant_attributes if v.shadow), None)

    @property
    def default_variant_name(self) -> str:
        """The variant metrics describe unless told otherwise: the first production variant."""
        names = self.production_variant_names
        return names[0] if names else DEFAULT_VARIANT_NAME

    def find_variant(self, variant_name: str) -> VariantAttributes | None:
        """The attributes of the variant of that name, if the endpoint knows it."""
        return next((v for v in self.variant_attributes if v.variant_name == variant_name), None)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` invoke this endpoint (real-time, streaming and asynchronous)."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker:InvokeEndpoint",
                "sagemaker:InvokeEndpointAsync",
                "sagemaker:InvokeEndpointWithResponseStream",
            ],
            resource_arns=[self.endpoint_arn],
        )

    def metric(
        self,
        metric_name: str,
        *,
        variant_name: str | None = None,
        namespace: str = INVOCATION_NAMESPACE,
        statistic: str | None = None,
        period: Duration | None = None,
        **options: Any,
    ) -> cloudwatch.Metric:
        """A metric of one variant of this endpoint. Default: the first variant, Sum per minute.

        ``options`` are CDK's ``MetricOptions`` (``label``, ``color``, ``unit``,
        ``account``, ``region``, ``dimensions_map`` to add dimensions...).
        """
        dimensions = {
            "EndpointName": self.endpoint_name,
            "VariantName": variant_name or self.default_variant_name,
            **(options.pop("dimensions_map", None) or {}),
        }
        # An endpoint of another account or Region publishes its metrics there.
        stack = Stack.of(self)
        for field, mine, stacks in (
            ("account", self.env.account, stack.account),
            ("region", self.env.region, stack.region),
        ):
            if field not in options and not validation.is_token(mine) and mine != stacks:
                options[field] = mine
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=statistic or "Sum",
            period=period or Duration.minutes(1),
            **options,
        )

    def metric_invocations(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """Requests sent to the variant (sum per minute)."""
        return self.metric("Invocations", variant_name=variant_name, **options)

    def metric_invocation_4xx_errors(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """Requests the model answered with 4XX (sum per minute)."""
        return self.metric("Invocation4XXErrors", variant_name=variant_name, **options)

    def metric_invocation_5xx_errors(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """Requests the model answered with 5XX (sum per minute)."""
        return self.metric("Invocation5XXErrors", variant_name=variant_name, **options)

    def metric_model_latency(
        self, variant_name: str | None = None, statistic: str = "p99", **options: Any
    ) -> cloudwatch.Metric:
        """Time the model took, in microseconds. Default: p99."""
        return self.metric(
            "ModelLatency", variant_name=variant_name, statistic=statistic, **options
        )

    def metric_overhead_latency(
        self, variant_name: str | None = None, statistic: str = "p99", **options: Any
    ) -> cloudwatch.Metric:
        """Time SageMaker added, in microseconds. Default: p99."""
        return self.metric(
            "OverheadLatency", variant_name=variant_name, statistic=statistic, **options
        )

    def _instance_metric(
        self, name: str, variant_name: str | None, options: dict[str, Any]
    ) -> cloudwatch.Metric:
        options.setdefault("statistic", "Average")
        return self.metric(name, variant_name=variant_name, namespace=INSTANCE_NAMESPACE, **options)

    def metric_cpu_utilization(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """CPU use summed over cores, in percent (average)."""
        return self._instance_metric("CPUUtilization", variant_name, options)

    def metric_memory_utilization(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """Memory use in percent (average)."""
        return self._instance_metric("MemoryUtilization", variant_name, options)

    def metric_disk_utilization(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """Disk use in percent (average)."""
        return self._instance_metric("DiskUtilization", variant_name, options)

    def metric_gpu_utilization(
        self, variant_name: str | None = None, **options: Any
    ) -> cloudwatch.Metric:
        """GPU use summed over GPUs, in percent (average)."""
        return self._instance_metric("GPUUtilization", variant_name, options)


class _ImportedEndpoint(EndpointBase):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        endpoint_arn: str | None,
        variants: Sequence[VariantAttributes],
        asynchronous: bool,
        multi_az: bool | None,
        data_capture: DataCapture | None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            physical_name=endpoint_name,
            environment_from_arn=endpoint_arn,
        )
        validation.check_sagemaker_name(self, "endpoint_name", endpoint_name)
        if isinstance(variants, str) or not isinstance(variants, Sequence):
            validation.fail(self, "variants", variants, "must be a list of VariantAttributes")
        if validation.is_token(endpoint_name) and endpoint_arn is None:
            validation.fail(
                self,
                "endpoint_name",
                "<deploy-time value>",
                "an endpoint ARN carries the name in lower case, which cannot be derived from "
                "a deploy-time name: give endpoint_arn too",
            )
        for i, variant in enumerate(variants):
            validation.check_type(
                self, f"variants[{i}]", variant, VariantAttributes, "a VariantAttributes"
            )
            variant.check(self, f"variants[{i}]")
        _check_unique_names(self, [v.variant_name for v in variants])
        if sum(1 for v in variants if v.shadow) > 1:
            validation.fail(
                self, "variants", "several shadows", "an endpoint has at most one shadow variant"
            )
        validation.check_optional_type(
            self, "data_capture", data_capture, DataCapture, "a DataCapture"
        )
        self._endpoint_name = endpoint_name
        self._endpoint_arn = endpoint_arn or Arn.format(
            ArnComponents(
                service="sagemaker",
                resource="endpoint",
                # SageMaker ARNs carry the name in lower case.
                resource_name=endpoint_name.lower(),
            ),
            Stack.of(self),
        )
        if endpoint_arn is not None and not validation.is_token(endpoint_arn):
            _check_endpoint_arn(self, endpoint_name, endpoint_arn)
        self.variant_attributes = tuple(variants)
        self.asynchronous = asynchronous
        self.multi_az = multi_az
        self.data_capture = data_capture

    @property
    def endpoint_name(self) -> str:
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        return self._endpoint_arn


def _check_endpoint_arn(scope: Construct, name: str, arn: str) -> None:
    """An endpoint ARN names a SageMaker endpoint, the one called ``name`` when both are known."""
    parts = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME)
    if parts.service != "sagemaker" or parts.resource != "endpoint" or not parts.resource_name:
        validation.fail(
            scope,
            "endpoint_arn",
            arn,
            "must be a SageMaker endpoint ARN: arn:<partition>:sagemaker:<region>:<account>:"
            "endpoint/<name>",
        )
    if not validation.is_token(name) and parts.resource_name != name.lower():
        validation.fail(
            scope,
            "endpoint_arn",
            arn,
            f"names endpoint {parts.resource_name!r}, not {name!r} (ARNs carry the name in "
            "lower case)",
        )


def _check_unique_names(scope: Construct, names: list[str]) -> None:
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        validation.fail(
            scope,
            "variants[].variant_name",
            duplicates,
            "variant names (shadow included) must be unique in an endpoint",
        )


def _refuse_ignored(scope: Construct, rule: str, **props: tuple[object, object]) -> None:
    """Refuse props given a value other than their default where they cannot apply."""
    for prop, (value, default) in props.items():
        if value != default:
            validation.fail(scope, prop, value, rule)


@jsii.implements(IStableAnyProducer)
class _RollbackAlarms:
    """The endpoint's auto-rollback alarms, rendered when the template is written."""

    def __init__(self, alarms: list[cloudwatch.IAlarm]) -> None:
        self.alarms = alarms

    def add(self, scope: Construct, alarms: Sequence[cloudwatch.IAlarm]) -> None:
        """Append ``alarms``, each checked and none twice, numbered after those held."""
        start = len(self.alarms)
        for i, alarm in enumerate(alarms):
            validation.check_type(
                scope,
                f"rollback_alarms[{start + i}]",
                alarm,
                cloudwatch.IAlarm,
                "a cloudwatch.IAlarm",
            )
            if alarm not in self.alarms:
                self.alarms.append(alarm)

    def produce(self) -> Any:
        if not self.alarms:
            return None
        return sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[
                sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name) for a in self.alarms
            ]
        )


@jsii.implements(IValidation)
class _CheckRollbackAlarms:
    def __init__(self, endpoint: Endpoint, deployment: DeploymentConfig) -> None:
        self._endpoint = endpoint
        self._deployment = deployment

    def validate(self) -> list[str]:
        return self._deployment.alarm_errors(self._endpoint, len(self._endpoint.rollback_alarms))


class Endpoint(EndpointBase):
    """An endpoint serving 1-10 production variants, secure and multi-AZ by default.

    Give either ``model`` (one instance variant, shaped by ``variant_name``,
    ``instance_type`` and ``instance_count``) or ``variants``.

    Multi-AZ by default: every instance variant needs at least two instances
    (SageMaker places them in different Availability Zones) and, when a
    model runs in a VPC, subnets in at least two zones. ``multi_az=False``
    allows a single instance for development and adds a warning.

    The storage volume and the endpoint's log group
    (``/aws/sagemaker/Endpoints/<name>``, created here so its retention and
    encryption are ours) are encrypted with ``encryption_key``. The config
    has no fixed name: any change creates a new config, and the endpoint
    moves to it in place, under ``deployment`` guardrails when given.
    Rollback alarms may be given with ``deployment`` or added afterwards with
    :meth:`add_rollback_alarms` (e.g. those of an :class:`EndpointMonitoring`
    built on this endpoint): they are rendered when the template is written.

    Construct IDs (a public contract): ``Key`` (when created), ``LogGroup``,
    ``Config`` (the ``AWS::SageMaker::EndpointConfig``), ``SuccessTopic`` and
    ``ErrorTopic`` (asynchronous endpoints), ``Resource`` (the
    ``AWS::SageMaker::Endpoint``); in component mode ``ExecutionRole`` and
    ``ExecutionPolicy`` (the endpoint config's role and its managed policy).

    Component mode (``variants`` of :class:`ComponentVariant`): the variants
    have no model; the endpoint config gets its own execution role (created
    here, for this endpoint alone: it may write the endpoint's logs and its
    metrics, and is granted what the components without a :class:`Model`
    need), network isolation on by default, and each variant's managed
    instance scaling. Shadow variants, data capture and asynchronous inference
    are refused in this mode, and variant auto scaling too: instances follow
    the components' copies through ``ManagedInstanceScaling``.

    :param model: the model of a one-variant endpoint.
    :param variants: 1-10 :class:`InstanceVariant`, or one :class:`ServerlessVariant`,
        or 1-10 :class:`ComponentVariant` (component mode: the models are
        :class:`InferenceComponent` constructs added to the endpoint
        afterwards).
    :param endpoint_name: Default: derived from the construct path, at most 63
        characters. Give it to reference the endpoint from another account or
        Region (CDK lets only explicit physical names cross environments).
    :param variant_name: with ``model``. Default: ``"AllTraffic"``.
    :param instance_type: with ``model``. Default: ``"ml.m5.large"``.
    :param instance_count: with ``model``. Default: 2.
    :param multi_az: require instance variants to span Availability Zones. Default: ``True``.
    :param shadow_variant: an instance variant that receives a copy of the
        production variant's requests; its responses are discarded. Default: none.
    :param shadow_sampling_percentage: 1-100 % of requests copied to it (its
        weight relative to the production variant's). Default: 100.
    :param data_capture: capture requests and responses. Default: none.
    :param async_inference: make the endpoint asynchronous. Default: none.
    :param deployment: blue/green or rolling updates with auto-rollback.
        Default: SageMaker's (blue/green, all at once, no alarms).
    :param retain_all_variant_properties: keep instance counts and weights set
        outside CloudFormation (by auto scaling or the traffic shifter) on update.
        Default: ``False``.
    :param exclude_retained_variant_properties: properties not kept even so:
        ``DesiredInstanceCount`` and/or ``DesiredWeight``. Default: none.
    :param network_isolation: component mode: forbid every container on the
        endpoint network access (the endpoint config's ``EnableNetworkIsolation``;
        in other modes each :class:`Model` says it). Default: ``True``;
        ``False`` adds a warning.
    :param vpc: component mode: run the components in this VPC (the endpoint
        config's ``VpcConfig``; the execution role may manage the network
        interfaces). In other modes each :class:`Model` has its own ``vpc``.
        Default: no VPC.
    :param vpc_subnets: with ``vpc``: 1-16 subnets, in at least two
        Availability Zones on a multi-AZ endpoint. Default: private subnets.
    :param security_groups: with ``vpc``: 1-5 security groups. Default: one
        new group allowing outbound HTTPS only.
    :param encryption_key: KMS key for volumes, logs and topics. Default: a new
        key with rotation.
    :param log_retention: Default: one year.
    :param removal_policy: for the key and the log group. Default: ``RETAIN``.
    """

    def __init__(  # noqa: PLR0912, PLR0915 - the endpoint's rules across its parts
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: Model | None = None,
        variants: Sequence[Variant] | None = None,
        endpoint_name: str | None = None,
        variant_name: str = DEFAULT_VARIANT_NAME,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        instance_count: int = 2,
        multi_az: bool = True,
        shadow_variant: InstanceVariant | None = None,
        shadow_sampling_percentage: int = 100,
        data_capture: DataCapture | None = None,
        async_inference: AsyncInference | None = None,
        deployment: DeploymentConfig | None = None,
        retain_all_variant_properties: bool = False,
        exclude_retained_variant_properties: Sequence[str] = (),
        network_isolation: bool | None = None,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        # A generated name is known at synth too, but CDK lets only an explicit
        # physical name cross environments: give endpoint_name for that.
        super().__init__(scope, construct_id, physical_name=endpoint_name)
        validation.check_sagemaker_name(self, "endpoint_name", endpoint_name)
        if (model is None) == (variants is None):
            validation.fail(
                self,
                "model/variants",
                "both" if model else "neither",
                "give either model (one variant) or variants",
            )
        if model is not None:
            validation.check_type(self, "model", model, Model, "a Model")
        else:
            _refuse_ignored(
                self,
                "with variants, give the variant's name, instance type and count in each "
                "InstanceVariant",
                variant_name=(variant_name, DEFAULT_VARIANT_NAME),
                instance_type=(instance_type, DEFAULT_INSTANCE_TYPE),
                instance_count=(instance_count, 2),
            )
            if isinstance(variants, str) or not isinstance(variants, Sequence):
                validation.fail(
                    self,
                    "variants",
                    variants,
                    "must be a list of InstanceVariant, ServerlessVariant or ComponentVariant",
                )
        if not isinstance(multi_az, bool):
            validation.fail(self, "multi_az", multi_az, "must be True or False")
        self.variants: list[Variant] = (
            list(variants)
            if variants is not None
            else [
                InstanceVariant(
                    model=model,  # type: ignore[arg-type]
                    variant_name=variant_name,
                    instance_type=instance_type,
                    initial_instance_count=instance_count,
                )
            ]
        )
        for i, variant in enumerate(self.variants):
            validation.check_type(
                self,
                f"variants[{i}]",
                variant,
                InstanceVariant | ServerlessVariant | ComponentVariant,  # type: ignore[arg-type]
                "an InstanceVariant, ServerlessVariant or ComponentVariant",
            )
            if not isinstance(variant, ComponentVariant):
                validation.check_type(self, f"variants[{i}].model", variant.model, Model, "a Model")
        self.component_mode = any(isinstance(v, ComponentVariant) for v in self.variants)
        if self.component_mode:
            self._check_component_mode(
                shadow_variant=shadow_variant,
                data_capture=data_capture,
                async_inference=async_inference,
            )
        elif network_isolation is not None:
            validation.fail(
                self,
                "network_isolation",
                network_isolation,
                "applies to component mode (variants of ComponentVariant) only; a model's "
                "network isolation is the Model's network_isolation",
            )
        network = {"vpc": vpc, "vpc_subnets": vpc_subnets, "security_groups": security_groups}
        if not self.component_mode:
            for name, given in network.items():
                if given is not None:
                    validation.fail(
                        self,
                        name,
                        validation.shown(given),
                        "applies to component mode (variants of ComponentVariant) only; a "
                        "model's VPC is the Model's vpc, vpc_subnets and security_groups",
                    )
        elif vpc is not None or vpc_subnets is not None or security_groups is not None:
            _check_network_types(self, vpc, vpc_subnets, security_groups)
            if vpc is None:
                validation.fail(self, "vpc", None, "vpc_subnets and security_groups need a vpc")
        if shadow_variant is not None:
            validation.check_type(
                self, "shadow_variant", shadow_variant, InstanceVariant, "an InstanceVariant"
            )
            validation.check_type(
                self, "shadow_variant.model", shadow_variant.model, Model, "a Model"
            )
            _refuse_ignored(
                self,
                "a shadow variant takes no weight of its own: its share of the production "
                "variant's requests is shadow_sampling_percentage",
                **{"shadow_variant.initial_weight": (shadow_variant.initial_weight, 1.0)},
            )
        else:
            _refuse_ignored(
                self,
                "only applies with a shadow_variant",
                shadow_sampling_percentage=(shadow_sampling_percentage, 100),
            )
        for prop, value, expected, what in (
            ("data_capture", data_capture, DataCapture, "a DataCapture"),
            ("async_inference", async_inference, AsyncInference, "an AsyncInference"),
            ("deployment", deployment, DeploymentConfig, "a DeploymentConfig"),
        ):
            validation.check_optional_type(self, prop, value, expected, what)
        validation.check_optional_type(
            self, "encryption_key", encryption_key, kms.IKey, "a kms.IKey"
        )

        self.shadow_variant = shadow_variant
        self.multi_az = multi_az
        self.asynchronous = async_inference is not None
        self.data_capture = data_capture
        self._scaling: dict[str, VariantScaling] = {}
        #: The inference components hosted here (component mode), in the order added.
        self.components: list[InferenceComponent] = []
        shortcut = variants is None
        self._check_variants(shortcut=shortcut)
        serverless_endpoint = isinstance(self.variants[0], ServerlessVariant)
        if shadow_variant is not None:
            self._check_shadow(serverless_endpoint, shadow_sampling_percentage)
        self._check_retained(retain_all_variant_properties, exclude_retained_variant_properties)
        if async_inference is not None:
            async_inference.check(self, serverless=serverless_endpoint)
        if deployment is not None:
            deployment.check(
                self,
                instance_counts=[
                    v.initial_instance_count
                    for v in self.variants
                    if isinstance(v, InstanceVariant | ComponentVariant)
                ],
                serverless=serverless_endpoint,
            )
        if deployment is not None and deployment.guarded:
            inf1 = sorted(
                {
                    t
                    for v in self.variants
                    if isinstance(v, InstanceVariant)
                    for t in v.instance_types
                    if isinstance(t, str) and t.startswith("ml.inf1.")
                }
            )
            if inf1:
                Annotations.of(self).add_warning_v2(
                    "cdk-sagemaker-hosting:GuardrailsIgnored",
                    f"deployment: {', '.join(inf1)} (Inf1) variants make SageMaker fall back to a "
                    "blue/green update with all-at-once traffic shifting and no final baking "
                    "period (Deployment guardrails, exclusions): the canary, linear or rolling "
                    "policy does not apply. Use ml.inf2 to keep it.",
                )
        if not multi_az:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:SingleAz",
                "multi_az=False: this endpoint may run in one Availability Zone and is not "
                "covered by the SageMaker SLA. Use it for development only.",
            )

        self._endpoint_name = endpoint_name or Names.unique_resource_name(
            self, max_length=validation.NAME_MAX_LENGTH, separator="-"
        )
        every_variant = [*self.variants, *([shadow_variant] if shadow_variant else [])]
        self.variant_attributes = tuple(
            [v.attributes for v in self.variants]
            + (
                [dataclasses.replace(shadow_variant.attributes, shadow=True)]
                if shadow_variant
                else []
            )
        )
        self.models: list[Model] = list(
            dict.fromkeys(v.model for v in every_variant if not isinstance(v, ComponentVariant))
        )
        stack = Stack.of(self)
        validation.claim_endpoint_name(self, self._endpoint_name, stack.account, stack.region)

        self.encryption_key: kms.IKey = encryption_key or encryption.encryption_key(
            self,
            "Key",
            f"Encrypts the storage volumes and logs of endpoint {self._endpoint_name}",
            removal_policy,
        )
        self.execution_role: iam.Role | None = None
        self._execution_principal: ManagedPolicyPrincipal | None = None
        #: Component mode with a VPC: the VPC and the security groups of the components.
        self.vpc = vpc
        self.security_groups: list[ec2.ISecurityGroup] = []
        vpc_config = None
        if self.component_mode:
            self._execution_role(stack, in_vpc=vpc is not None)
            if vpc is not None:
                vpc_config = self._vpc_config(vpc, vpc_subnets, security_groups)
        self.log_group = self._log_group(stack, log_retention, removal_policy)
        self.network_isolation: bool | None = None
        if self.component_mode:
            validation.check_optional_type(
                self, "network_isolation", network_isolation, bool, "True or False"
            )
            self.network_isolation = network_isolation is not False
            if not self.network_isolation:
                Annotations.of(self).add_warning_v2(
                    "cdk-sagemaker-hosting:NetworkIsolationOff",
                    "network_isolation=False: the containers of this endpoint's inference "
                    "components can reach the network. Keep it on unless a container must "
                    "call other services.",
                )

        local_storage = sorted(
            {
                t
                for v in every_variant
                if isinstance(v, InstanceVariant | ComponentVariant)
                for t in v.instance_types
                if validation.has_local_storage(t)
            }
        )
        production = [
            v.bind(self, f"variants[{i}]", multi_az=multi_az, shortcut=shortcut and i == 0)
            for i, v in enumerate(self.variants)
        ]
        shadow = None
        if shadow_variant is not None:
            weight = self.variants[0].initial_weight * shadow_sampling_percentage / 100
            shadow = [shadow_variant.bind(self, "shadow_variant", multi_az=multi_az, weight=weight)]
        async_config = None
        if async_inference is not None:
            self.success_topic = async_inference.success_topic or self._topic(
                "SuccessTopic", "succeeded"
            )
            self.error_topic = async_inference.error_topic or self._topic("ErrorTopic", "failed")
            async_config = async_inference.bind(
                self,
                writers=self.models,
                success_topic=self.success_topic,
                error_topic=self.error_topic,
            )
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            kms_key_id=None
            if serverless_endpoint or local_storage
            else self.encryption_key.key_arn,
            production_variants=production,
            shadow_production_variants=shadow,
            data_capture_config=data_capture.bind(
                self,
                writers=self.models,
                serverless=serverless_endpoint,
                endpoint_name=self._endpoint_name,
            )
            if data_capture is not None
            else None,
            async_inference_config=async_config,
            execution_role_arn=self.execution_role.role_arn if self.execution_role else None,
            enable_network_isolation=self.network_isolation,
            vpc_config=vpc_config,
        )
        if serverless_endpoint or local_storage:
            reason = (
                "Serverless variants have no instance storage volume for KmsKeyId to encrypt."
                if serverless_endpoint
                else f"{', '.join(local_storage)} keep their storage on local NVMe volumes, "
                "encrypted by the instance's hardware module; SageMaker refuses KmsKeyId "
                "for such instance types."
            )
            acknowledge(
                self.config,
                reason,
                "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
                "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
                "PCI.DSS.321-SageMakerEndpointConfigurationKMSKeyConfigured",
            )
        self.deployment = deployment
        self._rollback = _RollbackAlarms(list(deployment.rollback_alarms) if deployment else [])
        if deployment is not None:
            for i, alarm in enumerate(deployment.rollback_alarms):
                validation.check_type(
                    self,
                    f"deployment.rollback_alarms[{i}]",
                    alarm,
                    cloudwatch.IAlarm,
                    "a cloudwatch.IAlarm",
                )
            if len(deployment.rollback_alarms) > MAX_ROLLBACK_ALARMS:
                raise ValidationError(
                    deployment.alarm_errors(self, len(deployment.rollback_alarms))[0]
                )
            self.node.add_validation(_CheckRollbackAlarms(self, deployment))
        self.resource = sagemaker.CfnEndpoint(
            self,
            "Resource",
            endpoint_name=self._endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
            deployment_config=deployment.render(Lazy.any(self._rollback)) if deployment else None,
            retain_all_variant_properties=retain_all_variant_properties or None,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=p)
                for p in exclude_retained_variant_properties
            ]
            or None,
        )
        # The endpoint writes logs as soon as its instances start, with its models' roles
        # (in component mode, with its own role, whose grants are in its policy).
        self.resource.node.add_dependency(self.log_group, *self.models)
        if self._execution_principal is not None:
            self.resource.node.add_dependency(self._execution_principal.policy)
        self._arn = self._get_resource_arn_attribute(
            self.resource.ref,
            service="sagemaker",
            resource="endpoint",
            resource_name=self._endpoint_name.lower(),
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

    # --- checks across the variants ------------------------------------------

    def _check_variants(self, *, shortcut: bool) -> None:
        variants = self.variants
        validation.check_count(
            self, "variants", len(variants), low=1, high=MAX_VARIANTS, what="variants"
        )
        serverless_variants = [v for v in variants if isinstance(v, ServerlessVariant)]
        if serverless_variants and len(variants) > 1:
            validation.fail(
                self,
                "variants",
                [type(v).__name__ for v in variants],
                "a serverless endpoint has exactly one variant; serverless and instance "
                "variants cannot be mixed",
            )
        names = [v.variant_name for v in variants]
        if self.shadow_variant is not None:
            names.append(self.shadow_variant.variant_name)
        for i, name in enumerate(names):
            prop = (
                "variant_name"
                if shortcut
                else (
                    f"variants[{i}].variant_name"
                    if i < len(variants)
                    else "shadow_variant.variant_name"
                )
            )
            validation.check_sagemaker_name(self, prop, name)
        _check_unique_names(self, names)
        weights = [v.initial_weight for v in variants]
        for i, weight in enumerate(weights):
            check_weight(self, f"variants[{i}].initial_weight", weight)
        if all(
            isinstance(w, int | float) and not validation.is_token(w) for w in weights
        ) and not any(w > 0 for w in weights):
            validation.fail(
                self,
                "variants[].initial_weight",
                weights,
                "at least one variant needs a positive weight, or no request is served",
            )

    def _check_shadow(self, serverless_endpoint: bool, sampling_percentage: int) -> None:
        assert self.shadow_variant is not None
        if len(self.variants) != 1:
            validation.fail(
                self,
                "shadow_variant",
                self.shadow_variant.variant_name,
                "shadow testing pairs one production variant with one shadow variant; "
                f"this endpoint has {len(self.variants)} production variants",
            )
        if serverless_endpoint:
            validation.fail(
                self,
                "shadow_variant",
                self.shadow_variant.variant_name,
                "serverless endpoints do not support shadow variants",
            )
        validation.check_int(
            self, "shadow_sampling_percentage", sampling_percentage, low=1, high=100, unit=" %"
        )

    def _check_component_mode(
        self,
        *,
        shadow_variant: InstanceVariant | None,
        data_capture: DataCapture | None,
        async_inference: AsyncInference | None,
    ) -> None:
        """Component mode: every variant a ComponentVariant, and no option it cannot carry."""
        kinds = [type(v).__name__ for v in self.variants]
        if any(not isinstance(v, ComponentVariant) for v in self.variants):
            validation.fail(
                self,
                "variants",
                kinds,
                "an endpoint hosts inference components on ComponentVariant variants only; "
                "variants with a model (InstanceVariant, ServerlessVariant) cannot be mixed in",
            )
        for prop, value, why in (
            (
                "shadow_variant",
                shadow_variant,
                "shadow testing pairs model variants; test a component with a second "
                "component, or a separate endpoint",
            ),
            (
                "data_capture",
                data_capture,
                "this library does not capture the traffic of inference components yet; "
                "capture on an endpoint with InstanceVariant variants",
            ),
            (
                "async_inference",
                async_inference,
                "inference components serve real-time requests; host asynchronous models "
                "on InstanceVariant variants",
            ),
        ):
            if value is not None:
                shown = value.variant_name if isinstance(value, InstanceVariant) else "set"
                validation.fail(self, prop, shown, f"not in component mode: {why}")

    def _execution_role(self, stack: Stack, *, in_vpc: bool) -> None:
        """The endpoint config's own role (component mode), granted through a managed policy."""
        self.execution_role = iam.Role(
            self,
            "ExecutionRole",
            description=f"Execution role of the SageMaker endpoint {self.node.path}",
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
        )
        self._execution_principal = ManagedPolicyPrincipal(
            self, "ExecutionPolicy", role=self.execution_role
        )
        # PutMetricData has no resource-level permissions: scope it by namespace.
        self._execution_principal.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        acknowledge(
            self._execution_principal.policy,
            "Wildcard resources only where IAM offers no resource-level permission: "
            "cloudwatch:PutMetricData (limited to the /aws/sagemaker/* namespace) and "
            "ecr:GetAuthorizationToken (for components' images)"
            + (", and the EC2 network-interface actions SageMaker needs in a VPC" if in_vpc else "")
            + "; every other statement names exact ARNs.",
            "AwsSolutions-IAM5[Resource::*]",
        )

    def _vpc_config(
        self,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
    ) -> sagemaker.CfnEndpointConfig.VpcConfigProperty:
        """Component mode: the config's ``VpcConfig``, and the role's network-interface rights."""
        subnet_ids, _, security_groups = _network_placement(
            self,
            vpc,
            vpc_subnets,
            security_groups,
            what=f"SageMaker endpoint {self.node.path}",
            multi_az=bool(self.multi_az),
        )
        self.security_groups = security_groups
        assert self._execution_principal is not None
        self._execution_principal.add_to_policy(
            iam.PolicyStatement(actions=list(VPC_NETWORK_INTERFACE_ACTIONS), resources=["*"])
        )
        acknowledge_network_interfaces(self._execution_principal)
        return sagemaker.CfnEndpointConfig.VpcConfigProperty(
            security_group_ids=[g.security_group_id for g in self.security_groups],
            subnets=subnet_ids,
        )

    @property
    def execution_principal(self) -> iam.IPrincipal:
        """Component mode: grants to the endpoint config's role land in its managed policy."""
        if self._execution_principal is None:
            validation.fail(
                self,
                "execution_principal",
                self.endpoint_name,
                "only an endpoint in component mode (variants of ComponentVariant) has an "
                "execution role of its own; grant to its models instead",
            )
        return self._execution_principal

    def find_component_variant(self, variant_name: str | None) -> ComponentVariant | None:
        """The component variant of that name (default: the first), if any."""
        for v in self.variants:
            if isinstance(v, ComponentVariant) and variant_name in (None, v.variant_name):
                return v
        return None

    def _add_component(self, component: InferenceComponent, model: Model | None) -> None:
        """Host ``component`` here: its model's role may write the endpoint's logs."""
        self.components.append(component)
        if model is not None and model not in self.models:
            self.models.append(model)
            model.grant_principal.add_to_principal_policy(self._log_write())

    def _log_write(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn],
        )

    def _check_retained(self, retain_all: bool, exclude: Sequence[str]) -> None:
        for prop in exclude:
            if prop not in RETAINABLE_PROPERTIES:
                validation.fail(
                    self,
                    "exclude_retained_variant_properties",
                    prop,
                    f"only {', '.join(RETAINABLE_PROPERTIES)} can be excluded",
                )
        if exclude and not retain_all:
            validation.fail(
                self,
                "exclude_retained_variant_properties",
                list(exclude),
                "only applies with retain_all_variant_properties=True",
            )

    def _log_group(
        self, stack: Stack, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> logs.LogGroup:
        name = f"/aws/sagemaker/Endpoints/{self.endpoint_name}"
        # CloudWatch Logs may use the key for this log group only.
        encryption.allow_logs_to_use_key(self, self.encryption_key, name)
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=name,
            encryption_key=self.encryption_key,
            retention=retention,
            removal_policy=removal_policy,
        )
        write = iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
        for model in self.models:
            model.grant_principal.add_to_principal_policy(write)
        if self._execution_principal is not None:
            self._execution_principal.add_to_principal_policy(write)
        return log_group

    def _topic(self, construct_id: str, outcome: str) -> sns.Topic:
        return sns.Topic(
            self,
            construct_id,
            display_name=f"Asynchronous inferences of {self._endpoint_name} that {outcome}",
            master_key=self.encryption_key,
            enforce_ssl=True,
        )

    def auto_scale_variant(
        self, variant_name: str | None = None, *, min_capacity: int, max_capacity: int
    ) -> VariantScaling:
        """Register a variant with Application Auto Scaling; add policies to the result.

        One scalable target per variant: a second call for the same variant is refused.
        Default variant: the first.
        """
        name = variant_name or self.default_variant_name
        if self.component_mode:
            validation.fail(
                self,
                "auto_scale_variant",
                name,
                "in component mode SageMaker scales the instances to the components' copies: "
                "give the ComponentVariant managed_scaling=ManagedInstanceScaling(...), and "
                "scale each component with component.auto_scale_copies(...)",
            )
        if name in self._scaling:
            validation.fail(
                self,
                "auto_scale_variant",
                name,
                "a variant has one scalable target; add policies to the one returned before",
            )
        # Imported here: scaling.py imports this module, and Application Auto
        # Scaling is not needed by endpoints that do not scale.
        from cdk_sagemaker_hosting.scaling import VariantScaling  # noqa: PLC0415

        scaling = VariantScaling(
            self,
            f"Scaling{name}",
            endpoint=self,
            variant_name=name,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
        )
        self._scaling[name] = scaling
        return scaling

    def add_rollback_alarms(self, *alarms: cloudwatch.IAlarm) -> None:
        """Roll the endpoint's deployments back when any of ``alarms`` is in ALARM.

        Rendered when the template is written, so alarms built on this very
        endpoint (``EndpointMonitoring(endpoint=this).rollback_alarms()``)
        guard its updates without a second, imported copy of the endpoint.
        Needs a ``deployment``; 1-10 alarms in all.
        """
        if self.deployment is None:
            validation.fail(
                self,
                "add_rollback_alarms",
                [validation.shown(a) for a in alarms],
                "rollback alarms need a deployment config: pass deployment=DeploymentConfig."
                "blue_green(...) or DeploymentConfig.rolling(...) to the endpoint",
            )
        self._rollback.add(self, alarms)

    @property
    def rollback_alarms(self) -> list[cloudwatch.IAlarm]:
        """The alarms that roll the endpoint's deployments back."""
        return list(self._rollback.alarms)

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name (known at synth: given, or derived from the construct path)."""
        return self._endpoint_name

    @property
    def endpoint_arn(self) -> str:
        """The endpoint's ARN."""
        return self._arn

    @property
    def endpoint_config_name(self) -> str:
        """The name of the endpoint config in use, generated by CloudFormation."""
        return self.config.attr_endpoint_config_name

    @staticmethod
    def from_endpoint_name(scope: Construct, construct_id: str, endpoint_name: str) -> EndpointBase:
        """An endpoint made elsewhere, by name, for grants and metrics.

        It knows no variants: monitoring, drift checks and traffic shifts need
        :meth:`from_endpoint_attributes`.
        """
        return Endpoint.from_endpoint_attributes(scope, construct_id, endpoint_name=endpoint_name)

    @staticmethod
    def from_endpoint_arn(scope: Construct, construct_id: str, endpoint_arn: str) -> EndpointBase:
        """An endpoint made elsewhere, by ARN, for grants.

        SageMaker ARNs carry the endpoint's name in lower case, while its
        metrics, scaling and invocations use the name as created: the name
        taken from the ARN is right only for an endpoint named in lower case.
        For metrics, alarms or scaling use :meth:`from_endpoint_attributes`
        with the exact ``endpoint_name`` (and ``endpoint_arn``); a warning
        says so when the ARN is used alone.
        """
        if validation.is_token(endpoint_arn):
            name = Fn.select(1, Fn.split("/", endpoint_arn))
        else:
            name = Arn.split(endpoint_arn, ArnFormat.SLASH_RESOURCE_NAME).resource_name or ""
            if not name:
                validation.fail(
                    scope,
                    f"{construct_id}.endpoint_arn",
                    endpoint_arn,
                    "must be a SageMaker endpoint ARN ending in endpoint/<name>",
                )
        imported = _ImportedEndpoint(
            scope,
            construct_id,
            endpoint_name=name,
            endpoint_arn=endpoint_arn,
            variants=(),
            asynchronous=False,
            multi_az=None,
            data_capture=None,
        )
        Annotations.of(imported).add_warning_v2(
            "cdk-sagemaker-hosting:EndpointNameFromArn",
            f"the endpoint name ({name if not validation.is_token(name) else 'from the ARN'}) "
            "is read from its ARN, where SageMaker writes it in lower case: metrics, alarms "
            "and scaling need the name as created. Import with "
            "Endpoint.from_endpoint_attributes(endpoint_name=..., endpoint_arn=...) for them.",
        )
        return imported

    @staticmethod
    def from_endpoint_attributes(
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        variants: Sequence[VariantAttributes] = (),
        asynchronous: bool = False,
        multi_az: bool | None = None,
        data_capture: DataCapture | None = None,
        endpoint_arn: str | None = None,
    ) -> EndpointBase:
        """An endpoint made elsewhere, with what its consumers need to know of it.

        :param endpoint_name: its name, exactly as created (metrics and scaling use it).
        :param variants: its variants: names, and instance types or serverless
            (monitoring sets CPU, memory and disk alarms from the instance
            types; scaling checks them), the shadow flagged. Default: unknown.
        :param asynchronous: it queues requests (scaling on backlog). Default: ``False``.
        :param multi_az: its variants span Availability Zones. Default: unknown.
        :param data_capture: its data capture (the drift monitor reads it).
            Default: unknown.
        :param endpoint_arn: its ARN, for an endpoint in another account or
            Region, or whose name is known only at deploy time. Default: built
            from the name, in this stack's account and Region.
        """
        return _ImportedEndpoint(
            scope,
            construct_id,
            endpoint_name=endpoint_name,
            endpoint_arn=endpoint_arn,
            variants=variants,
            asynchronous=asynchronous,
            multi_az=multi_az,
            data_capture=data_capture,
        )
