"""The stack that serves an environment's real-time endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from cdk_sagemaker_hosting import (
    ContainerDefinition,
    ContainerImage,
    DataCapture,
    DeploymentConfig,
    DriftMonitor,
    EncryptedBucket,
    Endpoint,
    EndpointApi,
    EndpointMonitoring,
    InstanceVariant,
    MetricComparison,
    Model,
    ModelData,
    ModelQualityMonitor,
    QualityThreshold,
    TrafficRouting,
    TrafficShift,
)
from cdk_sagemaker_hosting.compliance import acknowledge

from constructs import Construct
from stacks.config import EnvironmentConfig

if TYPE_CHECKING:
    from stacks.registry import RegistryStack

CHAMPION = "Champion"
CHALLENGER = "Challenger"


class HostingStack(Stack):
    """A fraud-detection endpoint: a champion model and, optionally, a challenger pipeline.

    With a challenger, the endpoint runs an A/B test between the champion (one
    XGBoost container) and an inference pipeline (pre-processing container +
    XGBoost); with ``data_capture_percentage`` it captures that share of the
    traffic for the drift monitor; with ``monitoring`` it gets alarms, an alarm
    topic and a dashboard; with ``canary_instances`` every update is a
    blue/green canary that rolls back on the variants' error and latency
    alarms; with ``scaling`` every variant tracks invocations per instance;
    with ``drift_baseline_key``, a ``DriftMonitor`` checks the captured
    requests every hour; with ``quality_ground_truth_prefix``, a
    ``ModelQualityMonitor`` joins each variant's predictions with the labels
    written there and judges them every hour; with a challenger and monitoring,
    a ``PromoteChallenger`` state machine shifts traffic to the challenger step
    by step, rolling back on alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        artifacts: EncryptedBucket,
        registry: RegistryStack | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        endpoint_name = f"{config.name}-fraud-detection"
        image = ContainerImage.from_registry(config.model_image)
        self.model = Model(
            self,
            "FraudModel",
            image=image,
            model_data=ModelData.from_bucket(artifacts, config.model_data_key),
        )
        variants = [self._variant(config, self.model, CHAMPION)]
        challenger = config.challenger
        if challenger is not None and registry is not None:
            # The version a pipeline's deploy pins (-c modelPackageArn=...), else the
            # group's newest approved version as recorded at approval, resolved by
            # CloudFormation at each deploy of this stack.
            assert config.registry is not None
            pinned = self.node.try_get_context(config.registry.context_key)
            self.challenger_model = Model(
                self,
                "ChallengerPackage",
                model_package=registry.registry.version_from_arn(
                    pinned or registry.trigger.approved_version(self)
                ),
            )
        elif challenger is not None:
            # EnvironmentConfig.check_challenger: all three are set without a registry.
            assert challenger.preprocess_image and challenger.preprocess_data_key
            assert challenger.model_data_key
            self.challenger_model = Model(
                self,
                "ChallengerPipeline",
                containers=[
                    ContainerDefinition(
                        image=ContainerImage.from_registry(challenger.preprocess_image),
                        model_data=ModelData.from_bucket(artifacts, challenger.preprocess_data_key),
                    ),
                    ContainerDefinition(
                        image=image,
                        model_data=ModelData.from_bucket(artifacts, challenger.model_data_key),
                    ),
                ],
            )
        if challenger is not None:
            variants = [
                self._variant(config, self.model, CHAMPION, 100 - challenger.weight),
                self._variant(config, self.challenger_model, CHALLENGER, challenger.weight),
            ]

        data_capture = None
        if config.data_capture_percentage is not None:
            self.capture_bucket = EncryptedBucket(self, "DataCapture")
            acknowledge_single_region(self.capture_bucket, "Captured traffic")
            data_capture = DataCapture(
                destination=self.capture_bucket,
                sampling_percentage=config.data_capture_percentage,
            )

        names = [v.variant_name for v in variants]
        deployment = None
        if config.canary_instances is not None:
            # Rolls back on the variants' error and latency alarms, added below
            # from the monitoring built on this very endpoint.
            deployment = DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.canary(
                    instances=config.canary_instances, wait=Duration.minutes(10)
                ),
                termination_wait=Duration.minutes(10),
                maximum_execution_timeout=Duration.hours(2),
            )

        self.endpoint = Endpoint(
            self,
            "FraudEndpoint",
            endpoint_name=endpoint_name,
            variants=variants,
            multi_az=config.multi_az,
            data_capture=data_capture,
            deployment=deployment,
        )
        self.monitoring = None
        if config.monitoring or deployment is not None:
            self.monitoring = EndpointMonitoring(
                self,
                "Monitoring",
                endpoint=self.endpoint,
                max_instances=dict.fromkeys(names, config.scaling.max_instances)
                if config.scaling
                else None,
            )
            if deployment is not None:
                self.endpoint.add_rollback_alarms(*self.monitoring.rollback_alarms())
        if config.scaling is not None:
            for name in names:
                self.endpoint.auto_scale_variant(
                    name,
                    min_capacity=config.instance_count,
                    max_capacity=config.scaling.max_instances,
                ).scale_on_invocations(target_per_instance=config.scaling.invocations_per_instance)
        self.drift = None
        if data_capture is not None and config.drift_baseline_key:
            self.drift = DriftMonitor(
                self,
                "DriftMonitor",
                endpoint=self.endpoint,
                data_capture=data_capture,
                baseline_key=config.drift_baseline_key,
                topic=self.monitoring.topic if self.monitoring else None,
            )
            if self.monitoring is not None and self.monitoring.dashboard is not None:
                self.monitoring.dashboard.add_widgets(
                    cloudwatch.GraphWidget(
                        title="Data drift: share of features drifted (hourly)",
                        left=[self.drift.metric_drift_share(name) for name in names],
                        left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                        width=24,
                    )
                )
            CfnOutput(self, "DataCaptureBucketName", value=data_capture.destination.bucket_name)
        self.quality = (
            self._quality(data_capture, config.quality_ground_truth_prefix, names)
            if data_capture is not None and config.quality_ground_truth_prefix
            else None
        )
        self.promotion = None
        if challenger is not None and self.monitoring is not None:
            # Promote the challenger step by step, on the challenger's own
            # alarms, the endpoint's health and a comparison with the champion.
            self.promotion = TrafficShift(
                self,
                "PromoteChallenger",
                endpoint=self.endpoint,
                source_variant=CHAMPION,
                target_variant=CHALLENGER,
                steps=challenger.promotion_steps,
                bake_time=Duration.minutes(challenger.promotion_bake_minutes),
                monitoring=self.monitoring,
                comparison=MetricComparison(),
                topic=self.monitoring.topic,
            )
            CfnOutput(
                self,
                "PromoteChallengerStateMachineArn",
                value=self.promotion.state_machine_arn,
            )
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
        self.api = self._https_front() if config.https_front else None

    def _quality(
        self, data_capture: DataCapture, ground_truth_prefix: str, names: list[str]
    ) -> ModelQualityMonitor:
        """Each variant's fraud scores judged against labels, the challenger beside the champion.

        Labels (chargebacks, analysts' decisions) may arrive up to a day late;
        a window of predictions is judged once its labels had that long.
        """
        quality = ModelQualityMonitor(
            self,
            "QualityMonitor",
            endpoint=self.endpoint,
            problem_type="binary",
            ground_truth_bucket=data_capture.destination,
            ground_truth_prefix=ground_truth_prefix,
            thresholds={
                "roc_auc": QualityThreshold(absolute=0.8),
                "recall": QualityThreshold(absolute=0.6),
            },
            reference_variant=CHAMPION,
            label_delay=Duration.days(1),
            topic=self.monitoring.topic if self.monitoring else None,
        )
        if self.monitoring is not None and self.monitoring.dashboard is not None:
            self.monitoring.dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Model quality: ROC AUC per variant (hourly windows, labels a day late)",
                    left=[quality.metric("roc_auc", name) for name in names],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                    width=24,
                )
            )
        return quality

    def _https_front(self) -> EndpointApi:
        """An HTTPS front for callers that cannot sign SageMaker requests (IAM, AWS WAF).

        Its alarms join the endpoint's topic and dashboard when monitoring is on.
        """
        api = EndpointApi(
            self,
            "FraudApi",
            endpoint=self.endpoint,
            path="fraud/score",
            monitoring=self.monitoring,
        )
        CfnOutput(self, "FraudApiUrl", value=api.invoke_url())
        return api

    @staticmethod
    def _variant(
        config: EnvironmentConfig, model: Model, name: str, weight: float = 1.0
    ) -> InstanceVariant:
        return InstanceVariant(
            model=model,
            variant_name=name,
            instance_type=config.instance_type,
            initial_instance_count=config.instance_count,
            initial_weight=weight,
        )


def acknowledge_single_region(bucket: EncryptedBucket, what: str) -> None:
    """The reference deployment is single-Region: bucket replication has no destination."""
    for target in (bucket.bucket, bucket.access_logs_bucket):
        acknowledge(
            target,
            f"{what} stays in the deployment's Region; the reference deployment is "
            "single-Region, so cross-Region replication has no destination.",
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
        )
