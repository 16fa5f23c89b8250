"""The stack that serves an environment's real-time endpoint."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from cdk_sagemaker_hosting import (
    ContainerDefinition,
    ContainerImage,
    DataCapture,
    DeploymentConfig,
    EncryptedBucket,
    Endpoint,
    InstanceVariant,
    Model,
    ModelData,
    TrafficRouting,
)
from cdk_sagemaker_hosting.compliance import acknowledge

from constructs import Construct
from stacks.config import EnvironmentConfig

CHAMPION = "Champion"
CHALLENGER = "Challenger"


class HostingStack(Stack):
    """A fraud-detection endpoint: a champion model and, optionally, a challenger pipeline.

    With a challenger, the endpoint runs an A/B test between the champion (one
    XGBoost container) and an inference pipeline (pre-processing container +
    XGBoost); with ``data_capture_percentage`` it captures that share of the
    traffic for the drift monitor; with ``canary_instances`` every update is a
    blue/green canary that rolls back on the variants' error and latency alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        artifacts: EncryptedBucket,
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
        if challenger is not None:
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

        deployment = None
        if config.canary_instances is not None:
            alarms = self._rollback_alarms(endpoint_name, [v.variant_name for v in variants])
            deployment = DeploymentConfig.blue_green(
                traffic_routing=TrafficRouting.canary(
                    instances=config.canary_instances, wait=Duration.minutes(10)
                ),
                rollback_alarms=alarms,
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
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)

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

    def _rollback_alarms(
        self, endpoint_name: str, variant_names: list[str]
    ) -> list[cloudwatch.IAlarm]:
        """5XX errors and p99 model latency of every variant, notifying an encrypted topic."""
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Encrypts the alarm notifications of {endpoint_name}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch publishes alarm notifications to the encrypted topic.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        topic = sns.Topic(self, "AlarmTopic", master_key=key, enforce_ssl=True)
        metrics = Endpoint.from_endpoint_name(self, "EndpointMetrics", endpoint_name)
        alarms: list[cloudwatch.IAlarm] = []
        for variant in variant_names:
            for kind, metric, threshold in (
                ("Errors", metrics.metric_invocation_5xx_errors(variant), 1),
                ("Latency", metrics.metric_model_latency(variant), 500_000),  # 0.5 s, in µs
            ):
                alarm = cloudwatch.Alarm(
                    self,
                    f"{variant}{kind}Alarm",
                    metric=metric,
                    threshold=threshold,
                    evaluation_periods=3,
                    datapoints_to_alarm=2,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    # No traffic is no evidence of failure during a canary.
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                    alarm_description=f"{kind} of variant {variant} of {endpoint_name}; "
                    "rolls back a deployment in progress",
                )
                alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
                alarms.append(alarm)
        return alarms


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
