"""The stack that holds an environment's model registry and records its approved versions."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from cdk_sagemaker_hosting.registry import ModelRegistry, PromotionTrigger

from constructs import Construct
from stacks.config import RegistryConfig
from stacks.hosting import acknowledge_single_region


class RegistryStack(Stack):
    """A model package group with its encrypted artifact bucket, and the promotion trigger.

    When a version of the group becomes Approved (or an approved one is
    rejected), ``Promotion`` records the newest approved version in an SSM
    parameter, and the hosting stack's challenger resolves that parameter at
    each deploy: the endpoint changes only through a deploy of the app, so
    CloudFormation stays the source of truth. Deployed before the hosting
    stack, whose first deploy needs an approved version (see the README).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, config: RegistryConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.registry = ModelRegistry(
            self,
            "Registry",
            group_name=config.group_name,
            description=f"{config.group_name} models; the newest approved one is the challenger",
        )
        acknowledge_single_region(
            self.registry.artifacts_bucket, "Registered model artifacts, rebuilt by training,"
        )
        self.trigger = PromotionTrigger(
            self,
            "Promotion",
            registry=self.registry,
            parameter_name=config.parameter_name,
        )
        CfnOutput(self, "ModelPackageGroupName", value=config.group_name)
        CfnOutput(
            self, "RegistryArtifactsBucketName", value=self.registry.artifacts_bucket.bucket_name
        )
        CfnOutput(self, "ApprovedVersionParameter", value=self.trigger.parameter_name)
        CfnOutput(self, "PromotionFunctionName", value=self.trigger.function.function_name)
