"""The baseline: each feature's type and distribution in the training data.

A baseline is built from a CSV file with a header row or from JSON lines
(one object per row), or read from a SageMaker Model Monitor
``statistics.json``. Numeric features keep the interior edges of bins at
their quantiles and the training counts per bin; categorical features keep
their most frequent categories and the count of each, plus one "other"
count for the rest. Feature order is the column order, which CSV payloads
follow positionally.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .stats import DEFAULT_BINS, bin_counts, quantile_edges

NUMERIC = "numeric"
CATEGORICAL = "categorical"
#: Kept in its position (CSV payloads are positional) but never checked.
IGNORED = "ignored"
KINDS = (NUMERIC, CATEGORICAL, IGNORED)
FORMAT = "cdk-sagemaker-hosting/drift-baseline"
#: Categories kept per feature; rarer ones share the "other" count.
DEFAULT_MAX_CATEGORIES = 100


class BaselineError(ValueError):
    """A baseline file that cannot be read or built."""


@dataclasses.dataclass(frozen=True)
class Feature:
    """One feature of the baseline.

    ``counts`` are the training counts per bin: ``len(edges) + 1`` bins for a
    numeric feature, ``len(categories) + 1`` for a categorical one (the last
    is "other"), none for an ignored one.
    """

    name: str
    kind: str
    counts: tuple[int, ...] = ()
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()
    missing: int = 0

    def to_json(self) -> dict[str, Any]:
        """The feature as stored in a baseline file."""
        out: dict[str, Any] = {"name": self.name, "type": self.kind}
        if self.kind == NUMERIC:
            out["edges"] = list(self.edges)
        if self.kind == CATEGORICAL:
            out["categories"] = list(self.categories)
        if self.kind != IGNORED:
            out["counts"] = list(self.counts)
            out["missing"] = self.missing
        return out

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Feature:
        """A feature of a baseline file, checked."""
        name, kind = data.get("name"), data.get("type")
        if not isinstance(name, str) or kind not in KINDS:
            raise BaselineError(f"feature {data!r}: needs a name and a type in {KINDS}")
        edges = tuple(float(e) for e in data.get("edges", ()))
        categories = tuple(str(c) for c in data.get("categories", ()))
        counts = tuple(int(c) for c in data.get("counts", ()))
        expected = {NUMERIC: len(edges) + 1, CATEGORICAL: len(categories) + 1, IGNORED: 0}[kind]
        if len(counts) != expected or any(c < 0 for c in counts):
            raise BaselineError(f"feature {name!r}: needs {expected} non-negative counts")
        if list(edges) != sorted(set(edges)) or not all(math.isfinite(e) for e in edges):
            raise BaselineError(f"feature {name!r}: edges must be finite and increasing")
        if kind != IGNORED and sum(counts) == 0:
            raise BaselineError(f"feature {name!r}: the baseline holds no value of it")
        return Feature(name, kind, counts, edges, categories, int(data.get("missing", 0)))


@dataclasses.dataclass(frozen=True)
class Baseline:
    """Features in column order, and the number of training records."""

    features: tuple[Feature, ...]
    records: int
    source: str = "data"

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        if not names:
            raise BaselineError("a baseline needs at least one feature")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise BaselineError(f"feature names must be unique: {duplicates}")

    @property
    def names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]

    def to_json(self) -> dict[str, Any]:
        """The baseline file's content."""
        return {
            "format": FORMAT,
            "version": 1,
            "source": self.source,
            "records": self.records,
            "features": [f.to_json() for f in self.features],
        }

    def digest(self) -> str:
        """A fingerprint of the baseline: partial counts of one baseline only merge together."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def loads(text: str | bytes) -> Baseline:
    """A baseline file: ours, or a Model Monitor ``statistics.json``."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise BaselineError(f"not JSON: {error}") from error
    if not isinstance(data, dict):
        raise BaselineError("a baseline is a JSON object")
    if data.get("format") == FORMAT:
        features = data.get("features")
        if not isinstance(features, list):
            raise BaselineError("features must be a list")
        return Baseline(
            tuple(Feature.from_json(f) for f in features),
            int(data.get("records", 0)),
            str(data.get("source", "data")),
        )
    if "features" in data and "dataset" in data:
        return from_model_monitor(data)
    raise BaselineError(
        f"neither a baseline ({FORMAT}) nor a Model Monitor statistics.json "
        "(with 'dataset' and 'features')"
    )


def from_model_monitor(
    statistics: Mapping[str, Any], max_categories: int = DEFAULT_MAX_CATEGORIES
) -> Baseline:
    """A baseline from Model Monitor's ``statistics.json``.

    Numeric (``Integral``, ``Fractional``) features take the bins of their KLL
    ``buckets`` (10 equal-width bins from min to max, so PSI compares those
    bins rather than deciles); ``String`` features take their categorical
    buckets. Features with any other type, or no distribution, keep their
    position but are not checked.
    """
    features = []
    for item in statistics.get("features", []):
        name = str(item.get("name"))
        kind = item.get("inferred_type")
        if kind in ("Integral", "Fractional"):
            stats = item.get("numerical_statistics", {})
            buckets = stats.get("distribution", {}).get("kll", {}).get("buckets", [])
            features.append(_kll_feature(name, buckets, _missing(stats)))
        elif kind == "String":
            stats = item.get("string_statistics", {})
            buckets = stats.get("distribution", {}).get("categorical", {}).get("buckets", [])
            counts = Counter({str(b["value"]): int(b["count"]) for b in buckets})
            features.append(_categorical(name, counts, _missing(stats), max_categories))
        else:
            features.append(Feature(name, IGNORED))
        if features[-1].kind != IGNORED and sum(features[-1].counts) == 0:
            features[-1] = Feature(name, IGNORED)
    records = int(statistics.get("dataset", {}).get("item_count", 0))
    return Baseline(tuple(features), records, "model-monitor")


def _missing(stats: Mapping[str, Any]) -> int:
    return int(stats.get("common", {}).get("num_missing", 0))


def _kll_feature(name: str, buckets: Sequence[Mapping[str, Any]], missing: int) -> Feature:
    """Bins from KLL buckets: the lower bound of each bucket but the first is an edge."""
    ordered = sorted(buckets, key=lambda b: float(b["lower_bound"]))
    edges: list[float] = []
    counts: list[int] = []
    for bucket in ordered:
        count = round(float(bucket["count"]))
        lower = float(bucket["lower_bound"])
        floor = edges[-1] if edges else float(ordered[0]["lower_bound"])
        if counts and lower > floor:
            edges.append(lower)
            counts.append(count)
        elif counts:
            counts[-1] += count  # a bucket of no width (min == max): one bin
        else:
            counts.append(count)
    return Feature(name, NUMERIC, tuple(counts), tuple(edges), (), missing)


def _categorical(name: str, counts: Counter[str], missing: int, max_categories: int) -> Feature:
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_categories]
    kept = tuple(k for k, _ in top)
    other = sum(counts.values()) - sum(c for _, c in top)
    return Feature(name, CATEGORICAL, (*(c for _, c in top), other), (), kept, missing)


def category_key(value: Any) -> str | None:
    """A value as a category: strings stripped, JSON scalars as JSON writes them."""
    if isinstance(value, str):
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _number(value: Any) -> float | None:
    """A finite number, or ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def build(  # noqa: PLR0912 - inference and overrides, per kind
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    types: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
) -> Baseline:
    """A baseline from rows of training data, in the column order given.

    A column is numeric when every present value is a finite number, else
    categorical; ``types`` overrides that per column (``"numeric"``,
    ``"categorical"`` or ``"ignored"``). Columns in ``ignore`` (a label, an
    ID) are dropped: the capture payloads must not hold them. Rows of the
    wrong length are an error: a baseline must be exact.
    """
    types = dict(types or {})
    unknown = sorted(set(types) - set(columns))
    if unknown:
        raise BaselineError(f"types name unknown columns: {unknown}")
    bad = sorted({k for k, v in types.items() if v not in KINDS})
    if bad:
        raise BaselineError(f"types of {bad} must be one of {KINDS}")
    if bins < 1:
        raise BaselineError("bins must be at least 1")
    dropped = set(ignore)
    keep = [i for i, c in enumerate(columns) if c not in dropped]
    values: list[list[Any]] = [[] for _ in keep]
    count = 0
    for number, row in enumerate(rows, start=1):
        if len(row) != len(columns):
            raise BaselineError(f"row {number}: {len(row)} values for {len(columns)} columns")
        for slot, i in enumerate(keep):
            values[slot].append(row[i])
        count += 1
    if count == 0:
        raise BaselineError("the training data holds no row")
    features = []
    for slot, i in enumerate(keep):
        name = columns[i]
        column = values[slot]
        present = [v for v in column if not _is_missing(v)]
        missing = len(column) - len(present)
        kind = types.get(name)
        if kind is None:
            numeric = all(_number(v) is not None for v in present)
            kind = NUMERIC if numeric and present else CATEGORICAL
        if kind == NUMERIC:
            numbers = sorted(n for n in map(_number, present) if n is not None)
            if not numbers:
                raise BaselineError(f"column {name!r}: no numeric value to bin")
            edges = quantile_edges(numbers, bins)
            counts = bin_counts(numbers, edges)
            features.append(Feature(name, NUMERIC, tuple(counts), tuple(edges), (), missing))
        elif kind == CATEGORICAL:
            keys = Counter(k for k in map(category_key, present) if k is not None)
            if not keys:
                raise BaselineError(f"column {name!r}: no value to count")
            features.append(_categorical(name, keys, missing, max_categories))
        else:
            features.append(Feature(name, IGNORED))
    return Baseline(tuple(features), count)


def read_table(text: str) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of training data: CSV with a header row, or JSON lines of objects."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        columns: dict[str, None] = {}
        objects = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as error:
                raise BaselineError(f"line {number}: not JSON: {error}") from error
            if not isinstance(obj, dict):
                raise BaselineError(f"line {number}: JSON lines of objects are expected")
            columns.update(dict.fromkeys(obj))
            objects.append(obj)
        names = list(columns)
        return names, [[obj.get(n) for n in names] for obj in objects]
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise BaselineError("empty training data") from None
    header = [h.strip() for h in header]
    return header, [row for row in reader if row]
