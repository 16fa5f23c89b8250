"""Bad input fails at synth time with the construct path, property, value and rule."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from cdk_sagemaker_hosting import (
    ContainerImage,
    EncryptedBucket,
    Endpoint,
    Model,
    ModelData,
    ValidationError,
)

from tests.conftest import new_app

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud:1.0"


def build(
    *,
    image: str = IMAGE,
    key: str = "m/model.tar.gz",
    env: dict[str, str] | None = None,
    single_zone_vpc: bool = False,
    **endpoint: Any,
) -> None:
    stack = cdk.Stack(
        new_app(), "Bad", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    bucket = EncryptedBucket(stack, "Artifacts")
    vpc_props: dict[str, Any] = {}
    if single_zone_vpc:
        vpc = ec2.Vpc(
            stack,
            "Vpc",
            availability_zones=["us-east-1a"],
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
        )
        vpc_props = {
            "vpc": vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        }
    model = Model(
        stack,
        "Model",
        image=ContainerImage.from_registry(image),
        model_data=ModelData.from_bucket(bucket, key),
        environment=env,
        **vpc_props,
    )
    Endpoint(stack, "Endpoint", model=model, **endpoint)


# (case id, build arguments, expected message: path, property, value, rule)
CASES: list[tuple[str, dict[str, Any], str]] = [
    (
        "one instance while multi-AZ",
        {"instance_count": 1},
        "Bad/Endpoint: instance_count=1 is invalid: a multi-AZ endpoint needs at least 2 instances",
    ),
    (
        "zero instances",
        {"instance_count": 0, "multi_az": False},
        "Bad/Endpoint: instance_count=0 is invalid: "
        "must be a whole number of instances, at least 1",
    ),
    (
        "fractional instances",
        {"instance_count": 2.5},
        "Bad/Endpoint: instance_count=2.5 is invalid: must be a whole number",
    ),
    (
        "empty image URI",
        {"image": ""},
        "Bad/Model: image='' is invalid: must name a container image",
    ),
    (
        "blank image URI",
        {"image": "   "},
        "Bad/Model: image='   ' is invalid: must name a container image",
    ),
    (
        "image URI with whitespace",
        {"image": IMAGE + " latest"},
        "is invalid: must be at most 255 characters with no whitespace",
    ),
    (
        "image URI too long",
        {"image": IMAGE + "x" * 250},
        "is invalid: must be at most 255 characters with no whitespace",
    ),
    (
        "image from Docker Hub",
        {"image": "nginx:latest"},
        "Bad/Model: image='nginx:latest' is invalid: must be an Amazon ECR image URI",
    ),
    (
        "endpoint name with underscore",
        {"endpoint_name": "fraud_detection"},
        "Bad/Endpoint: endpoint_name='fraud_detection' is invalid: "
        "use 1-63 letters, digits and hyphens",
    ),
    (
        "endpoint name ending in hyphen",
        {"endpoint_name": "fraud-"},
        "Bad/Endpoint: endpoint_name='fraud-' is invalid",
    ),
    (
        "endpoint name too long",
        {"endpoint_name": "e" * 64},
        f"Bad/Endpoint: endpoint_name='{'e' * 64}' is invalid",
    ),
    ("empty endpoint name", {"endpoint_name": ""}, "Bad/Endpoint: endpoint_name='' is invalid"),
    (
        "variant name with a dot",
        {"variant_name": "v1.2"},
        "Bad/Endpoint: variant_name='v1.2' is invalid",
    ),
    (
        "unknown instance type",
        {"instance_type": "ml.m5.huge"},
        "Bad/Endpoint: instance_type='ml.m5.huge' is invalid: "
        "not a SageMaker hosting instance type",
    ),
    (
        "EC2 instance type without ml.",
        {"instance_type": "m5.large"},
        "Bad/Endpoint: instance_type='m5.large' is invalid: not a SageMaker hosting instance type",
    ),
    (
        "Elastic Inference accelerator",
        {"instance_type": "ml.eia2.medium"},
        "Elastic Inference ended in April 2024; use an AWS Inferentia (ml.inf2.*) or GPU",
    ),
    (
        "artifact key starting with a slash",
        {"key": "/m/model.tar.gz"},
        "Bad/Model: model_data.key='/m/model.tar.gz' is invalid: must be an S3 object key",
    ),
    ("empty artifact key", {"key": ""}, "Bad/Model: model_data.key='' is invalid"),
    (
        "environment name with a dash",
        {"env": {"MODEL-NAME": "x"}},
        "Bad/Model: environment['MODEL-NAME']='MODEL-NAME' is invalid: names must match",
    ),
    (
        "environment value too long",
        {"env": {"MODEL": "x" * 1025}},
        "Bad/Model: environment['MODEL']=",
    ),
    (
        "subnets in one zone while multi-AZ",
        {"single_zone_vpc": True},
        "Bad/Endpoint: model.vpc_subnets=['us-east-1a'] is invalid: a multi-AZ endpoint needs "
        "model subnets in at least 2 Availability Zones",
    ),
]


@pytest.mark.parametrize(("kwargs", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        build(**kwargs)


def test_a_single_zone_vpc_is_allowed_when_multi_az_is_explicitly_off() -> None:
    build(single_zone_vpc=True, multi_az=False, instance_count=1)


def test_valid_input_builds() -> None:
    build(instance_type="ml.g5.xlarge", endpoint_name="fraud-detection-2", variant_name="Blue")
