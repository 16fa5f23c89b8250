"""A showcase app: one stack per hosting option the reference deployment does not use.

Shared by the snapshot, cfn-lint and cdk-nag tests, so every option of the
library is held to the same gates as the reference app.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from cdk_sagemaker_hosting import (
    AsyncInference,
    CompilationTarget,
    CompiledModel,
    ContainerDefinition,
    ContainerImage,
    DataCapture,
    DeploymentConfig,
    EncryptedBucket,
    Endpoint,
    InferenceExecution,
    InstanceVariant,
    Model,
    ModelData,
    ModelRegistry,
    PromotionPipeline,
    RolloutStage,
    RoutingStrategy,
    ServerlessVariant,
    SmokeTest,
    TrafficRouting,
)
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.quality import ModelQualityMonitor, QualityBaseline, QualityThreshold

IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3-cpu-py311"
OPTIONS = [
    "serverless",
    "async",
    "shadow",
    "multi-model",
    "direct",
    "vpc",
    "local-storage",
    "scaling",
    "quality",
    "asset",
    "neo",
    "promotion",
]
#: Neo's PyTorch inference image for CPU instances (us-east-1; SageMaker's Neo image table).
NEO_IMAGE = "785573368785.dkr.ecr.us-east-1.amazonaws.com/sagemaker-inference-pytorch:2.0-cpu-py3"


def _archive(directory: Path) -> str:
    """A small, deterministic model.tar.gz (same bytes, same asset hash, every run)."""
    path = directory / "model.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"weights"
        info = tarfile.TarInfo("model.bin")
        info.size, info.mtime = len(data), 0
        tar.addfile(info, io.BytesIO(data))
    import gzip

    path.write_bytes(gzip.compress(buf.getvalue(), mtime=0))
    return str(path)


def _single_region(bucket: EncryptedBucket) -> None:
    for target in (bucket.bucket, bucket.access_logs_bucket):
        acknowledge(
            target,
            "The showcase is single-Region, so cross-Region replication has no destination.",
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
        )


def _promotion(stack: cdk.Stack) -> None:
    """A registry and its staged rollout in one account; production in another."""
    registry = ModelRegistry(
        stack, "Registry", group_name="churn", reader_accounts=["555555555555"]
    )
    _single_region(registry.artifacts_bucket)
    promotion = PromotionPipeline(
        stack,
        "Promotion",
        registry=registry,
        stages=[
            RolloutStage(
                name="Staging",
                stacks=["Staging/*"],
                endpoint_name="churn-staging",
                smoke_test=SmokeTest(payload="3,1,0.5", content_type="text/csv"),
                bake=cdk.Duration.minutes(30),
                alarm_names=["churn-staging-errors"],
            ),
            RolloutStage(
                name="Production",
                stacks=["Production/*"],
                account="555555555555",
                approval=True,
                bake=cdk.Duration.minutes(60),
                alarm_names=["churn-prod-errors", "churn-prod-shift-failed"],
                check_role=iam.Role.from_role_arn(
                    stack,
                    "ProductionCheck",
                    "arn:aws:iam::555555555555:role/churn-promotion-check",
                    mutable=False,
                ),
            ),
        ],
    )
    for created in (promotion.artifacts, promotion.source):
        assert created is not None
        _single_region(created)


def add_showcase_stacks(app: cdk.App, workdir: Path) -> list[cdk.Stack]:  # noqa: PLR0912 - one branch per option
    """One stack per option, named ``showcase-<option>``."""
    stacks = []
    for option in OPTIONS:
        stack = cdk.Stack(app, f"showcase-{option}")
        bucket = EncryptedBucket(stack, "Artifacts")
        _single_region(bucket)
        data = ModelData.from_bucket(bucket, "m/model.tar.gz")
        image = ContainerImage.from_registry(IMAGE)
        if option == "serverless":
            model = Model(stack, "Model", image=image, model_data=data, network_isolation=False)
            Endpoint(
                stack,
                "Endpoint",
                variants=[
                    ServerlessVariant(
                        model=model,
                        memory_size_mb=3072,
                        max_concurrency=10,
                        provisioned_concurrency=2,
                    )
                ],
            )
        elif option == "async":
            model = Model(stack, "Model", image=image, model_data=data)
            output = EncryptedBucket(stack, "Output")
            _single_region(output)
            Endpoint(
                stack,
                "Endpoint",
                model=model,
                async_inference=AsyncInference(
                    output=output, max_concurrent_invocations_per_instance=2
                ),
            )
        elif option == "shadow":
            Endpoint(
                stack,
                "Endpoint",
                variants=[
                    InstanceVariant(
                        model=Model(stack, "Prod", image=image, model_data=data),
                        variant_name="Prod",
                        routing_strategy=RoutingStrategy.RANDOM,
                    )
                ],
                shadow_variant=InstanceVariant(
                    model=Model(
                        stack,
                        "Shadow",
                        image=image,
                        model_data=ModelData.from_bucket(bucket, "m/v2.tar.gz"),
                    ),
                    variant_name="Shadow",
                ),
                shadow_sampling_percentage=10,
                deployment=DeploymentConfig.blue_green(
                    traffic_routing=TrafficRouting.linear(percent=50, wait=cdk.Duration.minutes(5)),
                    rollback_alarms=[cloudwatch.Alarm.from_alarm_name(stack, "Alarm", "errors")],
                ),
            )
        elif option == "multi-model":
            model = Model(
                stack,
                "Model",
                image=image,
                multi_model=True,
                model_data=ModelData.from_bucket_prefix(bucket, "tenants/"),
            )
            Endpoint(
                stack,
                "Endpoint",
                model=model,
                retain_all_variant_properties=True,
                exclude_retained_variant_properties=["DesiredWeight"],
            )
        elif option == "direct":
            repo = ecr.Repository.from_repository_name(stack, "Repo", "churn")
            model = Model(
                stack,
                "Model",
                inference_execution=InferenceExecution.DIRECT,
                containers=[
                    ContainerDefinition(image=image, model_data=data, hostname="fraud"),
                    ContainerDefinition(
                        image=ContainerImage.from_ecr_repository(repo, "2.0"), hostname="churn"
                    ),
                ],
            )
            Endpoint(stack, "Endpoint", model=model, instance_type="ml.c5.xlarge")
        elif option == "vpc":
            vpc = ec2.Vpc(
                stack,
                "Vpc",
                max_azs=2,
                nat_gateways=0,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                    )
                ],
            )
            vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
            flow_log = vpc.add_flow_log("FlowLog")
            assert flow_log.log_group is not None
            acknowledge(
                flow_log.log_group,
                "Test scaffolding that only shows the model's VPC options; the library does "
                "not create VPCs, and this one carries no traffic.",
                checkov=["CKV_AWS_158"],
                guard=["cloudwatch_log_group_encrypted_check"],
            )
            acknowledge(
                vpc,
                "Test scaffolding that only shows the model's VPC options; the library does "
                "not create VPCs, and this one carries no traffic.",
                "HIPAA.Security-CloudWatchLogGroupEncrypted",
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                "PCI.DSS.321-CloudWatchLogGroupEncrypted",
                "HIPAA.Security-IAMNoInlinePolicy",
                "NIST.800.53.R5-IAMNoInlinePolicy",
                "PCI.DSS.321-IAMNoInlinePolicy",
                "HIPAA.Security-VPCDefaultSecurityGroupClosed",
                "NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
                "PCI.DSS.321-VPCDefaultSecurityGroupClosed",
            )
            model = Model(
                stack,
                "Model",
                image=image,
                model_data=data,
                vpc=vpc,
                vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            )
            Endpoint(
                stack,
                "Endpoint",
                model=model,
                deployment=DeploymentConfig.rolling(
                    batch_instances=1,
                    wait=cdk.Duration.minutes(2),
                    rollback_alarms=[cloudwatch.Alarm.from_alarm_name(stack, "Alarm", "errors")],
                ),
            )
        elif option == "local-storage":
            model = Model(stack, "Model", image=image, model_data=data)
            Endpoint(stack, "Endpoint", model=model, instance_type="ml.g5.xlarge")
        elif option == "scaling":
            model = Model(stack, "Model", image=image, model_data=data)
            endpoint = Endpoint(stack, "Endpoint", model=model, instance_type="ml.c5.xlarge")
            scaling = endpoint.auto_scale_variant(min_capacity=2, max_capacity=6)
            scaling.scale_on_invocations(target_per_instance=500)
            # Every action that lowers a bound has one restoring it (else a warning).
            scaling.scale_on_schedule(
                "Night",
                schedule=appscaling.Schedule.cron(hour="22", minute="0"),
                max_capacity=3,
                time_zone=cdk.TimeZone.EUROPE_BERLIN,
            )
            scaling.scale_on_schedule(
                "Morning",
                schedule=appscaling.Schedule.cron(hour="6", minute="0"),
                max_capacity=6,
                time_zone=cdk.TimeZone.EUROPE_BERLIN,
            )
        elif option == "quality":
            # An A/B endpoint whose challenger's quality is judged against ground truth
            # every 10 minutes, labels arriving up to a day late; reports in their own bucket.
            capture = EncryptedBucket(stack, "Capture")
            labels = EncryptedBucket(stack, "Labels")
            reports = EncryptedBucket(stack, "Reports")
            for created in (capture, labels, reports):
                _single_region(created)
            endpoint = Endpoint(
                stack,
                "Endpoint",
                variants=[
                    InstanceVariant(
                        model=Model(stack, name, image=image, model_data=data),
                        variant_name=name,
                        initial_weight=weight,
                    )
                    for name, weight in (("Champion", 9), ("Challenger", 1))
                ],
                data_capture=DataCapture(destination=capture, sampling_percentage=50),
            )
            ModelQualityMonitor(
                stack,
                "Quality",
                endpoint=endpoint,
                problem_type="multiclass",
                join_on="inferenceId",
                prediction_attribute="predicted_label",
                label_column=1,
                ground_truth_bucket=labels,
                ground_truth_prefix="ground-truth/churn/",
                baseline=QualityBaseline.from_constraints_object(
                    labels, "baselines/churn/constraints.json"
                ),
                thresholds={"weighted_f1": QualityThreshold(absolute=0.7)},
                reference_variant="Champion",
                min_records=200,
                window=cdk.Duration.minutes(10),
                label_delay=cdk.Duration.days(1),
                capture_delay=cdk.Duration.minutes(2),
                report_bucket=reports,
                report_prefix="quality/churn/",
                max_objects_per_invocation=100,
                objects_per_batch=20,
                max_concurrency=5,
                partition_size_mb=128,
                metric_namespace="Showcase/ModelQuality",
                scratch_expiration=cdk.Duration.days(3),
            )
        elif option == "asset":
            model = Model(
                stack, "Model", image=image, model_data=ModelData.from_asset(_archive(workdir))
            )
            Endpoint(stack, "Endpoint", model=model)
        elif option == "neo":
            # Compiled by SageMaker Neo for ml.c5 during the deploy, hosted on ml.c5.
            compiled = CompiledModel(
                stack,
                "Compiled",
                source=data,
                framework="PYTORCH",
                framework_version="2.0",
                data_input_config={"input0": [1, 3, 224, 224]},
                target=CompilationTarget.device("ml_c5"),
                output=bucket,
            )
            model = Model(
                stack,
                "Model",
                image=ContainerImage.from_registry(NEO_IMAGE),
                model_data=ModelData.from_compilation(compiled),
            )
            Endpoint(stack, "Endpoint", model=model, instance_type="ml.c5.xlarge")
        elif option == "promotion":
            _promotion(stack)
        stacks.append(stack)
    return stacks
