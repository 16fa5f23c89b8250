"""AWS CDK constructs that put SageMaker models into production safely.

The public API is re-exported here::

    from cdk_sagemaker_hosting import ContainerImage, EncryptedBucket, Endpoint, Model, ModelData
"""

from cdk_sagemaker_hosting.encrypted_bucket import EncryptedBucket
from cdk_sagemaker_hosting.endpoint import Endpoint
from cdk_sagemaker_hosting.model import ContainerImage, Model, ModelData
from cdk_sagemaker_hosting.validation import ValidationError

__all__ = [
    "ContainerImage",
    "EncryptedBucket",
    "Endpoint",
    "Model",
    "ModelData",
    "ValidationError",
]
