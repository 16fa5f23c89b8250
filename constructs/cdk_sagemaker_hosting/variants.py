"""Production variants: the models an endpoint serves and what they run on."""

from __future__ import annotations

import dataclasses
import enum

from aws_cdk import Duration

from cdk_sagemaker_hosting.model import Model


class RoutingStrategy(enum.Enum):
    """How SageMaker spreads a variant's requests over its instances."""

    LEAST_OUTSTANDING_REQUESTS = "LEAST_OUTSTANDING_REQUESTS"
    RANDOM = "RANDOM"


@dataclasses.dataclass(frozen=True, kw_only=True)
class InstanceVariant:
    """A production variant on dedicated instances.

    :param model: the model it serves.
    :param variant_name: its name, unique in the endpoint. Default: ``"AllTraffic"``.
    :param instance_type: a SageMaker hosting instance type. Default: ``"ml.m5.large"``.
    :param initial_instance_count: instances at creation. Default: 2 (multi-AZ).
    :param initial_weight: relative share of traffic (1/1 is 50/50). Default: 1.0.
    :param volume_size_gb: storage volume per instance, 1-512 GB. Default: SageMaker's.
    :param model_data_download_timeout: 60-3600 s. Default: SageMaker's.
    :param container_startup_health_check_timeout: 60-3600 s. Default: SageMaker's.
    :param routing_strategy: Default: SageMaker's (``LEAST_OUTSTANDING_REQUESTS``).
    :param accelerator_type: refused: Elastic Inference ended in 2024.
    """

    model: Model
    variant_name: str = "AllTraffic"
    instance_type: str = "ml.m5.large"
    initial_instance_count: int = 2
    initial_weight: float = 1.0
    volume_size_gb: int | None = None
    model_data_download_timeout: Duration | None = None
    container_startup_health_check_timeout: Duration | None = None
    routing_strategy: RoutingStrategy | None = None
    accelerator_type: str | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServerlessVariant:
    """A production variant on SageMaker Serverless Inference.

    Serverless endpoints have one variant, and their model may use neither
    network isolation, a VPC, several containers nor multi-model mode.

    :param model: the model it serves.
    :param variant_name: its name. Default: ``"AllTraffic"``.
    :param memory_size_mb: 1024-6144 in steps of 1024. Default: 2048.
    :param max_concurrency: 1-200. Default: 20.
    :param provisioned_concurrency: 1-200, at most ``max_concurrency``. Default: none.
    :param initial_weight: Default: 1.0.
    """

    model: Model
    variant_name: str = "AllTraffic"
    memory_size_mb: int = 2048
    max_concurrency: int = 20
    provisioned_concurrency: int | None = None
    initial_weight: float = 1.0


Variant = InstanceVariant | ServerlessVariant
