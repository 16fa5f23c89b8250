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
import itertools
import json
import math
import random
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from .stats import DEFAULT_BINS, DEFAULT_MAX_DISCRETE, bin_counts, numeric_edges

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
    note: str = ""

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
        if self.note:
            out["note"] = self.note
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
        return Feature(
            name,
            kind,
            counts,
            edges,
            categories,
            int(data.get("missing", 0)),
            str(data.get("note", "")),
        )


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
    statistics: Mapping[str, Any],
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    *,
    bins: int = DEFAULT_BINS,
    types: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> Baseline:
    """A baseline from Model Monitor's ``statistics.json``, binned like ours.

    Numeric (``Integral``, ``Fractional``) features are binned from their KLL
    ``sketch`` as :func:`build` bins training data (a bin per value for few
    distinct values, deciles and tail bins otherwise), the counts per bin
    estimated from the sketch's weighted items; a sketch that does not
    account for the feature's values falls back to its ``buckets`` (10
    equal-width bins, far less sensitive; the feature's ``note`` says so).
    ``String`` features take their categorical buckets. Features with any
    other type, or no distribution, keep their position but are not checked.

    ``ignore`` drops features (a label the payloads do not carry); ``types``
    may mark a feature ``"ignored"``, or give the type it already has; a
    statistics file holds no categories of a numeric feature nor numbers of
    a string one, so any other override is refused.
    """
    types = dict(types or {})
    dropped = set(ignore)
    names = [str(item.get("name")) for item in statistics.get("features", [])]
    unknown = sorted((set(types) | dropped) - set(names))
    if unknown:
        raise BaselineError(f"the statistics have no feature {unknown} (features: {names})")
    features = []
    for item in statistics.get("features", []):
        name = str(item.get("name"))
        if name in dropped:
            continue
        kind = item.get("inferred_type")
        own = {"Integral": NUMERIC, "Fractional": NUMERIC, "String": CATEGORICAL}.get(kind)
        wanted = types.get(name)
        if wanted not in (None, IGNORED, own):
            raise BaselineError(
                f"feature {name!r} is {kind} in the statistics: it cannot be made {wanted} "
                "(the statistics hold no "
                + ("categories of a number" if own == NUMERIC else "numbers of it")
                + "); build the baseline from the training data instead"
            )
        if wanted == IGNORED or own is None:
            features.append(Feature(name, IGNORED))
            continue
        if own == NUMERIC:
            stats = item.get("numerical_statistics", {})
            kll = stats.get("distribution", {}).get("kll", {})
            features.append(_kll_feature(name, kll, stats, bins))
        else:
            stats = item.get("string_statistics", {})
            buckets = stats.get("distribution", {}).get("categorical", {}).get("buckets", [])
            counts: Counter[str] = Counter()
            for b in buckets:
                key = category_key(b["value"])
                if key is not None:
                    counts[key] += int(b["count"])
            features.append(_categorical(name, counts, _missing(stats), max_categories))
        if sum(features[-1].counts) == 0:
            features[-1] = Feature(name, IGNORED)
    records = int(statistics.get("dataset", {}).get("item_count", 0))
    return Baseline(tuple(features), records, "model-monitor")


def _missing(stats: Mapping[str, Any]) -> int:
    return int(stats.get("common", {}).get("num_missing", 0))


#: Values a KLL sketch is expanded into to place edges (each item repeated by its weight).
_KLL_EXPANSION = 100_000


def _kll_feature(name: str, kll: Mapping[str, Any], stats: Mapping[str, Any], bins: int) -> Feature:
    """Bins from a KLL sketch (compactor ``i`` holds items of weight ``2**i``), else its buckets."""
    missing = _missing(stats)
    present = int(stats.get("common", {}).get("num_present", 0))
    items = [
        (float(value), 2**level)
        for level, compactor in enumerate(kll.get("sketch", {}).get("data", []))
        for value in compactor
        if math.isfinite(float(value))
    ]
    weight = sum(w for _, w in items)
    if not items or (present and abs(weight - present) > 0.01 * present):
        return _bucket_feature(name, kll.get("buckets", []), missing)
    items.sort()
    values = sorted({v for v, _ in items})
    distinct = values if len(values) <= DEFAULT_MAX_DISCRETE else None
    scale = _KLL_EXPANSION / weight
    # Each item repeated in proportion to its weight (cumulative rounding, so
    # light items are neither dropped nor over-weighted).
    expanded: list[float] = []
    cumulative = 0.0
    for value, w in items:
        cumulative += w * scale
        expanded.extend([value] * (round(cumulative) - len(expanded)))
    edges = numeric_edges(expanded, bins, distinct=distinct)
    weights = [0.0] * (len(edges) + 1)
    for value, w in items:
        weights[bisect_right(edges, value)] += w
    total = present or weight
    counts = [round(w * total / weight) for w in weights]
    counts[counts.index(max(counts))] += total - sum(counts)  # rounding: keep the total
    return Feature(name, NUMERIC, tuple(counts), tuple(edges), (), missing)


def _bucket_feature(name: str, buckets: Sequence[Mapping[str, Any]], missing: int) -> Feature:
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
    note = "binned by the statistics' 10 equal-width buckets: its KLL sketch is incomplete"
    return Feature(name, NUMERIC, tuple(counts), tuple(edges), (), missing, note if counts else "")


def _categorical(name: str, counts: Counter[str], missing: int, max_categories: int) -> Feature:
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_categories]
    kept = tuple(k for k, _ in top)
    other = sum(counts.values()) - sum(c for _, c in top)
    return Feature(name, CATEGORICAL, (*(c for _, c in top), other), (), kept, missing)


def number_key(number: float) -> str:
    """A finite number as a category: ``1``, ``1.0`` and ``"1.00"`` are all ``"1"``."""
    if number.is_integer() and abs(number) < 2**53:
        return str(int(number))
    return repr(number)


def category_key(value: Any) -> str | None:  # noqa: PLR0911 - one return per kind of value
    """A value as a category, the same in every encoding; ``None`` when missing.

    Strings are stripped; a string or JSON value that is a finite number is
    that number (``"1"``, ``"1.0"``, ``1`` and ``1.0`` are one category, ``"1"``);
    ``true``/``false`` in any case, or JSON booleans, are ``"true"``/``"false"``;
    other JSON values are their compact JSON.
    """
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered
        try:
            number = float(text)
        except ValueError:
            return text
        return number_key(number) if math.isfinite(number) else text
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_key(value) if math.isfinite(value) else str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


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


#: Rows of training data kept (a uniform sample) to place numeric bin edges.
#: Up to this many rows the edges are exact quantiles; past it, the rank of
#: each edge is within +-0.005 of its quantile with probability at least
#: 1 - 2 exp(-2 * 200000 * 0.005^2) = 0.9999 (Dvoretzky-Kiefer-Wolfowitz).
#: The training counts per bin are always exact (a second pass).
SAMPLE_ROWS = 200_000
#: Distinct categories tracked per column; past it the rarer half is dropped
#: (the column has too many categories to keep them all anyway).
MAX_TRACKED = 20_000
#: An inferred categorical column with more than ``max_categories`` distinct
#: values, at least this share of its values distinct, is an ID: left out.
ID_SHARE = 0.5
#: Rows handled at a time while building.
CHUNK_ROWS = 4096

Rows = Iterable[Sequence[Any]]


class _Column:
    """What the first pass learns about one column."""

    __slots__ = (
        "blank",
        "distinct",
        "kind",
        "name",
        "non_finite",
        "non_numeric",
        "present",
        "sample",
    )

    def __init__(self, name: str, kind: str | None) -> None:
        self.name = name
        self.kind = kind
        self.present = 0
        self.blank = 0
        self.non_finite = 0
        self.non_numeric = 0
        self.distinct: set[float] | None = set()
        self.sample: array[float] = array("d")

    @property
    def numeric(self) -> bool:
        return self.kind == NUMERIC or (
            self.kind is None and self.non_numeric == 0 and self.present > self.non_finite
        )

    def observe(self, values: Sequence[Any]) -> list[float]:
        """Count one chunk of the column; its values as floats (NaN when not a number)."""
        if self.kind in (CATEGORICAL, IGNORED) or (self.kind is None and self.non_numeric):
            blank = sum(1 for v in values if _is_missing(v))
            self.blank += blank
            self.present += len(values) - blank
            return []
        try:
            if any(type(v) is bool for v in values):
                raise TypeError
            numbers = list(map(float, values))
        except (TypeError, ValueError):
            numbers = []
            for value in values:
                if _is_missing(value):
                    self.blank += 1
                    numbers.append(math.nan)
                    continue
                self.present += 1
                number = _number(value)
                if number is None:
                    self.non_numeric += _is_text(value)
                    self.non_finite += not _is_text(value)
                    numbers.append(math.nan)
                else:
                    numbers.append(number)
            finite = [x for x in numbers if x == x]  # noqa: PLR0124 - NaN test
        else:
            self.present += len(numbers)
            finite = [x for x in numbers if x - x == 0.0]
            self.non_finite += len(numbers) - len(finite)
            if len(finite) < len(numbers):
                numbers = [x if x - x == 0.0 else math.nan for x in numbers]
        if self.distinct is not None:
            self.distinct.update(finite)
            if len(self.distinct) > DEFAULT_MAX_DISCRETE:
                self.distinct = None
        return numbers


def _is_text(value: Any) -> bool:
    """A value that is not a number at all (not NaN or an infinity)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return True
    return isinstance(value, bool)


def _chunks(rows: Rows, width: int) -> Iterator[list[Sequence[Any]]]:
    iterator = iter(rows)
    number = 0
    while True:
        chunk = list(itertools.islice(iterator, CHUNK_ROWS))
        if not chunk:
            return
        for offset, row in enumerate(chunk, start=number + 1):
            if len(row) != width:
                raise BaselineError(f"row {offset}: {len(row)} values for {width} columns")
        number += len(chunk)
        yield chunk


def build(  # noqa: PLR0912, PLR0915 - two passes, per kind
    columns: Sequence[str],
    rows: Rows | Callable[[], Rows],
    *,
    types: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
    bins: int = DEFAULT_BINS,
    max_categories: int = DEFAULT_MAX_CATEGORIES,
    sample_rows: int = SAMPLE_ROWS,
    seed: int = 0,
) -> Baseline:
    """A baseline from rows of training data, in the column order given.

    ``rows`` is read twice: give a sequence, or a function returning a fresh
    iterator of rows each time (a file read twice), so memory stays
    O(columns x ``sample_rows``) however many rows there are.

    A column is numeric when every present value is a number, else
    categorical; ``types`` overrides that per column (``"numeric"``,
    ``"categorical"`` or ``"ignored"``). An inferred categorical column whose
    values are mostly distinct (an ID) is ignored, with a ``note`` saying so.
    Columns in ``ignore`` (a label, an ID) are dropped: the capture payloads
    must not hold them. Rows of the wrong length are an error: a baseline
    must be exact.
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
    absent = sorted(dropped - set(columns))
    if absent:
        raise BaselineError(
            f"columns to drop are not in the data: {absent} (columns: {list(columns)})"
        )
    if callable(rows):
        read: Callable[[], Rows] = rows
    else:
        kept_rows = rows if isinstance(rows, Sequence) else list(rows)
        read = lambda: kept_rows  # noqa: E731
    keep = [i for i, c in enumerate(columns) if c not in dropped]
    state = [_Column(columns[i], types.get(columns[i])) for i in keep]
    width = len(columns)
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    count = 0
    for chunk in _chunks(read(), width):
        # Reservoir sampling (Algorithm R) of rows: slot per chunk position.
        slots: list[tuple[int, int]] = []
        for position in range(len(chunk)):
            index = count + position
            if index < sample_rows:
                slots.append((position, index))
            else:
                slot = int(rng.random() * (index + 1))
                if slot < sample_rows:
                    slots.append((position, slot))
        transposed = list(zip(*chunk, strict=True))
        for column, i in zip(state, keep, strict=True):
            numbers = column.observe(transposed[i])
            if not numbers:
                continue
            sample = column.sample
            for position, slot in slots:
                if slot == len(sample):
                    sample.append(numbers[position])
                elif slot < len(sample):
                    sample[slot] = numbers[position]
        count += len(chunk)
    if count == 0:
        raise BaselineError("the training data holds no row")

    plans: list[Any] = []
    for column in state:
        if column.kind == IGNORED:
            plans.append(None)
        elif column.numeric:
            finite = sorted(x for x in column.sample if x == x)  # noqa: PLR0124 - NaN test
            if not finite:
                raise BaselineError(f"column {column.name!r}: no numeric value to bin")
            distinct = sorted(column.distinct) if column.distinct is not None else None
            edges = numeric_edges(finite, bins, distinct=distinct)
            plans.append(_NumericTally(edges))
        elif column.present == 0:
            raise BaselineError(f"column {column.name!r}: no value to count")
        else:
            plans.append(_CategoryTally())
    _tally(read, width, keep, plans)
    features = []
    for column, plan in zip(state, plans, strict=True):
        if plan is None:
            features.append(Feature(column.name, IGNORED))
        elif isinstance(plan, _NumericTally):
            missing = column.blank + column.non_finite + column.non_numeric
            features.append(
                Feature(column.name, NUMERIC, tuple(plan.bins), tuple(plan.edges), (), missing)
            )
        else:
            distinct = plan.distinct
            if (
                column.kind is None
                and distinct > max_categories
                and distinct >= ID_SHARE * column.present
            ):
                note = (
                    f"not checked: {distinct:,} distinct values among {column.present:,} "
                    "(an ID?); give it as categorical to check it anyway"
                )
                features.append(Feature(column.name, IGNORED, note=note))
                continue
            features.append(_categorical(column.name, plan.keys, column.blank, max_categories))
    exact = [
        (slot, f)
        for slot, (f, plan) in enumerate(zip(features, plans, strict=True))
        if f.kind == CATEGORICAL and isinstance(plan, _CategoryTally) and plan.pruned
    ]
    if exact:
        # Categories were dropped while counting: count the kept ones again, exactly.
        recount: list[Any] = [None] * len(plans)
        for slot, f in exact:
            recount[slot] = _CategoryTally(frozenset(f.categories))
        _tally(read, width, keep, recount)
        for slot, f in exact:
            keys = recount[slot].keys
            kept = tuple(keys[c] for c in f.categories)
            present = state[slot].present
            features[slot] = dataclasses.replace(f, counts=(*kept, present - sum(kept)))
    return Baseline(tuple(features), count)


class _NumericTally:
    """Training counts per bin of one numeric column (the second pass)."""

    __slots__ = ("bins", "edges")

    def __init__(self, edges: Sequence[float]) -> None:
        self.edges = list(edges)
        self.bins = [0] * (len(self.edges) + 1)

    def add(self, values: Sequence[Any]) -> None:
        try:
            if any(type(v) is bool for v in values):
                raise TypeError
            numbers = list(map(float, values))
        except (TypeError, ValueError):
            numbers = [n for n in map(_number, values) if n is not None]
        numbers = sorted(x for x in numbers if x - x == 0.0)
        for i, count in enumerate(bin_counts(numbers, self.edges)):
            self.bins[i] += count


class _CategoryTally:
    """Counts per category of one column; only ``only``'s when given."""

    __slots__ = ("inserted", "keys", "only", "pruned")

    def __init__(self, only: frozenset[str] | None = None) -> None:
        self.keys: Counter[str] = Counter()
        self.only = only
        self.inserted = 0
        self.pruned = False

    @property
    def distinct(self) -> int:
        """Distinct categories seen (an upper bound once the rarer were dropped)."""
        return max(len(self.keys), self.inserted)

    def add(self, values: Sequence[Any]) -> None:
        try:
            raw: Counter[Any] = Counter(values)
        except TypeError:  # JSON arrays or objects among the values
            raw = Counter(map(category_key, values))
        keys = self.keys
        for value, count in raw.items():
            key = category_key(value)
            if key is None or (self.only is not None and key not in self.only):
                continue
            if key not in keys:
                self.inserted += 1
            keys[key] += count
        if len(keys) > MAX_TRACKED:
            self.pruned = True
            self.keys = Counter(dict(keys.most_common(MAX_TRACKED // 2)))


def _tally(
    read: Callable[[], Rows], width: int, keep: Sequence[int], tallies: Sequence[Any]
) -> None:
    """One pass over the rows, each tally counting its column."""
    todo = [(i, t) for i, t in zip(keep, tallies, strict=True) if t is not None]
    for chunk in _chunks(read(), width):
        transposed = list(zip(*chunk, strict=True))
        for i, tally in todo:
            tally.add(transposed[i])


def _json_objects(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as error:
            raise BaselineError(f"line {number}: not JSON: {error}") from error
        if not isinstance(obj, dict):
            raise BaselineError(f"line {number}: JSON lines of objects are expected")
        yield obj


def table_source(open_text: Callable[[], TextIO]) -> tuple[list[str], Callable[[], Rows]]:
    """Columns of training data, and a function reading its rows afresh each call.

    CSV with a header row, or JSON lines of objects (columns in the order
    they first appear, which takes one more pass). ``open_text`` opens the
    data as text each time it is called (CSV: with ``newline=""``).
    """
    with open_text() as text:
        first = ""
        for line in text:
            if line.strip():
                first = line
                break
    if first.lstrip().startswith("{"):
        names: dict[str, None] = {}
        with open_text() as text:
            for obj in _json_objects(text):
                names.update(dict.fromkeys(obj))
        columns = list(names)

        def json_rows() -> Iterator[list[Any]]:
            with open_text() as text:
                for obj in _json_objects(text):
                    yield [obj.get(n) for n in columns]

        return columns, json_rows
    with open_text() as text:
        try:
            header = next(csv.reader(text))
        except StopIteration:
            raise BaselineError("empty training data") from None
    header = [h.strip() for h in header]

    def csv_rows() -> Iterator[list[str]]:
        with open_text() as text:
            reader = csv.reader(text)
            next(reader, None)
            yield from (row for row in reader if row)

    return header, csv_rows


def read_table(text: str) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of training data held in memory (see :func:`table_source`)."""
    columns, rows = table_source(lambda: io.StringIO(text, newline=""))
    return columns, [list(row) for row in rows()]
