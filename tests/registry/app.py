"""A registry in one account, its versions hosted by staging and production in others.

Each account is its own ``Stage``: nothing crosses but literal names and ARNs
(``ModelRegistry.from_registry_attributes``), as between real accounts.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from cdk_sagemaker_hosting import Endpoint, InstanceVariant, Model
from cdk_sagemaker_hosting.compliance import acknowledge
from cdk_sagemaker_hosting.registry import (
    ModelRegistry,
    ModelRegistryAttributes,
    PromotionPipeline,
    PromotionTrigger,
    RolloutStage,
    SmokeTest,
)

REGION = "us-east-1"
REGISTRY = "111111111111"
TOOLING = "333333333333"
STAGES = {"Staging": "444444444444", "Production": "555555555555"}
GROUP = "churn"
BUCKET = "churn-registry-artifacts"
KEY_ARN = f"arn:aws:kms:{REGION}:{REGISTRY}:key/0b6e6e4f-2f3a-4c1e-9a53-1f0f6d1f2a3b"


def _single_region(scope: Any) -> None:
    for bucket in [c for c in scope.node.find_all() if isinstance(c, cdk.aws_s3.Bucket)]:
        acknowledge(
            bucket,
            "The example registry is single-Region, so replication has no destination.",
            "HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
        )


class RegistryStack(cdk.Stack):
    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.registry = ModelRegistry(
            self,
            "Registry",
            group_name=GROUP,
            description="Churn models, approved for staging and production",
            reader_accounts=list(STAGES.values()),
            writer_accounts=[TOOLING],
            forward_to_accounts=[TOOLING],
        )
        _single_region(self)


def imported_registry(scope: Any) -> Any:
    return ModelRegistry.from_registry_attributes(
        scope,
        "Registry",
        ModelRegistryAttributes(
            group_name=GROUP,
            account=REGISTRY,
            region=REGION,
            artifacts_bucket_name=BUCKET,
            artifacts_key_arn=KEY_ARN,
        ),
    )


class HostingStack(cdk.Stack):
    def __init__(self, scope: Any, construct_id: str, *, version: int, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        registry = imported_registry(self)
        self.model = Model(self, "Model", model_package=registry.version(version))
        self.endpoint = Endpoint(
            self,
            "Endpoint",
            variants=[InstanceVariant(model=self.model, variant_name="Champion")],
        )


class ToolingStack(cdk.Stack):
    """Where the pipeline runs: the approvals arrive, the record is kept, the deploy starts."""

    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        pipeline = codepipeline.Pipeline.from_pipeline_arn(
            self, "Release", f"arn:aws:codepipeline:{REGION}:{TOOLING}:churn-release"
        )
        self.trigger = PromotionTrigger(
            self, "Promotion", registry=imported_registry(self), pipeline=pipeline
        )


def check_role(scope: Any, account: str) -> iam.IRole:
    """The role each stage's account lets the pipeline's checks assume (made there)."""
    return iam.Role.from_role_arn(
        scope,
        f"Check{account}",
        f"arn:aws:iam::{account}:role/churn-promotion-check",
        mutable=False,
    )


class PipelineStack(cdk.Stack):
    """The staged rollout: staging (smoke test, bake), approval, production (bake)."""

    def __init__(self, scope: Any, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        staging, production = STAGES["Staging"], STAGES["Production"]
        self.promotion = PromotionPipeline(
            self,
            "Promotion",
            registry=imported_registry(self),
            pipeline_name="churn-release",
            stages=[
                RolloutStage(
                    name="Staging",
                    stacks=["Staging/*"],
                    account=staging,
                    endpoint_name="churn-staging",
                    smoke_test=SmokeTest(payload='{"tenure": 3}', expect="probability"),
                    bake=cdk.Duration.minutes(30),
                    alarm_names=["churn-staging-errors"],
                    check_role=check_role(self, staging),
                ),
                RolloutStage(
                    name="Production",
                    stacks=["Production/*"],
                    account=production,
                    approval=True,
                    bake=cdk.Duration.minutes(60),
                    alarm_names=["churn-prod-errors", "churn-prod-shift-failed"],
                    check_role=check_role(self, production),
                ),
            ],
        )
        _single_region(self)


def build(app: cdk.App, version: int = 3) -> dict[str, cdk.Stack]:
    """The registry stage and one hosting stage per account."""
    stacks: dict[str, cdk.Stack] = {}
    env = cdk.Environment(account=REGISTRY, region=REGION)
    stage = cdk.Stage(app, "Registry", env=env)
    stacks["registry"] = RegistryStack(stage, "registry")
    stage = cdk.Stage(app, "Tooling", env=cdk.Environment(account=TOOLING, region=REGION))
    stacks["tooling"] = ToolingStack(stage, "promotion")
    stacks["pipeline"] = PipelineStack(stage, "pipeline")
    for name, account in STAGES.items():
        stage = cdk.Stage(app, name, env=cdk.Environment(account=account, region=REGION))
        stacks[name] = HostingStack(stage, "hosting", version=version)
    return stacks
