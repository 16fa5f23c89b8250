"""The rules a drift check's configuration and thresholds must keep, and how a break is told.

The function checks its configuration when it starts, the command line its
thresholds, and the ``DriftMonitor`` construct both while the app is
synthesised, so all three refuse the same values with the same words.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

#: SageMaker's variant names (botocore ``VariantName``).
VARIANT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
VARIANT_NAME_MAX_LENGTH = 63
#: CloudWatch namespaces: 1-255 characters of this set, never starting with "AWS/".
NAMESPACE = re.compile(r"^[0-9A-Za-z.\-_/#:]{1,255}$")
S3_KEY_MAX_LENGTH = 1024
S3_PREFIX_MAX_LENGTH = 512
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")

#: Values a construct cannot know while it synthesises pass every rule.
Unknown = Callable[[Any], bool]


def never_unknown(_: Any) -> bool:
    """At run time every value is known."""
    return False


@dataclasses.dataclass(frozen=True)
class Problem:
    """One rule a value breaks: the field, the value it holds, what is allowed."""

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r} is invalid: {self.rule}"

    def under(self, parent: str) -> Problem:
        """The same problem, of a field of ``parent`` (``psi`` -> ``thresholds.psi``)."""
        return Problem(f"{parent}.{self.field}", self.value, self.rule)


class ConfigError(ValueError):
    """A configuration or thresholds break rules; ``problems`` lists them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def is_number(value: Any) -> bool:
    """A finite int or float (never a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_whole(value: Any) -> bool:
    """An int (never a bool or a float, however whole it looks)."""
    return isinstance(value, int) and not isinstance(value, bool)


def whole_in(field: str, value: Any, low: int, high: int, unit: str = "") -> Problem | None:
    """``value`` is a whole number within ``low``-``high``."""
    if is_whole(value) and low <= value <= high:
        return None
    return Problem(field, value, f"must be a whole number from {low} to {high}{unit}")


def variant_name(field: str, value: Any) -> Problem | None:
    """A SageMaker variant name."""
    if (
        isinstance(value, str)
        and len(value) <= VARIANT_NAME_MAX_LENGTH
        and VARIANT_NAME.match(value) is not None
    ):
        return None
    return Problem(
        field,
        value,
        f"use 1-{VARIANT_NAME_MAX_LENGTH} letters, digits and hyphens, starting and ending "
        "with a letter or digit (SageMaker's variant names)",
    )


def _not_url(field: str, value: str, what: str) -> Problem | None:
    if _URL.match(value):
        return Problem(
            field,
            value,
            f"give the {what} within the bucket (e.g. 'reports/'), not a URL: the bucket is "
            "its own parameter",
        )
    return None


def s3_prefix(field: str, value: Any) -> Problem | None:
    """A key prefix: not empty, no leading slash, ending with a slash, not a URL."""
    if not isinstance(value, str):
        return Problem(field, value, "must be an S3 key prefix (a string)")
    url = _not_url(field, value, "prefix")
    if url is not None:
        return url
    if not value or value.startswith("/") or not value.endswith("/"):
        return Problem(
            field,
            value,
            f"must be an S3 key prefix of 1-{S3_PREFIX_MAX_LENGTH} characters ending with '/', "
            "not starting with '/'",
        )
    if len(value) > S3_PREFIX_MAX_LENGTH:
        return Problem(field, value, f"must be at most {S3_PREFIX_MAX_LENGTH} characters")
    return None


def s3_key(field: str, value: Any) -> Problem | None:
    """An object key: not empty, no leading slash, at most 1024 characters, not a URL."""
    if not isinstance(value, str):
        return Problem(field, value, "must be an S3 object key (a string)")
    url = _not_url(field, value, "key")
    if url is not None:
        return url
    if not value or value.startswith("/") or len(value) > S3_KEY_MAX_LENGTH:
        return Problem(
            field,
            value,
            f"must be an S3 object key of 1-{S3_KEY_MAX_LENGTH} characters, not starting with '/'",
        )
    return None


def namespace(field: str, value: Any) -> Problem | None:
    """A CloudWatch namespace of one's own."""
    if isinstance(value, str) and NAMESPACE.match(value) and not value.startswith("AWS/"):
        return None
    return Problem(
        field, value, "1-255 letters, digits and . - _ / # :, not starting with 'AWS/' (reserved)"
    )
