"""The stack that serves an environment's real-time endpoint."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from cdk_sagemaker_hosting import ContainerImage, EncryptedBucket, Endpoint, Model, ModelData

from constructs import Construct
from stacks.config import EnvironmentConfig


class HostingStack(Stack):
    """A fraud-detection model behind a multi-AZ real-time endpoint."""

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
        self.model = Model(
            self,
            "FraudModel",
            image=ContainerImage.from_registry(config.model_image),
            model_data=ModelData.from_bucket(artifacts, config.model_data_key),
        )
        self.endpoint = Endpoint(
            self,
            "FraudEndpoint",
            model=self.model,
            endpoint_name=f"{config.name}-fraud-detection",
            instance_type=config.instance_type,
            instance_count=config.instance_count,
            multi_az=config.multi_az,
        )
        CfnOutput(self, "EndpointName", value=self.endpoint.endpoint_name)
