"""The stack that holds an environment's model artifacts."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from cdk_sagemaker_hosting import EncryptedBucket

from constructs import Construct
from stacks.hosting import acknowledge_single_region


class ArtifactsStack(Stack):
    """An encrypted bucket for ``model.tar.gz`` files, written by training pipelines.

    Kept apart from the hosting stack so that artifacts can be uploaded
    before a model that reads them is created.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.artifacts = EncryptedBucket(self, "ModelArtifacts")
        CfnOutput(self, "ArtifactsBucketName", value=self.artifacts.bucket_name)
        acknowledge_single_region(
            self.artifacts, "Model artifacts, rebuilt by the training pipeline,"
        )
