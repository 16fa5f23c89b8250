"""Synth-time validation for every construct in this library.

All checks live here so that the rules, and the wording of their errors, are
in one place. Each check raises :class:`ValidationError` with a message of
the form::

    <construct path>: <property>=<value> is invalid: <what is allowed>

Values that are unresolved CDK tokens (known only at deploy time) are
skipped: they cannot be checked while the app synthesises.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from aws_cdk import Token

from constructs import IConstruct

#: SageMaker names: endpoints, endpoint configs, models, variants.
NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
NAME_MAX_LENGTH = 63
IMAGE_URI_MAX_LENGTH = 255
S3_KEY_MAX_LENGTH = 1024
ENV_KEY_PATTERN = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
ENV_MAX_LENGTH = 1024
#: Multi-AZ: SageMaker spreads a variant over AZs only when it has 2+ instances.
MULTI_AZ_MIN_INSTANCES = 2
MULTI_AZ_MIN_ZONES = 2
#: A private Amazon ECR image: account.dkr.ecr.region.amazonaws.com[.cn]/repo[:tag|@digest]
ECR_IMAGE_PATTERN = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::(?P<tag>[\w][\w.-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


class ValidationError(ValueError):
    """A construct was given a value that SageMaker or CloudFormation would refuse."""


def fail(scope: IConstruct, prop: str, value: Any, allowed: str) -> NoReturn:
    """Raise a :class:`ValidationError` naming the construct path, property, value and rule."""
    raise ValidationError(f"{scope.node.path}: {prop}={value!r} is invalid: {allowed}")


def is_token(value: Any) -> bool:
    """True when ``value`` is only known at deploy time.

    Plain strings and integers are told apart in Python (a string token
    always carries the ``${Token[`` marker; a number token is a float), which
    spares a round trip to jsii for every checked value.
    """
    if isinstance(value, str):
        return "${Token[" in value
    if isinstance(value, int):
        return False
    return bool(Token.is_unresolved(value))


@functools.cache
def production_variant_instance_types() -> frozenset[str]:
    """Instance types SageMaker accepts for a production variant.

    Read from botocore's SageMaker service model (shape
    ``ProductionVariantInstanceType``), so the list follows the installed
    botocore rather than a copy kept here.
    """
    import botocore.session  # noqa: PLC0415 - loaded only when an instance type is checked

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for("ProductionVariantInstanceType").enum)


def check_sagemaker_name(scope: IConstruct, prop: str, value: str | None) -> None:
    """Endpoint, endpoint-config, model and variant names."""
    if value is None or is_token(value):
        return
    if not value or len(value) > NAME_MAX_LENGTH or not NAME_PATTERN.match(value):
        fail(
            scope,
            prop,
            value,
            f"use 1-{NAME_MAX_LENGTH} letters, digits and hyphens, starting and ending with "
            f"a letter or digit (pattern {NAME_PATTERN.pattern})",
        )


def check_instance_type(scope: IConstruct, prop: str, value: str) -> None:
    """Instance types from botocore's ``ProductionVariantInstanceType`` enum."""
    if is_token(value):
        return
    if value.startswith("ml.eia"):
        fail(
            scope,
            prop,
            value,
            "Elastic Inference ended in April 2024; use an AWS Inferentia (ml.inf2.*) "
            "or GPU (ml.g5.*, ml.g6.*) instance type instead",
        )
    valid = production_variant_instance_types()
    if value not in valid:
        families = sorted({t.split(".")[1] for t in valid if t.count(".") == 2})
        fail(
            scope,
            prop,
            value,
            "not a SageMaker hosting instance type (botocore ProductionVariantInstanceType); "
            f"families: {', '.join(families)}",
        )


def check_instance_count(scope: IConstruct, prop: str, value: int, *, multi_az: bool) -> None:
    """At least 1 instance; at least 2 when the variant must survive an AZ outage."""
    if is_token(value):
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        fail(scope, prop, value, "must be a whole number of instances, at least 1")
    if multi_az and value < MULTI_AZ_MIN_INSTANCES:
        fail(
            scope,
            prop,
            value,
            f"a multi-AZ endpoint needs at least {MULTI_AZ_MIN_INSTANCES} instances per variant "
            "so SageMaker can place them in different Availability Zones; raise it, or pass "
            "multi_az=False (development only)",
        )


def check_availability_zones(scope: IConstruct, prop: str, zones: Iterable[str]) -> None:
    """Subnets of a multi-AZ model must span at least two Availability Zones.

    Zones that are tokens (an environment-agnostic VPC) are distinct per
    subnet index, so distinct token strings count as distinct zones.
    """
    distinct = sorted(set(zones))
    if len(distinct) < MULTI_AZ_MIN_ZONES:
        shown = [z if not is_token(z) else "<deploy-time AZ>" for z in distinct]
        fail(
            scope,
            prop,
            shown,
            f"a multi-AZ endpoint needs model subnets in at least {MULTI_AZ_MIN_ZONES} "
            "Availability Zones; select subnets in more zones, or pass multi_az=False "
            "(development only)",
        )


def parse_ecr_image_uri(scope: IConstruct, prop: str, value: str) -> re.Match[str] | None:
    """Check an image URI; return its parts when it is an Amazon ECR image.

    Returns ``None`` for a token (the repository cannot be known at synth).
    """
    if is_token(value):
        return None
    if not value or not value.strip():
        fail(
            scope,
            prop,
            value,
            "must name a container image, e.g. "
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-model:1.0",
        )
    if len(value) > IMAGE_URI_MAX_LENGTH or re.search(r"\s", value):
        fail(
            scope,
            prop,
            value,
            f"must be at most {IMAGE_URI_MAX_LENGTH} characters with no whitespace",
        )
    match = ECR_IMAGE_PATTERN.match(value)
    if match is None:
        fail(
            scope,
            prop,
            value,
            "must be an Amazon ECR image URI "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:digest]); "
            "images from other registries need VPC repository access, which this library "
            "does not configure yet",
        )
    return match


def check_s3_key(scope: IConstruct, prop: str, value: str) -> None:
    """An object key in a bucket: not empty, no leading slash, at most 1024 characters."""
    if is_token(value):
        return
    if not value or value.startswith("/") or len(value) > S3_KEY_MAX_LENGTH:
        fail(
            scope,
            prop,
            value,
            f"must be an S3 object key of 1-{S3_KEY_MAX_LENGTH} characters, not starting with '/'",
        )


def check_environment(scope: IConstruct, prop: str, env: dict[str, str]) -> None:
    """Container environment variables: names like shell variables, sizes SageMaker accepts."""
    for key, value in env.items():
        if is_token(key):
            continue
        if not ENV_KEY_PATTERN.match(key) or len(key) > ENV_MAX_LENGTH:
            fail(
                scope,
                f"{prop}[{key!r}]",
                key,
                f"names must match {ENV_KEY_PATTERN.pattern} and be at most {ENV_MAX_LENGTH} "
                "characters",
            )
        if not is_token(value) and (not isinstance(value, str) or len(value) > ENV_MAX_LENGTH):
            fail(
                scope,
                f"{prop}[{key!r}]",
                value,
                f"values must be strings of at most {ENV_MAX_LENGTH} characters",
            )


def check_count(
    scope: IConstruct, prop: str, count: int, *, low: int, high: int, what: str
) -> None:
    """A list whose length SageMaker bounds."""
    if not low <= count <= high:
        fail(scope, prop, f"{count} {what}", f"give {low}-{high} {what}")


def check_range(
    scope: IConstruct, prop: str, value: float | None, *, low: float, high: float, unit: str = ""
) -> None:
    """A number within SageMaker's bounds (``None`` means unset and passes)."""
    if value is None or is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        fail(scope, prop, value, f"must be between {low} and {high}{unit}")


def check_container_count(scope: IConstruct, prop: str, count: int) -> None:
    """A multi-container model has 2-15 containers."""
    check_count(scope, prop, count, low=2, high=15, what="containers")


def check_model_shape(
    scope: IConstruct, *, containers: Sequence[Any], multi_model: bool, direct: bool
) -> None:
    """Multi-model needs one container and a prefix; direct invocation needs hostnames."""
    if multi_model:
        if len(containers) != 1:
            fail(
                scope,
                "multi_model",
                True,
                "a multi-model endpoint serves one container; use image=, not containers=",
            )
        data = containers[0].model_data
        if data is None or not data.is_prefix:
            fail(
                scope,
                "model_data",
                data,
                "multi_model=True needs ModelData.from_bucket_prefix(bucket, 'prefix/')",
            )
    for i, container in enumerate(containers):
        data = container.model_data
        if data is not None and data.is_prefix and not multi_model:
            fail(
                scope,
                f"containers[{i}].model_data" if len(containers) > 1 else "model_data",
                "a prefix",
                "a prefix of artifacts needs multi_model=True; "
                "one model needs ModelData.from_bucket(bucket, key)",
            )
    if direct:
        hostnames = [c.hostname for c in containers]
        for i, name in enumerate(hostnames):
            if name is None:
                fail(
                    scope,
                    f"containers[{i}].hostname",
                    None,
                    "InferenceExecution.DIRECT invokes each container by its hostname; "
                    "give every container one",
                )
            check_sagemaker_name(scope, f"containers[{i}].hostname", name)
        duplicates = sorted({h for h in hostnames if hostnames.count(h) > 1 and h is not None})
        if duplicates:
            fail(scope, "containers[].hostname", duplicates, "hostnames must be unique")


def check_s3_prefix(scope: IConstruct, prop: str, value: str) -> None:
    """A key prefix: not empty, no leading slash, ending with a slash."""
    if is_token(value):
        return
    if not value or value.startswith("/") or not value.endswith("/") or len(value) > 512:
        fail(
            scope,
            prop,
            value,
            "must be an S3 key prefix of 1-512 characters ending with '/', not starting with '/'",
        )


def check_model_archive(scope: IConstruct, prop: str, path: str) -> None:
    """A local model artifact: an existing ``.tar.gz`` file."""
    import os  # noqa: PLC0415

    if not path.endswith(".tar.gz") or not os.path.isfile(path):
        fail(scope, prop, path, "must be an existing .tar.gz file (SageMaker's model archive)")
