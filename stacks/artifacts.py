"""The stack that holds an environment's model artifacts."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from cdk_sagemaker_hosting import EncryptedBucket
from cdk_sagemaker_hosting.compliance import acknowledge

from constructs import Construct


class ArtifactsStack(Stack):
    """An encrypted bucket for ``model.tar.gz`` files, written by training pipelines.

    Kept apart from the hosting stack so that artifacts can be uploaded
    before a model that reads them is created.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.artifacts = EncryptedBucket(self, "ModelArtifacts")
        CfnOutput(self, "ArtifactsBucketName", value=self.artifacts.bucket_name)
        for bucket in (self.artifacts.bucket, self.artifacts.access_logs_bucket):
            acknowledge(
                bucket,
                "Artifacts are rebuilt by the training pipeline from versioned sources; the "
                "reference deployment is single-Region, so replication has no destination.",
                "HIPAA.Security-S3BucketReplicationEnabled",
                "NIST.800.53.R5-S3BucketReplicationEnabled",
                "PCI.DSS.321-S3BucketReplicationEnabled",
            )
