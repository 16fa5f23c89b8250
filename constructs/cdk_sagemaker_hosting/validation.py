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
import itertools
import re
import weakref
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


#: CDK encodes number tokens as doubles of magnitude ~1.9e289; ordinary numbers are far below.
_NUMBER_TOKEN_MAGNITUDE = 1e280


ELASTIC_INFERENCE_ENDED = (
    "Elastic Inference ended in April 2024; use an AWS Inferentia (ml.inf2.*) "
    "or GPU (ml.g5.*, ml.g6.*) instance type instead"
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
    if isinstance(value, float) and abs(value) < _NUMBER_TOKEN_MAGNITUDE:
        return False
    return bool(Token.is_unresolved(value))


def implements(value: Any, interface: type) -> bool:
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


def check_type(scope: IConstruct, prop: str, value: Any, expected: type, what: str) -> None:
    """``value`` is an ``expected`` (a class or a jsii interface), or the error names ``what``.

    Checked where a wrong type would otherwise fail far away, as an
    ``AttributeError`` with no construct path.
    """
    if not implements(value, expected):
        fail(scope, prop, _shown(value), f"must be {what}, not {type(value).__name__}")


def check_optional_type(
    scope: IConstruct, prop: str, value: Any, expected: type, what: str
) -> None:
    """:func:`check_type` for a value that may be ``None``."""
    if value is not None:
        check_type(scope, prop, value, expected, what)


def _shown(value: Any) -> Any:
    """A value as an error message shows it: constructs by path."""
    node = getattr(value, "node", None)
    path = getattr(node, "path", None)
    return path if isinstance(path, str) else value


def check_int(
    scope: IConstruct,
    prop: str,
    value: Any,
    *,
    low: int,
    high: int | None = None,
    unit: str = "",
) -> None:
    """A whole number within ``low``-``high`` (``None`` passes: unset; tokens pass).

    Floats are refused even when whole-valued in appearance (``50.5``) or
    not (``2.0`` is accepted only as an int): SageMaker's integer fields
    reject them at deploy time.
    """
    if value is None or is_token(value):
        return
    if isinstance(value, bool) or not isinstance(value, int):
        bounds = f"{low}-{high}" if high is not None else f"at least {low}"
        fail(scope, prop, value, f"must be a whole number ({bounds}{unit})")
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        fail(scope, prop, value, f"must be {bounds}{unit}")


@functools.cache
def sagemaker_shapes() -> dict[str, Any]:
    """The shapes of botocore's SageMaker service model, as botocore ships them.

    Read through botocore's own loader (which also honours models under
    ``~/.aws/models``) as plain JSON: about 0.03 s, where building botocore's
    ``ServiceModel`` objects through a session costs every synth 0.2 s more.
    """
    from botocore.loaders import create_loader  # noqa: PLC0415 - loaded only when needed

    model: dict[str, Any] = create_loader().load_service_model("sagemaker", "service-2")
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
    value: Any,
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


def _refuse_url(scope: IConstruct, prop: str, value: Any, what: str) -> None:
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
    import os  # noqa: PLC0415

    if not path.endswith(".tar.gz") or not os.path.isfile(path):
        fail(scope, prop, path, "must be an existing .tar.gz file (SageMaker's model archive)")


def _seconds(duration: Any) -> float | None:
    return None if duration is None else float(duration.to_seconds())


#: Families with NVMe instance storage beyond the ``d`` naming rule (m5d, g4dn, p4d...).
_LOCAL_STORAGE_FAMILIES = frozenset({"g5", "g6", "g6e", "p5", "p5e", "p5en", "trn1", "trn1n"})


def has_local_storage(instance_type: str) -> bool:
    """True for instance types whose storage is local NVMe, encrypted by the instance.

    SageMaker refuses ``KmsKeyId`` in an endpoint config that uses any such
    type (CreateEndpointConfig API reference), so the endpoint leaves it out.
    A family with local storage has ``d`` after its generation (``m5d``,
    ``c6id``, ``g4dn``, ``p4d``), or is one of :data:`_LOCAL_STORAGE_FAMILIES`.
    """
    if is_token(instance_type) or instance_type.count(".") != 2:
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


# --- traffic shift ---


def check_traffic_shift(  # noqa: PLR0912 - every rule of a shift, in one place
    scope: IConstruct,
    *,
    endpoint: Any,
    source_variant: str,
    target_variant: str,
    steps: Sequence[float],
    bake_time: Any,
    data_timeout: Any,
    poll_interval: Any,
    comparison: Any,
) -> None:
    """Every rule of a :class:`TrafficShift`, checked before anything is built.

    The limits are the handler's own (``lambda/traffic_shift/plan.py``), so a
    shift the construct accepts is one its function runs.
    """
    from cdk_sagemaker_hosting._lambda.traffic_shift import plan  # noqa: PLC0415

    known = [v.variant_name for v in getattr(endpoint, "variants", [])]
    shadow = getattr(getattr(endpoint, "shadow_variant", None), "variant_name", None)
    if known and len(known) < 2:
        fail(scope, "endpoint", endpoint.node.path, "must have at least two production variants")
    for prop, name in (("source_variant", source_variant), ("target_variant", target_variant)):
        check_sagemaker_name(scope, prop, name)
        if name == shadow:
            fail(
                scope, prop, name, "must be a production variant (a shadow variant takes no weight)"
            )
        if known and name not in known:
            fail(
                scope,
                prop,
                name,
                f"must be a production variant of the endpoint: {', '.join(known)}",
            )
    if source_variant == target_variant:
        fail(scope, "target_variant", target_variant, "must differ from source_variant")
    listed = ", ".join(f"{s:g}" if isinstance(s, int | float) else repr(s) for s in steps)
    if not steps:
        fail(scope, "steps", [], "must be 1-20 percentages, strictly increasing, ending at 100")
    if len(steps) > plan.MAX_STEPS:
        fail(scope, "steps", listed, f"must be at most {plan.MAX_STEPS} steps")
    for step in steps:
        if not isinstance(step, int | float) or not 0 < step <= 100:
            fail(scope, "steps", listed, "must be percentages above 0 and at most 100")
    if any(b <= a for a, b in itertools.pairwise(steps)):
        fail(scope, "steps", listed, "must strictly increase")
    if steps[-1] != 100:
        fail(scope, "steps", listed, "must end at 100 (the promotion)")
    for prop, duration, low in (
        ("bake_time", bake_time, 0.0),
        ("data_timeout", data_timeout, 0.0),
        ("poll_interval", poll_interval, 1.0),
    ):
        seconds = _seconds(duration)
        if seconds is not None and not low <= seconds <= plan.MAX_SECONDS:
            fail(scope, prop, f"{seconds:g} s", f"must be {low:g} s to {plan.MAX_SECONDS} s")
    bake, poll = _seconds(bake_time), _seconds(poll_interval)
    if bake is not None and poll is not None and bake and poll > bake:
        fail(scope, "poll_interval", f"{poll:g} s", f"must be at most the bake time ({bake:g} s)")
    wait = _seconds(data_timeout)
    if bake is not None and poll is not None and wait is not None:
        need = plan.polls(len(steps), bake, wait, poll)
        if need > plan.MAX_POLLS:
            fail(
                scope,
                "poll_interval",
                f"{poll:g} s",
                f"{len(steps)} steps of {bake:g} s bake and {wait:g} s data wait may need "
                f"{need} polls, more than the {plan.MAX_POLLS} a Step Functions execution's "
                "history holds (25,000 events): poll less often, or bake less",
            )
    if comparison is not None:
        check_range(
            scope,
            "comparison.max_error_rate_increase",
            comparison.max_error_rate_increase,
            low=0,
            high=1,
        )
        if comparison.max_latency_increase < 0:
            fail(
                scope,
                "comparison.max_latency_increase",
                comparison.max_latency_increase,
                "must be a fraction of 0 or more (0.2 allows 20 % slower)",
            )
        check_range(
            scope, "comparison.min_invocations", comparison.min_invocations, low=1, high=10**9
        )


# --- batch transform ---

#: A transform job's name: SageMaker's ``TransformJobName`` (1-63 characters).
TRANSFORM_JOB_NAME_MAX_LENGTH = 63
#: Each run's job is ``<prefix>-<States.UUID()>``: a hyphen and 36 characters.
TRANSFORM_JOB_SUFFIX_LENGTH = 37
TRANSFORM_JOB_PREFIX_MAX_LENGTH = TRANSFORM_JOB_NAME_MAX_LENGTH - TRANSFORM_JOB_SUFFIX_LENGTH
#: CreateTransformJob: ``MaxPayloadInMB`` at most 100, and, with
#: ``MaxConcurrentTransforms``, their product at most 100 MB.
TRANSFORM_MAX_PAYLOAD_MB = 100
TRANSFORM_DEFAULT_PAYLOAD_MB = 6
#: ``TransformResources.InstanceCount``: "The default value is 1, and the maximum is 100."
TRANSFORM_MAX_INSTANCES = 100
#: ``DataProcessing.InputFilter`` / ``OutputFilter``: JSONPath of at most 63 characters.
TRANSFORM_FILTER_MAX_LENGTH = 63
#: ``Environment`` of a transform job: at most 16 entries.
TRANSFORM_ENV_MAX_ENTRIES = 16
TRANSFORM_ENV_VALUE_MAX_LENGTH = 10240
#: A Step Functions standard workflow runs for at most one year.
STATE_MACHINE_MAX_SECONDS = 365 * 24 * 3600
_RATE = re.compile(r"^rate\((?P<value>\d+) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((?P<fields>[^()]+)\)$")


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


def check_schedule_expression(scope: IConstruct, prop: str, expression: str) -> None:
    """An EventBridge ``rate(...)`` or six-field ``cron(...)`` expression.

    Rates take a positive whole number and a unit that is singular for 1 and
    plural otherwise; in a cron expression exactly one of day-of-month and
    day-of-week is ``?`` (EventBridge's schedule expression rules).
    """
    if is_token(expression):
        return
    rate = _RATE.match(expression)
    if rate:
        value, unit = int(rate["value"]), rate["unit"]
        if value < 1 or (value == 1) == unit.endswith("s"):
            fail(
                scope,
                prop,
                expression,
                "a rate is a positive whole number with a unit that is singular for 1 "
                "(rate(1 day)) and plural otherwise (rate(7 days))",
            )
        return
    cron = _CRON.match(expression)
    if cron:
        fields = cron["fields"].split()
        if len(fields) == 6 and (fields[2] == "?") != (fields[4] == "?"):
            return
        fail(
            scope,
            prop,
            expression,
            "a cron expression has six fields (minutes hours day-of-month month day-of-week "
            "year), exactly one of day-of-month and day-of-week being '?', e.g. "
            "cron(0 3 ? * MON *); events.Schedule.cron(...) writes one",
        )
    fail(
        scope,
        prop,
        expression,
        "must be an EventBridge schedule: rate(<n> <minutes|hours|days>) or cron(<6 fields>)",
    )


def check_transform_job_prefix(scope: IConstruct, prop: str, value: str) -> None:
    """A prefix that leaves room for the unique suffix in a 63-character job name."""
    if is_token(value):
        fail(scope, prop, "<token>", "must be known at synth time: IAM policies are scoped to it")
    if not value or len(value) > TRANSFORM_JOB_PREFIX_MAX_LENGTH or not NAME_PATTERN.match(value):
        fail(
            scope,
            prop,
            value,
            f"use 1-{TRANSFORM_JOB_PREFIX_MAX_LENGTH} letters, digits and hyphens, starting and "
            f"ending with a letter or digit: each run appends '-' and a 36-character UUID, "
            f"and a transform job name has at most {TRANSFORM_JOB_NAME_MAX_LENGTH} characters",
        )


def check_batch_transform(
    scope: IConstruct,
    *,
    model: Any,
    input_bucket: Any,
    input_prefix: str,
    output_bucket: Any,
    output_prefix: str,
    instance_type: str,
    instance_count: int,
    split_type: str | None,
    batch_strategy: str | None,
    max_payload_mb: int | None,
    max_concurrent_transforms: int | None,
    input_filter: str | None,
    output_filter: str | None,
    environment: dict[str, str],
    invocations_timeout_seconds: float | None,
    invocations_max_retries: int | None,
    timeout_seconds: float,
) -> None:
    """Every rule of CreateTransformJob (botocore model and API reference) checked at synth."""
    if model.multi_model:
        fail(
            scope,
            "model",
            model.node.path,
            "a multi-model model cannot run a transform job: batch transform sends no "
            "TargetModel, so the container cannot tell which artifact to load; build a "
            "one-artifact Model for the batch job",
        )
    if model.inference_execution is not None and model.inference_execution.value == "Direct":
        fail(
            scope,
            "model",
            model.node.path,
            "a model with InferenceExecution.DIRECT cannot run a transform job: batch "
            "transform sends no TargetContainerHostname; use InferenceExecution.SERIAL "
            "(an inference pipeline)",
        )
    check_s3_prefix(scope, "input_prefix", input_prefix)
    check_s3_prefix(scope, "output_prefix", output_prefix)
    if (
        input_bucket is output_bucket
        and not (is_token(input_prefix) or is_token(output_prefix))
        and (input_prefix.startswith(output_prefix) or output_prefix.startswith(input_prefix))
    ):
        fail(
            scope,
            "output_prefix",
            output_prefix,
            f"overlaps input_prefix {input_prefix!r} in the same bucket: the next run would "
            "read this run's output as input; use prefixes that do not contain each other",
        )
    check_transform_instance_type(scope, "instance_type", instance_type)
    if not is_token(instance_count) and (
        not isinstance(instance_count, int)
        or isinstance(instance_count, bool)
        or not 1 <= instance_count <= TRANSFORM_MAX_INSTANCES
    ):
        fail(
            scope,
            "instance_count",
            instance_count,
            f"a transform job runs on 1-{TRANSFORM_MAX_INSTANCES} instances (whole number)",
        )
    if batch_strategy is not None and split_type in (None, "NONE"):
        fail(
            scope,
            "batch_strategy",
            batch_strategy,
            "needs split_type Line, RecordIO or TFRecord: without splitting, each request "
            "carries one whole input object, so there are no records to batch",
        )
    check_range(
        scope, "max_payload_mb", max_payload_mb, low=0, high=TRANSFORM_MAX_PAYLOAD_MB, unit=" MB"
    )
    if max_concurrent_transforms is not None and not is_token(max_concurrent_transforms):
        if (
            not isinstance(max_concurrent_transforms, int)
            or isinstance(max_concurrent_transforms, bool)
            or max_concurrent_transforms < 0
        ):
            fail(
                scope,
                "max_concurrent_transforms",
                max_concurrent_transforms,
                "must be a whole number, at least 0 (0: the algorithm's own setting)",
            )
        # Unset, the payload is SageMaker's default of 6 MB.
        payload = TRANSFORM_DEFAULT_PAYLOAD_MB if max_payload_mb is None else max_payload_mb
        if not is_token(payload) and payload * max_concurrent_transforms > TRANSFORM_MAX_PAYLOAD_MB:
            fail(
                scope,
                "max_concurrent_transforms",
                max_concurrent_transforms,
                f"max_concurrent_transforms x max_payload_mb = "
                f"{max_concurrent_transforms * payload} MB"
                + (" (6 MB is SageMaker's default payload)" if max_payload_mb is None else "")
                + f"; SageMaker allows at most {TRANSFORM_MAX_PAYLOAD_MB} MB in flight per "
                "instance",
            )
    for prop, value in (("input_filter", input_filter), ("output_filter", output_filter)):
        if value is None or is_token(value):
            continue
        if not value.startswith("$") or len(value) > TRANSFORM_FILTER_MAX_LENGTH:
            fail(
                scope,
                prop,
                value,
                f"must be a JSONPath expression starting with '$' of at most "
                f"{TRANSFORM_FILTER_MAX_LENGTH} characters, e.g. '$[1:]'",
            )
    if len(environment) > TRANSFORM_ENV_MAX_ENTRIES:
        fail(
            scope,
            "environment",
            f"{len(environment)} entries",
            f"a transform job takes at most {TRANSFORM_ENV_MAX_ENTRIES} environment variables",
        )
    check_environment(
        scope, "environment", environment, value_max_length=TRANSFORM_ENV_VALUE_MAX_LENGTH
    )
    check_range(
        scope, "invocations_timeout", invocations_timeout_seconds, low=1, high=3600, unit=" s"
    )
    check_range(scope, "invocations_max_retries", invocations_max_retries, low=0, high=3)
    check_range(
        scope, "timeout", timeout_seconds, low=60, high=STATE_MACHINE_MAX_SECONDS, unit=" s"
    )


# --- drift monitoring ---

#: CloudWatch namespaces: 1-255 characters of this set, never starting with "AWS/".
METRIC_NAMESPACE_PATTERN = re.compile(r"^[0-9A-Za-z.\-_/#:]{1,255}$")
DRIFT_CATEGORICAL_METRICS = ("jensen_shannon", "linf")


def check_drift_monitor(
    scope: IConstruct,
    *,
    variant_names: Sequence[str],
    capture_input: bool,
    capture_prefix: str,
    same_bucket: bool,
    baseline_key: str,
    report_prefix: str,
    window_seconds: float,
    capture_delay_seconds: float,
    thresholds: Any,
    max_objects_per_invocation: int,
    objects_per_batch: int,
    max_concurrency: int,
    memory_size_mb: int,
    timeout_seconds: float,
    metric_namespace: str,
) -> None:
    """Every rule of a drift monitor: what it reads, when, and how it decides."""
    if not variant_names:
        fail(scope, "variant_names", [], "name the variants of an imported endpoint")
    for i, name in enumerate(variant_names):
        check_sagemaker_name(scope, f"variant_names[{i}]", name)
    if not capture_input:
        fail(
            scope,
            "data_capture.capture_input",
            False,
            "the drift check reads the captured requests; capture input",
        )
    check_s3_key(scope, "baseline_key", baseline_key)
    check_s3_prefix(scope, "report_prefix", report_prefix)
    if (
        same_bucket
        and not is_token(report_prefix)
        and not is_token(capture_prefix)
        and (report_prefix.startswith(capture_prefix) or capture_prefix.startswith(report_prefix))
    ):
        fail(
            scope,
            "report_prefix",
            report_prefix,
            f"must not overlap the capture prefix {capture_prefix!r} in the same bucket",
        )
    if window_seconds % 60 or not 300 <= window_seconds <= 86400:
        fail(
            scope,
            "window",
            f"{window_seconds:g} s",
            "must be whole minutes, from 5 minutes to 1 day",
        )
    check_range(scope, "capture_delay", capture_delay_seconds, low=0, high=3600, unit=" s")
    for prop in ("psi", "jensen_shannon", "linf", "epsilon"):
        value = getattr(thresholds, prop)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            fail(scope, f"thresholds.{prop}", value, "must be a positive number")
    if thresholds.categorical_metric not in DRIFT_CATEGORICAL_METRICS:
        fail(
            scope,
            "thresholds.categorical_metric",
            thresholds.categorical_metric,
            f"one of {', '.join(DRIFT_CATEGORICAL_METRICS)}",
        )
    share = thresholds.dataset_share
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        fail(scope, "thresholds.dataset_share", share, "must be above 0 and at most 1")
    check_range(scope, "thresholds.min_records", thresholds.min_records, low=1, high=10**9)
    check_range(
        scope, "max_objects_per_invocation", max_objects_per_invocation, low=1, high=100_000
    )
    check_range(scope, "objects_per_batch", objects_per_batch, low=1, high=1000)
    check_range(scope, "max_concurrency", max_concurrency, low=1, high=1000)
    check_range(scope, "memory_size_mb", memory_size_mb, low=128, high=10240, unit=" MB")
    check_range(scope, "timeout", timeout_seconds, low=60, high=900, unit=" s")
    if not is_token(metric_namespace) and (
        not METRIC_NAMESPACE_PATTERN.match(metric_namespace) or metric_namespace.startswith("AWS/")
    ):
        fail(
            scope,
            "metric_namespace",
            metric_namespace,
            "1-255 letters, digits and . - _ / # :, not starting with 'AWS/' (reserved)",
        )
