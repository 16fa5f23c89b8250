"""The reference deployment: artifacts, hosting, batch and components stacks per environment."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)

from stacks.artifacts import ArtifactsStack
from stacks.batch import BatchStack
from stacks.components import ComponentsStack
from stacks.config import CONTEXT_KEY, EnvironmentConfig, load_environments
from stacks.hosting import HostingStack
from stacks.registry import RegistryStack

__all__ = ["EnvironmentConfig", "add_reference_stacks", "compliance_packs"]


def compliance_packs(app: App) -> list[object]:
    """The cdk-nag packs every stack of the reference app must pass."""
    return [
        AwsSolutionsChecks(app),
        HIPAASecurityChecks(app),
        NIST80053R5Checks(app),
        PCIDSS321Checks(app),
        ServerlessChecks(app),
    ]


def add_reference_stacks(app: App) -> list[Stack]:
    """Add ``<env>-artifacts``, ``-registry``, ``-hosting``, ``-batch``, ``-components``.

    ``-registry`` only where the environment has a ``registry``.
    """
    stacks: list[Stack] = []
    for config in load_environments(app.node.try_get_context(CONTEXT_KEY)):
        env = Environment(account=config.account, region=config.region)
        artifacts = ArtifactsStack(
            app,
            f"{config.name}-artifacts",
            env=env,
            description=f"SageMaker model artifacts ({config.name})",
        )
        registry = None
        if config.registry is not None:
            registry = RegistryStack(
                app,
                f"{config.name}-registry",
                config=config.registry,
                env=env,
                description=f"SageMaker model registry and approved-version record ({config.name})",
            )
            stacks.append(registry)
        hosting = HostingStack(
            app,
            f"{config.name}-hosting",
            config=config,
            artifacts=artifacts.artifacts,
            registry=registry,
            env=env,
            description=f"SageMaker real-time fraud-detection endpoint ({config.name})",
        )
        batch = BatchStack(
            app,
            f"{config.name}-batch",
            config=config,
            artifacts=artifacts.artifacts,
            env=env,
            description=f"SageMaker batch transform: weekly inventory forecast ({config.name})",
        )
        components = ComponentsStack(
            app,
            f"{config.name}-components",
            config=config,
            artifacts=artifacts.artifacts,
            env=env,
            description=f"SageMaker inference components: two LLMs on one endpoint ({config.name})",
        )
        stacks += [artifacts, hosting, batch, components]
    return stacks


def add_compliance_checks(app: App) -> None:
    """Fail synthesis on any unacknowledged cdk-nag finding."""
    Validations.of(app).add_plugins(*compliance_packs(app))  # type: ignore[arg-type]
