"""AWS CDK constructs that put SageMaker models into production safely.

The public API is re-exported here::

    from cdk_sagemaker_hosting import Endpoint, InstanceVariant, Model, ModelData

The names are imported on first use (PEP 562), so that the command line
(``cdk_sagemaker_hosting.cli``) starts without loading the CDK and Node.js.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cdk_sagemaker_hosting.async_inference import AsyncInference
    from cdk_sagemaker_hosting.batch_transform import JoinSource, ScheduledBatchTransform
    from cdk_sagemaker_hosting.compilation import CompilationTarget, CompiledModel
    from cdk_sagemaker_hosting.data_capture import DataCapture
    from cdk_sagemaker_hosting.deployment import DeploymentConfig, TrafficRouting
    from cdk_sagemaker_hosting.drift import DriftMonitor, DriftThresholds
    from cdk_sagemaker_hosting.encrypted_bucket import BucketAccess, EncryptedBucket
    from cdk_sagemaker_hosting.endpoint import Endpoint, EndpointBase
    from cdk_sagemaker_hosting.https_front import (
        ApiAlarmThresholds,
        ApiAuthorization,
        ApiDomain,
        ApiFirewall,
        ApiThrottle,
        EndpointApi,
        PartnerPlan,
    )
    from cdk_sagemaker_hosting.inference_component import (
        ComponentContainer,
        ComponentDeployment,
        ComponentMonitoring,
        ComponentScaling,
        ComputeRequirements,
        InferenceComponent,
        InstanceTypeSpecification,
        PlacementStrategy,
        Scheduling,
    )
    from cdk_sagemaker_hosting.model import (
        ContainerDefinition,
        ContainerImage,
        InferenceExecution,
        Model,
        ModelData,
    )
    from cdk_sagemaker_hosting.monitoring import AlarmThresholds, EndpointMonitoring
    from cdk_sagemaker_hosting.quality import (
        ModelQualityMonitor,
        QualityBaseline,
        QualityThreshold,
    )
    from cdk_sagemaker_hosting.registry import (
        ModelPackage,
        ModelRegistry,
        ModelRegistryAttributes,
        PromotionPipeline,
        PromotionTrigger,
        RolloutStage,
        SmokeTest,
    )
    from cdk_sagemaker_hosting.scaling import VariantScaling
    from cdk_sagemaker_hosting.traffic_shift import MetricComparison, TrafficShift
    from cdk_sagemaker_hosting.validation import ValidationError
    from cdk_sagemaker_hosting.variants import (
        CapacityReservation,
        ComponentVariant,
        GpuCapacity,
        InstancePool,
        InstanceVariant,
        ManagedInstanceScaling,
        RoutingStrategy,
        ScaleInStrategy,
        ServerlessVariant,
        VariantAttributes,
    )


__all__ = [
    "AlarmThresholds",
    "ApiAlarmThresholds",
    "ApiAuthorization",
    "ApiDomain",
    "ApiFirewall",
    "ApiThrottle",
    "AsyncInference",
    "BucketAccess",
    "CapacityReservation",
    "CompilationTarget",
    "CompiledModel",
    "ComponentContainer",
    "ComponentDeployment",
    "ComponentMonitoring",
    "ComponentScaling",
    "ComponentVariant",
    "ComputeRequirements",
    "ContainerDefinition",
    "ContainerImage",
    "DataCapture",
    "DeploymentConfig",
    "DriftMonitor",
    "DriftThresholds",
    "EncryptedBucket",
    "Endpoint",
    "EndpointApi",
    "EndpointBase",
    "EndpointMonitoring",
    "GpuCapacity",
    "InferenceComponent",
    "InferenceExecution",
    "InstancePool",
    "InstanceTypeSpecification",
    "InstanceVariant",
    "JoinSource",
    "ManagedInstanceScaling",
    "MetricComparison",
    "Model",
    "ModelData",
    "ModelPackage",
    "ModelQualityMonitor",
    "ModelRegistry",
    "ModelRegistryAttributes",
    "PartnerPlan",
    "PlacementStrategy",
    "PromotionPipeline",
    "PromotionTrigger",
    "QualityBaseline",
    "QualityThreshold",
    "RolloutStage",
    "RoutingStrategy",
    "ScaleInStrategy",
    "ScheduledBatchTransform",
    "Scheduling",
    "ServerlessVariant",
    "SmokeTest",
    "TrafficRouting",
    "TrafficShift",
    "ValidationError",
    "VariantAttributes",
    "VariantScaling",
]

#: Public name -> the module that defines it.
_MODULES = {
    "AlarmThresholds": "cdk_sagemaker_hosting.monitoring",
    "AsyncInference": "cdk_sagemaker_hosting.async_inference",
    "CompilationTarget": "cdk_sagemaker_hosting.compilation",
    "CompiledModel": "cdk_sagemaker_hosting.compilation",
    "ContainerDefinition": "cdk_sagemaker_hosting.model",
    "ContainerImage": "cdk_sagemaker_hosting.model",
    "DataCapture": "cdk_sagemaker_hosting.data_capture",
    "DeploymentConfig": "cdk_sagemaker_hosting.deployment",
    "DriftMonitor": "cdk_sagemaker_hosting.drift",
    "DriftThresholds": "cdk_sagemaker_hosting.drift",
    "BucketAccess": "cdk_sagemaker_hosting.encrypted_bucket",
    "EncryptedBucket": "cdk_sagemaker_hosting.encrypted_bucket",
    "Endpoint": "cdk_sagemaker_hosting.endpoint",
    "EndpointBase": "cdk_sagemaker_hosting.endpoint",
    "EndpointMonitoring": "cdk_sagemaker_hosting.monitoring",
    "ApiAlarmThresholds": "cdk_sagemaker_hosting.https_front",
    "ApiAuthorization": "cdk_sagemaker_hosting.https_front",
    "ApiDomain": "cdk_sagemaker_hosting.https_front",
    "ApiFirewall": "cdk_sagemaker_hosting.https_front",
    "ApiThrottle": "cdk_sagemaker_hosting.https_front",
    "EndpointApi": "cdk_sagemaker_hosting.https_front",
    "PartnerPlan": "cdk_sagemaker_hosting.https_front",
    "InferenceExecution": "cdk_sagemaker_hosting.model",
    "InstanceVariant": "cdk_sagemaker_hosting.variants",
    "JoinSource": "cdk_sagemaker_hosting.batch_transform",
    "MetricComparison": "cdk_sagemaker_hosting.traffic_shift",
    "Model": "cdk_sagemaker_hosting.model",
    "ModelData": "cdk_sagemaker_hosting.model",
    "RoutingStrategy": "cdk_sagemaker_hosting.variants",
    "ModelPackage": "cdk_sagemaker_hosting.registry",
    "ModelRegistry": "cdk_sagemaker_hosting.registry",
    "ModelRegistryAttributes": "cdk_sagemaker_hosting.registry",
    "PromotionPipeline": "cdk_sagemaker_hosting.registry",
    "PromotionTrigger": "cdk_sagemaker_hosting.registry",
    "RolloutStage": "cdk_sagemaker_hosting.registry",
    "SmokeTest": "cdk_sagemaker_hosting.registry",
    "ModelQualityMonitor": "cdk_sagemaker_hosting.quality",
    "QualityBaseline": "cdk_sagemaker_hosting.quality",
    "QualityThreshold": "cdk_sagemaker_hosting.quality",
    "ScheduledBatchTransform": "cdk_sagemaker_hosting.batch_transform",
    "ServerlessVariant": "cdk_sagemaker_hosting.variants",
    "TrafficRouting": "cdk_sagemaker_hosting.deployment",
    "TrafficShift": "cdk_sagemaker_hosting.traffic_shift",
    "ValidationError": "cdk_sagemaker_hosting.validation",
    "VariantAttributes": "cdk_sagemaker_hosting.variants",
    "VariantScaling": "cdk_sagemaker_hosting.scaling",
    "ComponentContainer": "cdk_sagemaker_hosting.inference_component",
    "ComponentDeployment": "cdk_sagemaker_hosting.inference_component",
    "ComponentMonitoring": "cdk_sagemaker_hosting.inference_component",
    "ComponentScaling": "cdk_sagemaker_hosting.inference_component",
    "ComputeRequirements": "cdk_sagemaker_hosting.inference_component",
    "InferenceComponent": "cdk_sagemaker_hosting.inference_component",
    "InstanceTypeSpecification": "cdk_sagemaker_hosting.inference_component",
    "PlacementStrategy": "cdk_sagemaker_hosting.inference_component",
    "Scheduling": "cdk_sagemaker_hosting.inference_component",
    "CapacityReservation": "cdk_sagemaker_hosting.variants",
    "ComponentVariant": "cdk_sagemaker_hosting.variants",
    "GpuCapacity": "cdk_sagemaker_hosting.variants",
    "InstancePool": "cdk_sagemaker_hosting.variants",
    "ManagedInstanceScaling": "cdk_sagemaker_hosting.variants",
    "ScaleInStrategy": "cdk_sagemaker_hosting.variants",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
