"""A SageMaker endpoint: encrypted, multi-AZ by default, logged, guarded on update."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import (
    Annotations,
    Arn,
    ArnComponents,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns

from cdk_sagemaker_hosting import serverless, validation
from cdk_sagemaker_hosting.async_inference import AsyncInference
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.data_capture import DataCapture
from cdk_sagemaker_hosting.deployment import DeploymentConfig, TrafficRouting
from cdk_sagemaker_hosting.model import Model
from cdk_sagemaker_hosting.scaling import VariantScaling
from cdk_sagemaker_hosting.variants import InstanceVariant, ServerlessVariant, Variant
from constructs import Construct

DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_VARIANT_NAME = "AllTraffic"
#: Invocation metrics (per endpoint and variant).
INVOCATION_NAMESPACE = "AWS/SageMaker"
#: Instance utilisation metrics.
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"


class EndpointBase(Construct):
    """What every endpoint offers, created here or imported: grants and metrics."""

    endpoint_name: str
    endpoint_arn: str
    #: The variant metrics describe unless told otherwise.
    default_variant_name: str = DEFAULT_VARIANT_NAME

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
        statistic: str = "Sum",
        period: Duration | None = None,
    ) -> cloudwatch.Metric:
        """A metric of one variant of this endpoint. Default: the first variant, 1 minute."""
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map={
                "EndpointName": self.endpoint_name,
                "VariantName": variant_name or self.default_variant_name,
            },
            statistic=statistic,
            period=period or Duration.minutes(1),
        )

    def metric_invocations(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """Requests sent to the variant (sum per minute)."""
        return self.metric("Invocations", variant_name=variant_name)

    def metric_invocation_4xx_errors(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """Requests the model answered with 4XX (sum per minute)."""
        return self.metric("Invocation4XXErrors", variant_name=variant_name)

    def metric_invocation_5xx_errors(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """Requests the model answered with 5XX (sum per minute)."""
        return self.metric("Invocation5XXErrors", variant_name=variant_name)

    def metric_model_latency(
        self, variant_name: str | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric:
        """Time the model took, in microseconds. Default: p99."""
        return self.metric("ModelLatency", variant_name=variant_name, statistic=statistic)

    def metric_overhead_latency(
        self, variant_name: str | None = None, statistic: str = "p99"
    ) -> cloudwatch.Metric:
        """Time SageMaker added, in microseconds. Default: p99."""
        return self.metric("OverheadLatency", variant_name=variant_name, statistic=statistic)

    def _instance_metric(self, name: str, variant_name: str | None) -> cloudwatch.Metric:
        return self.metric(
            name, variant_name=variant_name, namespace=INSTANCE_NAMESPACE, statistic="Average"
        )

    def metric_cpu_utilization(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """CPU use summed over cores, in percent (average)."""
        return self._instance_metric("CPUUtilization", variant_name)

    def metric_memory_utilization(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """Memory use in percent (average)."""
        return self._instance_metric("MemoryUtilization", variant_name)

    def metric_disk_utilization(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """Disk use in percent (average)."""
        return self._instance_metric("DiskUtilization", variant_name)

    def metric_gpu_utilization(self, variant_name: str | None = None) -> cloudwatch.Metric:
        """GPU use summed over GPUs, in percent (average)."""
        return self._instance_metric("GPUUtilization", variant_name)


class _ImportedEndpoint(EndpointBase):
    def __init__(self, scope: Construct, construct_id: str, endpoint_name: str) -> None:
        super().__init__(scope, construct_id)
        validation.check_sagemaker_name(self, "endpoint_name", endpoint_name)
        self.endpoint_name = endpoint_name
        self.endpoint_arn = Arn.format(
            ArnComponents(
                service="sagemaker",
                resource="endpoint",
                # SageMaker ARNs carry the name in lower case.
                resource_name=endpoint_name.lower(),
            ),
            Stack.of(self),
        )


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

    Construct IDs (a public contract): ``Key`` (when created), ``LogGroup``,
    ``Config`` (the ``AWS::SageMaker::EndpointConfig``), ``SuccessTopic`` and
    ``ErrorTopic`` (asynchronous endpoints), ``Resource`` (the
    ``AWS::SageMaker::Endpoint``).

    :param model: the model of a one-variant endpoint.
    :param variants: 1-10 :class:`InstanceVariant`, or one :class:`ServerlessVariant`.
    :param endpoint_name: Default: derived from the construct path, at most 63 characters.
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
    :param encryption_key: KMS key for volumes, logs and topics. Default: a new
        key with rotation.
    :param log_retention: Default: one year.
    :param removal_policy: for the key and the log group. Default: ``RETAIN``.
    """

    def __init__(
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
        encryption_key: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        if (model is None) == (variants is None):
            validation.fail(
                self,
                "model/variants",
                "both" if model else "neither",
                "give either model (one variant) or variants",
            )
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
        self.shadow_variant = shadow_variant
        self.multi_az = multi_az
        self.asynchronous = async_inference is not None
        self._scaling: dict[str, VariantScaling] = {}
        validation.check_endpoint(
            self,
            variants=self.variants,
            shadow_variant=shadow_variant,
            shadow_sampling_percentage=shadow_sampling_percentage,
            multi_az=multi_az,
            data_capture=data_capture,
            async_inference=async_inference,
            deployment=deployment,
            retain_all_variant_properties=retain_all_variant_properties,
            exclude_retained_variant_properties=exclude_retained_variant_properties,
            shortcut=variants is None,
        )
        validation.check_sagemaker_name(self, "endpoint_name", endpoint_name)
        if not multi_az:
            Annotations.of(self).add_warning_v2(
                "cdk-sagemaker-hosting:SingleAz",
                "multi_az=False: this endpoint may run in one Availability Zone and is not "
                "covered by the SageMaker SLA. Use it for development only.",
            )

        self.endpoint_name = endpoint_name or Names.unique_resource_name(
            self, max_length=validation.NAME_MAX_LENGTH, separator="-"
        )
        self.default_variant_name = self.variants[0].variant_name
        every_variant = [*self.variants, *([shadow_variant] if shadow_variant else [])]
        self.models: list[Model] = list(dict.fromkeys(v.model for v in every_variant))
        stack = Stack.of(self)
        validation.claim_endpoint_name(self, self.endpoint_name, stack.account, stack.region)

        self.encryption_key: kms.IKey = encryption_key or kms.Key(
            self,
            "Key",
            description=f"Encrypts the storage volumes and logs of endpoint {self.endpoint_name}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self.log_group = self._log_group(stack, log_retention, removal_policy)

        serverless = isinstance(self.variants[0], ServerlessVariant)
        local_storage = sorted(
            {
                v.instance_type
                for v in every_variant
                if isinstance(v, InstanceVariant) and validation.has_local_storage(v.instance_type)
            }
        )
        production = [self._render(v) for v in self.variants]
        shadow = None
        if shadow_variant is not None:
            weight = self.variants[0].initial_weight * shadow_sampling_percentage / 100
            shadow = [self._render(shadow_variant, weight=weight)]
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            kms_key_id=None if serverless or local_storage else self.encryption_key.key_arn,
            production_variants=production,
            shadow_production_variants=shadow,
            data_capture_config=self._data_capture(data_capture),
            async_inference_config=self._async(async_inference),
        )
        if serverless or local_storage:
            reason = (
                "Serverless variants have no instance storage volume for KmsKeyId to encrypt."
                if serverless
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
        self.resource = sagemaker.CfnEndpoint(
            self,
            "Resource",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
            deployment_config=_deployment(deployment),
            retain_all_variant_properties=retain_all_variant_properties or None,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=p)
                for p in exclude_retained_variant_properties
            ]
            or None,
        )
        # The endpoint writes logs as soon as its instances start, with its models' roles.
        self.resource.node.add_dependency(self.log_group, *self.models)

    def _log_group(
        self, stack: Stack, retention: logs.RetentionDays, removal_policy: RemovalPolicy
    ) -> logs.LogGroup:
        name = f"/aws/sagemaker/Endpoints/{self.endpoint_name}"
        # CloudWatch Logs may use the key for this log group only.
        serverless.allow_logs_to_use_key(self, self.encryption_key, name)
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
        return log_group

    @staticmethod
    def _render(
        variant: Variant, *, weight: float | None = None
    ) -> sagemaker.CfnEndpointConfig.ProductionVariantProperty:
        if isinstance(variant, ServerlessVariant):
            return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=variant.variant_name,
                model_name=variant.model.model_name,
                initial_variant_weight=variant.initial_weight if weight is None else weight,
                serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                    memory_size_in_mb=variant.memory_size_mb,
                    max_concurrency=variant.max_concurrency,
                    provisioned_concurrency=variant.provisioned_concurrency,
                ),
            )
        return sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            variant_name=variant.variant_name,
            model_name=variant.model.model_name,
            instance_type=variant.instance_type,
            initial_instance_count=variant.initial_instance_count,
            initial_variant_weight=variant.initial_weight if weight is None else weight,
            volume_size_in_gb=variant.volume_size_gb,
            model_data_download_timeout_in_seconds=_seconds(variant.model_data_download_timeout),
            container_startup_health_check_timeout_in_seconds=_seconds(
                variant.container_startup_health_check_timeout
            ),
            routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                routing_strategy=variant.routing_strategy.value
            )
            if variant.routing_strategy
            else None,
        )

    def _data_capture(
        self, capture: DataCapture | None
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | None:
        if capture is None:
            return None
        for model in self.models:
            capture.destination.grant_write_prefix(model, capture.prefix)
        modes = [
            m
            for m, on in (("Input", capture.capture_input), ("Output", capture.capture_output))
            if on
        ]
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=capture.sampling_percentage,
            destination_s3_uri=capture.destination.s3_url_for_object(capture.prefix),
            kms_key_id=capture.destination.encryption_key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode=m) for m in modes
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                csv_content_types=list(capture.csv_content_types) or None,
                json_content_types=list(capture.json_content_types) or None,
            ),
        )

    def _async(
        self, config: AsyncInference | None
    ) -> sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | None:
        if config is None:
            return None
        self.success_topic = config.success_topic or self._topic("SuccessTopic", "succeeded")
        self.error_topic = config.error_topic or self._topic("ErrorTopic", "failed")
        for model in self.models:
            config.output.grant_write_prefix(model, config.output_prefix)
            config.output.grant_write_prefix(model, config.failure_prefix)
            for topic in (self.success_topic, self.error_topic):
                _grant_publish(model, topic)
        return sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty(
            output_config=sagemaker.CfnEndpointConfig.AsyncInferenceOutputConfigProperty(
                s3_output_path=config.output.s3_url_for_object(config.output_prefix),
                s3_failure_path=config.output.s3_url_for_object(config.failure_prefix),
                kms_key_id=config.output.encryption_key.key_arn,
                notification_config=sagemaker.CfnEndpointConfig.AsyncInferenceNotificationConfigProperty(
                    success_topic=self.success_topic.topic_arn,
                    error_topic=self.error_topic.topic_arn,
                ),
            ),
            client_config=sagemaker.CfnEndpointConfig.AsyncInferenceClientConfigProperty(
                max_concurrent_invocations_per_instance=config.max_concurrent_invocations_per_instance
            )
            if config.max_concurrent_invocations_per_instance
            else None,
        )

    def _topic(self, construct_id: str, outcome: str) -> sns.Topic:
        return sns.Topic(
            self,
            construct_id,
            display_name=f"Asynchronous inferences of {self.endpoint_name} that {outcome}",
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
        if name in self._scaling:
            validation.fail(
                self,
                "auto_scale_variant",
                name,
                "a variant has one scalable target; add policies to the one returned before",
            )
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

    @property
    def endpoint_arn(self) -> str:  # type: ignore[override]
        """The endpoint's ARN."""
        return self.resource.ref

    @property
    def endpoint_config_name(self) -> str:
        """The name of the endpoint config in use, generated by CloudFormation."""
        return self.config.attr_endpoint_config_name

    @staticmethod
    def from_endpoint_name(scope: Construct, construct_id: str, endpoint_name: str) -> EndpointBase:
        """An endpoint made elsewhere, for grants and metrics."""
        return _ImportedEndpoint(scope, construct_id, endpoint_name)


def _grant_publish(model: Model, topic: sns.ITopic) -> None:
    """``sns:Publish`` on the topic, and the two KMS actions an encrypted topic needs.

    Narrower than ``ITopic.grant_publish``, which grants ``kms:GenerateDataKey*``.
    """
    principal = model.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn])
    )
    if topic.master_key is not None:
        principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[topic.master_key.key_arn],
            )
        )


def _seconds(duration: Duration | None) -> int | None:
    return None if duration is None else int(duration.to_seconds())


def _capacity(
    percent: int | None, instances: int | None
) -> sagemaker.CfnEndpoint.CapacitySizeProperty | None:
    if percent is not None:
        return sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=percent)
    if instances is not None:
        return sagemaker.CfnEndpoint.CapacitySizeProperty(type="INSTANCE_COUNT", value=instances)
    return None


def _routing(routing: TrafficRouting) -> sagemaker.CfnEndpoint.TrafficRoutingConfigProperty:
    size = _capacity(routing.percent, routing.instances)
    return sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
        type=routing.type,
        canary_size=size if routing.type == "CANARY" else None,
        linear_step_size=size if routing.type == "LINEAR" else None,
        wait_interval_in_seconds=_seconds(routing.wait),
    )


def _deployment(
    deployment: DeploymentConfig | None,
) -> sagemaker.CfnEndpoint.DeploymentConfigProperty | None:
    if deployment is None:
        return None
    rollback = (
        sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
            alarms=[
                sagemaker.CfnEndpoint.AlarmProperty(alarm_name=a.alarm_name)
                for a in deployment.rollback_alarms
            ]
        )
        if deployment.rollback_alarms
        else None
    )
    if deployment.kind == "rolling":
        return sagemaker.CfnEndpoint.DeploymentConfigProperty(
            auto_rollback_configuration=rollback,
            rolling_update_policy=sagemaker.CfnEndpoint.RollingUpdatePolicyProperty(
                maximum_batch_size=_capacity(deployment.batch_percent, deployment.batch_instances),  # type: ignore[arg-type]
                wait_interval_in_seconds=_seconds(deployment.wait),  # type: ignore[arg-type]
                maximum_execution_timeout_in_seconds=_seconds(deployment.maximum_execution_timeout),
                rollback_maximum_batch_size=_capacity(
                    deployment.rollback_batch_percent, deployment.rollback_batch_instances
                ),
            ),
        )
    assert deployment.traffic_routing is not None
    return sagemaker.CfnEndpoint.DeploymentConfigProperty(
        auto_rollback_configuration=rollback,
        blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=_routing(deployment.traffic_routing),
            termination_wait_in_seconds=_seconds(deployment.termination_wait),
            maximum_execution_timeout_in_seconds=_seconds(deployment.maximum_execution_timeout),
        ),
    )
