"""The primitives of synth-time validation: failing, tokens, types, ranges, names, instance types.

The rules of each construct live with the type that owns the value (a
variant, a capture, a deployment config, a monitor...), which checks itself
when it is bound; this module holds only what they share, and imports
nothing from the package. Every check raises :class:`ValidationError` with a
message of the form::

    <construct path>: <property>=<value> is invalid: <what is allowed>

Values that are unresolved CDK tokens (known only at deploy time) are
skipped: they cannot be checked while the app synthesises. Numeric limits
and instance types come from botocore's SageMaker service model.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
import json
import os
import re
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from aws_cdk import Duration, Token

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


#: CDK encodes number tokens as doubles of magnitude ~1.9e289; ordinary numbers are far below.
_NUMBER_TOKEN_MAGNITUDE = 1e280


ELASTIC_INFERENCE_ENDED = (
    "Elastic Inference ended in April 2024; use an AWS Inferentia (ml.inf2.*) "
    "or GPU (ml.g5.*, ml.g6.*) instance type instead"
)


class ValidationError(ValueError):
    """A construct was given a value that SageMaker or CloudFormation would refuse."""


def fail(scope: IConstruct, prop: str, value: object, allowed: str) -> NoReturn:
    """Raise a :class:`ValidationError` naming the construct path, property, value and rule."""
    raise ValidationError(f"{scope.node.path}: {prop}={value!r} is invalid: {allowed}")


def is_token(value: object) -> bool:
    """True when ``value`` is only known at deploy time.

    Plain strings and integers are told apart in Python (a string token
    always carries the ``${Token[`` marker; a number token is a float), which
    spares a round trip to jsii for every checked value.
    """
    if isinstance(value, str):
        return "${Token[" in value
    if isinstance(value, int):
        return False
    if isinstance(value, float) and abs(value) < _NUMBER_TOKEN_MAGNITUDE:
        return False
    return bool(Token.is_unresolved(value))


def implements(value: object, interface: type) -> bool:
    """True when ``value`` has every member of a jsii interface (``s3.IBucket``, ``kms.IKey``...).

    jsii interfaces are protocols that ``isinstance`` cannot check; their
    members are compared on the value's class, without a call into jsii.
    """
    members: frozenset[str] = getattr(interface, "__protocol_attrs__", frozenset())
    if not members:
        return isinstance(value, interface)
    # An object jsii returns as several interfaces at once (e.g. an imported
    # key) is a proxy over one object per interface: the members are theirs.
    classes = [type(d) for d in getattr(value, "_delegates", None) or [value]]
    return all(any(hasattr(cls, member) for cls in classes) for member in members)


def check_type(scope: IConstruct, prop: str, value: object, expected: type, what: str) -> None:
    """``value`` is an ``expected`` (a class or a jsii interface), or the error names ``what``.

    Checked where a wrong type would otherwise fail far away, as an
    ``AttributeError`` with no construct path.
    """
    if not implements(value, expected):
        fail(scope, prop, shown(value), f"must be {what}, not {type(value).__name__}")


def check_optional_type(
    scope: IConstruct, prop: str, value: object, expected: type, what: str
) -> None:
    """:func:`check_type` for a value that may be ``None``."""
    if value is not None:
        check_type(scope, prop, value, expected, what)


def shown(value: object) -> object:
    """A value as an error message shows it: constructs by path."""
    node = getattr(value, "node", None)
    path = getattr(node, "path", None)
    return path if isinstance(path, str) else value


def check_int(
    scope: IConstruct,
    prop: str,
    value: object,
    *,
    low: int,
    high: int | None = None,
    unit: str = "",
) -> None:
    """A whole number within ``low``-``high`` (``None`` passes: unset; tokens pass).

    Floats are refused, ``2.0`` as much as ``50.5``, and so are booleans:
    SageMaker's integer fields reject them at deploy time.
    """
    if value is None or is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        bounds = f"{low}-{high}" if high is not None else f"at least {low}"
        fail(scope, prop, value, f"must be a whole number ({bounds}{unit})")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        fail(scope, prop, value, f"must be {bounds}{unit}")


#: How botocore stores a model: plain, or gzipped (the large ones).
_MODEL_SUFFIXES = (".json", ".json.gz")


def _model_file(path: Path) -> Path | None:
    """``<path>.json`` or ``<path>.json.gz``, whichever exists first, as botocore looks."""
    return next(
        (f for s in _MODEL_SUFFIXES if (f := path.with_name(path.name + s)).is_file()), None
    )


def _read_model(roots: list[Path], name: str) -> dict[str, Any] | None:
    """The first ``<root>/<name>`` model file found, parsed."""
    for root in roots:
        file = _model_file(root / name)
        if file is not None:
            data = file.read_bytes()
            loaded: dict[str, Any] = json.loads(
                gzip.decompress(data) if file.suffix == ".gz" else data
            )
            return loaded
    return None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    """botocore's ``deep_merge``: nested dicts merged, anything else replaced."""
    for key, value in extra.items():
        if isinstance(base.get(key), dict) and isinstance(value, dict):
            _merge(base[key], value)
        else:
            base[key] = value


@functools.cache
def sagemaker_shapes() -> dict[str, Any]:
    """The shapes of botocore's SageMaker service model, as botocore's loader finds them.

    The model is looked up as ``botocore.loaders.Loader`` does (``AWS_DATA_PATH``,
    ``~/.aws/models``, then botocore's own data; the newest API version; its ``sdk-extras``
    merged) but read as plain JSON without importing botocore: importing
    ``botocore.loaders`` (urllib3, http.client, email) alone cost every synth
    0.1-0.2 s. A test compares the result with botocore's loader.
    """
    spec = importlib.util.find_spec("botocore")
    if spec is None or spec.origin is None:
        msg = "botocore is not installed: SageMaker's limits are read from its service model"
        raise ModuleNotFoundError(msg)
    # botocore's order: AWS_DATA_PATH's folders, ~/.aws/models, its own data.
    extra = [
        Path(os.path.expanduser(path)) / "sagemaker"
        for path in os.environ.get("AWS_DATA_PATH", "").split(os.pathsep)
        if path
    ]
    roots = [
        *extra,
        Path(os.path.expanduser("~")) / ".aws" / "models" / "sagemaker",
        Path(spec.origin).parent / "data" / "sagemaker",
    ]
    versions = [
        version.name
        for root in roots
        if root.is_dir()
        for version in root.iterdir()
        if _model_file(version / "service-2") is not None
    ]
    model = _read_model(roots, f"{max(versions, default='')}/service-2")
    if model is None:
        msg = f"botocore's SageMaker service model is missing from {roots}"
        raise FileNotFoundError(msg)
    latest = max(versions)
    _merge(model, (_read_model(roots, f"{latest}/service-2.sdk-extras") or {}).get("merge", {}))
    shapes: dict[str, Any] = model["shapes"]
    return shapes


def service_enum(shape: str) -> frozenset[str]:
    """The values of an enum shape of SageMaker's model (e.g. its instance types)."""
    return frozenset(sagemaker_shapes()[shape]["enum"])


@functools.cache
def service_range(shape: str, member: str | None = None) -> tuple[float | None, float | None]:
    """``(min, max)`` of a numeric shape (or a structure's member) in botocore's SageMaker model.

    SageMaker's limits are taken from here wherever the service model holds
    them, so they follow the installed botocore.
    """
    shapes = sagemaker_shapes()
    found = shapes[shape]
    if member is not None:
        found = shapes[found["members"][member]["shape"]]
    return found.get("min"), found.get("max")


def check_service_int(
    scope: IConstruct,
    prop: str,
    value: object,
    shape: str,
    member: str | None = None,
    *,
    unit: str = "",
) -> None:
    """:func:`check_int` with the bounds botocore's SageMaker model gives ``shape`` (``member``)."""
    low, high = service_range(shape, member)
    check_int(
        scope,
        prop,
        value,
        low=int(low) if low is not None else 0,
        high=int(high) if high is not None else None,
        unit=unit,
    )


@functools.cache
def production_variant_instance_types() -> frozenset[str]:
    """Instance types SageMaker accepts for a production variant.

    Read from botocore's SageMaker service model (shape
    ``ProductionVariantInstanceType``), so the list follows the installed
    botocore rather than a copy kept here.
    """
    return service_enum("ProductionVariantInstanceType")


def whole_seconds(scope: IConstruct, prop: str, duration: object) -> int:
    """``duration`` (a ``Duration``) in whole seconds; a fraction of a second is refused.

    SageMaker's and the handlers' time fields are whole seconds; CDK would
    otherwise fail with a jsii error that names no construct.
    """
    check_type(scope, prop, duration, Duration, "a Duration")
    assert isinstance(duration, Duration)
    seconds = duration.to_seconds(integral=False)
    if is_token(seconds):
        # A deploy-time number stays the float CDK encodes it as: callers skip
        # their range checks for it, and int() would no longer read as a token.
        return seconds  # type: ignore[return-value]
    if seconds != int(seconds):
        fail(scope, prop, f"{seconds!r} s", "must be whole seconds")
    return int(seconds)


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
    if not isinstance(value, str):
        fail(scope, prop, value, "must be an instance type name such as 'ml.m5.large'")
    if value.startswith("ml.eia"):
        fail(
            scope,
            prop,
            value,
            ELASTIC_INFERENCE_ENDED,
        )
    _check_enum_instance_type(
        scope,
        prop,
        value,
        production_variant_instance_types(),
        use="hosting",
        enum="ProductionVariantInstanceType",
    )


def _check_enum_instance_type(
    scope: IConstruct, prop: str, value: str, valid: frozenset[str], *, use: str, enum: str
) -> None:
    """``value`` is one of botocore's instance types for ``use``, or the error lists families."""
    if value not in valid:
        families = sorted({t.split(".")[1] for t in valid if t.count(".") == 2})
        fail(
            scope,
            prop,
            value,
            f"not a SageMaker {use} instance type (botocore {enum}); "
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


_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _refuse_url(scope: IConstruct, prop: str, value: object, what: str) -> None:
    """A key or prefix given as a URL (``s3://bucket/key``) would render ``s3://b/s3://...``."""
    if not isinstance(value, str):
        fail(scope, prop, value, f"must be an S3 {what} (a string)")
    if _URL.match(value):
        fail(
            scope,
            prop,
            value,
            f"give the {what} within the bucket (e.g. 'models/v1/model.tar.gz'), not a URL: "
            "the bucket is its own parameter",
        )


def check_s3_key(scope: IConstruct, prop: str, value: str) -> None:
    """An object key in a bucket: not empty, no leading slash, at most 1024 characters."""
    if is_token(value):
        return
    _refuse_url(scope, prop, value, "key")
    if not value or value.startswith("/") or len(value) > S3_KEY_MAX_LENGTH:
        fail(
            scope,
            prop,
            value,
            f"must be an S3 object key of 1-{S3_KEY_MAX_LENGTH} characters, not starting with '/'",
        )


def check_environment(
    scope: IConstruct, prop: str, env: dict[str, str], *, value_max_length: int = ENV_MAX_LENGTH
) -> None:
    """Environment variables: names like shell variables, sizes SageMaker accepts.

    Container values take at most 1024 characters (the default); a transform
    job's take more (``value_max_length``).
    """
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
        if not is_token(value) and (not isinstance(value, str) or len(value) > value_max_length):
            fail(
                scope,
                f"{prop}[{key!r}]",
                value,
                f"values must be strings of at most {value_max_length} characters",
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


def check_s3_prefix(scope: IConstruct, prop: str, value: str) -> None:
    """A key prefix: not empty, no leading slash, ending with a slash."""
    if is_token(value):
        return
    _refuse_url(scope, prop, value, "prefix")
    if not value or value.startswith("/") or not value.endswith("/") or len(value) > 512:
        fail(
            scope,
            prop,
            value,
            "must be an S3 key prefix of 1-512 characters ending with '/', not starting with '/'",
        )


def check_model_archive(scope: IConstruct, prop: str, path: str) -> None:
    """A local model artifact: an existing ``.tar.gz`` file."""
    if not path.endswith(".tar.gz") or not os.path.isfile(path):
        fail(scope, prop, path, "must be an existing .tar.gz file (SageMaker's model archive)")


#: Families with NVMe instance storage beyond the ``d`` naming rule (m5d, g4dn, p4d...).
#: EC2's instance-store tables list NVMe volumes for each of these families.
_LOCAL_STORAGE_FAMILIES = frozenset(
    {
        "dl1",
        "g5",
        "g6",
        "g6e",
        "p5",
        "p5e",
        "p5en",
        "p6-b200",
        "p6-b300",
        "p6e-gb200",
        "trn1",
        "trn1n",
        "trn2",
    }
)


def has_local_storage(instance_type: str) -> bool:
    """True for instance types whose storage is local NVMe, encrypted by the instance.

    SageMaker refuses ``KmsKeyId`` in an endpoint config that uses any such
    type (CreateEndpointConfig API reference), so the endpoint leaves it out.
    A family with local storage has ``d`` after its generation (``m5d``,
    ``c6id``, ``g4dn``, ``p4d``), or is one of :data:`_LOCAL_STORAGE_FAMILIES`.
    """
    if not isinstance(instance_type, str) or is_token(instance_type):
        return False
    if instance_type.count(".") != 2:
        return False
    family = instance_type.split(".")[1]
    match = re.match(r"^[a-z]+\d+([a-z-]*)$", family)
    return family in _LOCAL_STORAGE_FAMILIES or bool(match and "d" in match.group(1))


#: Endpoint names claimed per app: root construct -> {(account, region, name): path}.
_ENDPOINT_NAMES: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str], IConstruct]] = (
    weakref.WeakKeyDictionary()
)


def claim_endpoint_name(scope: IConstruct, name: str, account: str, region: str) -> None:
    """Endpoint names are unique per account and Region: refuse a name that certainly collides.

    Only names in stacks whose account and Region are both known at synth
    can collide for certain; environment-agnostic stacks (or stages) may be
    deployed anywhere, so they are never refused.
    """
    if is_token(name) or is_token(account) or is_token(region):
        return
    claimed = _ENDPOINT_NAMES.setdefault(scope.node.root, {})
    key = (account, region, name.lower())
    owner = claimed.setdefault(key, scope)
    if owner is not scope:
        fail(
            scope,
            "endpoint_name",
            name,
            f"already used by {owner.node.path} in account {account}, Region {region}; "
            "endpoint names are unique per account and Region",
        )


# --- batch transform ---


@functools.cache
def transform_instance_types() -> frozenset[str]:
    """Instance types SageMaker accepts for a transform job.

    Read from botocore's SageMaker service model (shape ``TransformInstanceType``),
    like :func:`production_variant_instance_types` for hosting.
    """
    return service_enum("TransformInstanceType")


def check_transform_instance_type(scope: IConstruct, prop: str, value: str) -> None:
    """Instance types from botocore's ``TransformInstanceType`` enum."""
    if is_token(value):
        return
    _check_enum_instance_type(
        scope,
        prop,
        value,
        transform_instance_types(),
        use="batch transform",
        enum="TransformInstanceType",
    )
