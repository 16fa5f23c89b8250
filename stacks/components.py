"""The stack that hosts two models on one GPU endpoint as inference components."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from cdk_sagemaker_hosting import (
    ComponentDeployment,
    ComponentMonitoring,
    ComponentVariant,
    ComputeRequirements,
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    InferenceComponent,
    ManagedInstanceScaling,
    Model,
    ModelData,
)

from constructs import Construct
from stacks.config import EnvironmentConfig

#: Hugging Face text generation (TGI) on GPUs, AWS's image in us-east-1 (the
#: Region of the reference deployment's other images).
TGI_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
)
#: Four NVIDIA A10G GPUs per instance: room for both models' copies.
INSTANCE_TYPE = "ml.g5.12xlarge"
#: Each copy of either model: one GPU, 4 cores, 24 GiB of host memory.
ONE_GPU = ComputeRequirements(min_memory_mb=24 * 1024, cpu_cores=4, accelerators=1)


class ComponentsStack(Stack):
    """Fraud analysts' assistants: two LLMs sharing one GPU endpoint, each with its own GPUs.

    ``Summarizer`` (case summaries) is always on: copies track concurrent
    requests per copy; in an environment with ``monitoring`` its updates roll
    through one copy at a time and roll back on its error and latency alarms.
    ``Explainer`` (explanations of a score, asked for a few times a day)
    scales to zero copies when idle and wakes on its first request (minutes;
    the first requests fail while it wakes). SageMaker scales the instances
    to the copies (managed instance scaling), between ``instance_count`` and
    twice as many. Placement is checked at synth: at most 4 instances x 4
    GPUs hold both models' copies at their maxima.
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
        instances = config.instance_count
        self.endpoint = Endpoint(
            self,
            "AssistantsEndpoint",
            endpoint_name=f"{config.name}-fraud-assistants",
            multi_az=config.multi_az,
            variants=[
                ComponentVariant(
                    instance_type=INSTANCE_TYPE,
                    initial_instance_count=instances,
                    managed_scaling=ManagedInstanceScaling(
                        min_instances=instances, max_instances=2 * instances
                    ),
                )
            ],
        )
        image = ContainerImage.from_registry(TGI_IMAGE)
        copies = 2 if config.multi_az else 1
        self.summarizer = InferenceComponent(
            self,
            "Summarizer",
            endpoint=self.endpoint,
            model=Model(
                self,
                "SummarizerModel",
                image=image,
                model_data=ModelData.from_bucket(
                    artifacts, "assistants/summarizer/v1/model.tar.gz"
                ),
            ),
            requirements=ONE_GPU,
            copy_count=copies,
            model_data_download_timeout=Duration.minutes(20),
            container_startup_health_check_timeout=Duration.minutes(15),
            deployment=ComponentDeployment.rolling(
                batch_copies=1,
                wait=Duration.minutes(10),
                maximum_execution_timeout=Duration.hours(2),
            )
            if config.monitoring
            else None,
        )
        self.summarizer.auto_scale_copies(
            min_copies=copies, max_copies=2 * instances
        ).scale_on_concurrent_requests(target_per_copy=4)
        self.explainer = InferenceComponent(
            self,
            "Explainer",
            endpoint=self.endpoint,
            model=Model(
                self,
                "ExplainerModel",
                image=image,
                model_data=ModelData.from_bucket(artifacts, "assistants/explainer/v1/model.tar.gz"),
            ),
            requirements=ONE_GPU,
            copy_count=copies,
            model_data_download_timeout=Duration.minutes(20),
            container_startup_health_check_timeout=Duration.minutes(15),
            cache_data=True,
        )
        # Zero copies when idle; the wake-up step policy comes with min_copies=0.
        self.explainer.auto_scale_copies(
            min_copies=0, max_copies=2 * instances
        ).scale_on_invocations(target_per_copy=1, scale_in_cooldown=Duration.minutes(15))
        self.monitoring: list[ComponentMonitoring] = []
        if config.monitoring:
            summarizer = ComponentMonitoring(
                self, "SummarizerMonitoring", component=self.summarizer
            )
            self.summarizer.add_rollback_alarms(*summarizer.rollback_alarms())
            explainer = ComponentMonitoring(
                self,
                "ExplainerMonitoring",
                component=self.explainer,
                topic=summarizer.topic,
            )
            self.monitoring = [summarizer, explainer]
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
        for component in (self.summarizer, self.explainer):
            CfnOutput(self, f"{component.node.id}ComponentName", value=component.component_name)
