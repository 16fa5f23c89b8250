"""AWS CDK constructs that put SageMaker models into production safely.

The public API is re-exported here::

    from cdk_sagemaker_hosting import Endpoint, InstanceVariant, Model, ModelData
"""

from cdk_sagemaker_hosting.async_inference import AsyncInference
from cdk_sagemaker_hosting.batch_transform import JoinSource, ScheduledBatchTransform
from cdk_sagemaker_hosting.data_capture import DataCapture
from cdk_sagemaker_hosting.deployment import DeploymentConfig, TrafficRouting
from cdk_sagemaker_hosting.drift import DriftMonitor, DriftThresholds
from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket
from cdk_sagemaker_hosting.endpoint import Endpoint, EndpointBase
from cdk_sagemaker_hosting.model import (
    ContainerDefinition,
    ContainerImage,
    InferenceExecution,
    Model,
    ModelData,
)
from cdk_sagemaker_hosting.monitoring import AlarmThresholds, EndpointMonitoring
from cdk_sagemaker_hosting.scaling import VariantScaling
from cdk_sagemaker_hosting.traffic_shift import MetricComparison, TrafficShift
from cdk_sagemaker_hosting.validation import ValidationError
from cdk_sagemaker_hosting.variants import InstanceVariant, RoutingStrategy, ServerlessVariant

__all__ = [
    "AlarmThresholds",
    "AsyncInference",
    "ContainerDefinition",
    "ContainerImage",
    "DataCapture",
    "DeploymentConfig",
    "DriftMonitor",
    "DriftThresholds",
    "EncryptedBucket",
    "Endpoint",
    "EndpointBase",
    "EndpointMonitoring",
    "InferenceExecution",
    "InstanceVariant",
    "JoinSource",
    "MetricComparison",
    "Model",
    "ModelData",
    "RoutingStrategy",
    "ScheduledBatchTransform",
    "ServerlessVariant",
    "TrafficRouting",
    "TrafficShift",
    "ValidationError",
    "VariantScaling",
]
