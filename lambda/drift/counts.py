"""Mergeable counts of a window of captured traffic, in memory O(features x bins).

:class:`Counts` reads capture lines a batch at a time and keeps, per
feature, the count of values in each baseline bin (or category) and the
count of each kind of bad value; globally, the lines and records read and
rejected by reason. Two :class:`Counts` of the same baseline add up
(:meth:`Counts.merge`), so a window can be split over workers and summed.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from . import capture
from .baseline import CATEGORICAL, NUMERIC, Baseline, Feature, category_key

FORMAT = "cdk-sagemaker-hosting/drift-counts"

#: Reasons a value of a feature is left out of its distribution.
MISSING = "missing"
NON_NUMERIC = "non_numeric"
NON_FINITE = "non_finite"
UNKNOWN_CATEGORY = "unknown_category"


class NumericCounts:
    """Values per baseline bin; bad values by reason."""

    __slots__ = ("bins", "edges", "missing", "non_finite", "non_numeric")

    def __init__(self, feature: Feature) -> None:
        self.edges = feature.edges
        self.bins = [0] * (len(feature.edges) + 1)
        self.missing = 0
        self.non_numeric = 0
        self.non_finite = 0

    def add(self, values: Sequence[Any]) -> None:
        """Count a column of values (strings of a CSV payload, or JSON values)."""
        try:
            numbers = list(map(float, values))
        except (ValueError, TypeError):
            numbers = self._convert(values)
        total = sum(numbers)
        if total - total != 0.0:  # a NaN or an infinity (or a finite overflow) among them
            finite = [x for x in numbers if x - x == 0.0]
            self.non_finite += len(numbers) - len(finite)
            numbers = finite
        numbers.sort()
        bins = self.bins
        previous = 0
        for i, edge in enumerate(self.edges):
            position = bisect_left(numbers, edge)
            bins[i] += position - previous
            previous = position
        bins[-1] += len(numbers) - previous

    def _convert(self, values: Sequence[Any]) -> list[float]:
        numbers = []
        for value in values:
            if value is None or (isinstance(value, str) and not value.strip()):
                self.missing += 1
                continue
            try:
                numbers.append(float(value))
            except (ValueError, TypeError):
                self.non_numeric += 1
        return numbers

    @property
    def counts(self) -> list[int]:
        """Values per bin."""
        return self.bins

    @property
    def invalid(self) -> int:
        """Values missing or not a finite number: the distribution's "missing" bin."""
        return self.missing + self.non_numeric + self.non_finite

    def rejected(self) -> dict[str, int]:
        """Values left out, by reason."""
        return {MISSING: self.missing, NON_NUMERIC: self.non_numeric, NON_FINITE: self.non_finite}

    def to_json(self) -> dict[str, Any]:
        """The counts as a partial-counts file holds them."""
        return {"counts": self.bins, **self.rejected()}

    def merge_json(self, data: dict[str, Any]) -> None:
        """Add counts read from a partial-counts file."""
        _add_into(self.bins, data["counts"])
        self.missing += int(data[MISSING])
        self.non_numeric += int(data[NON_NUMERIC])
        self.non_finite += int(data[NON_FINITE])


class CategoricalCounts:
    """Values per baseline category, plus "other"; bad values by reason."""

    __slots__ = ("bins", "index", "missing", "unknown")

    def __init__(self, feature: Feature) -> None:
        # Categories as category_key writes them, whatever the baseline's file
        # holds: "1", "1.0", 1 and 1.0 are one category, so are "True" and true.
        self.index: dict[str, int] = {}
        for i, c in enumerate(feature.categories):
            self.index.setdefault(category_key(c) or c, i)
        self.bins = [0] * (len(feature.categories) + 1)
        self.missing = 0
        self.unknown = 0

    def add(self, values: Sequence[Any], *, strings: bool = False) -> None:
        """Count a column of values; ``strings``: all are ``str`` (a CSV payload)."""
        seen: Counter[str | None] = (
            Counter(map(str.strip, values)) if strings else Counter(map(category_key, values))
        )
        index, bins, other = self.index, self.bins, len(self.bins) - 1
        for key, count in seen.items():
            i = index.get(key) if key else None
            if i is None and key and strings:
                canonical = category_key(key)
                i = index.get(canonical) if canonical else None
            if i is not None:
                bins[i] += count
            elif not key:
                self.missing += count
            else:
                bins[other] += count
                self.unknown += count

    @property
    def counts(self) -> list[int]:
        """Values per category, "other" last."""
        return self.bins

    @property
    def invalid(self) -> int:
        """Values missing: the distribution's "missing" bin."""
        return self.missing

    def rejected(self) -> dict[str, int]:
        """Values left out (missing), and unknown categories (kept, as "other")."""
        return {MISSING: self.missing, UNKNOWN_CATEGORY: self.unknown}

    def to_json(self) -> dict[str, Any]:
        """The counts as a partial-counts file holds them."""
        return {"counts": self.bins, **self.rejected()}

    def merge_json(self, data: dict[str, Any]) -> None:
        """Add counts read from a partial-counts file."""
        _add_into(self.bins, data["counts"])
        self.missing += int(data[MISSING])
        self.unknown += int(data[UNKNOWN_CATEGORY])


def _add_into(target: list[int], source: Sequence[int]) -> None:
    if len(target) != len(source):
        msg = f"{len(source)} bins cannot merge into {len(target)}"
        raise ValueError(msg)
    for i, value in enumerate(source):
        target[i] += int(value)


class Counts:
    """Counts of one baseline's features over capture lines; mergeable."""

    def __init__(self, baseline: Baseline, *, strict: bool = False) -> None:
        self.baseline = baseline
        self.strict = strict
        self.digest = baseline.digest()
        self.width = len(baseline.features)
        self.features: list[NumericCounts | CategoricalCounts | None] = [
            NumericCounts(f)
            if f.kind == NUMERIC
            else CategoricalCounts(f)
            if f.kind == CATEGORICAL
            else None
            for f in baseline.features
        ]
        self.objects = 0
        self.lines = 0
        self.line_rejections: Counter[str] = Counter()
        self.records = 0
        self.record_rejections: Counter[str] = Counter()
        #: Values per row of the CSV rows refused for their column count.
        self.widths: Counter[int] = Counter()

    @property
    def records_used(self) -> int:
        """Rows read whose values were counted."""
        return self.records - sum(self.record_rejections.values())

    def add_lines(self, lines: Sequence[str]) -> None:
        """Count a batch of capture lines (the lines of a chunk of an object)."""
        payloads = capture.Payloads()
        capture.extract(lines, payloads, strict=self.strict)
        self.lines += payloads.lines
        self.line_rejections.update(payloads.rejected)
        if payloads.csv:
            self._add_csv(payloads.csv)
        if payloads.json:
            rows, rejected = capture.json_rows(payloads.json, self.baseline.names)
            # A payload that is not JSON holds no row we can count: its line is rejected.
            malformed = rejected.pop(capture.MALFORMED_PAYLOAD, 0)
            if malformed:
                self.line_rejections[capture.MALFORMED_PAYLOAD] += malformed
            self.records += len(rows) + sum(rejected.values())
            self.record_rejections.update(rejected)
            self._add_value_rows(rows)

    def add_stream(self, read: Any) -> None:
        """Count every line of one capture object, read with ``read(size) -> bytes``."""
        for lines in capture.line_batches(read):
            self.add_lines(lines)
        self.objects += 1

    def _add_csv(self, payloads: list[str]) -> None:
        width = self.width
        rows, quoted, rejected = capture.csv_rows(payloads, width, self.widths)
        self.records += len(rows) + len(quoted) + sum(rejected.values())
        self.record_rejections.update(rejected)
        if rows:
            fields = ",".join(rows).split(",")
            for j, feature in enumerate(self.features):
                if feature is None:
                    continue
                if isinstance(feature, NumericCounts):
                    feature.add(fields[j::width])
                else:
                    feature.add(fields[j::width], strings=True)
        if quoted:
            self._add_value_rows(quoted)

    def _add_value_rows(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        for feature, column in zip(self.features, zip(*rows, strict=True), strict=True):
            if feature is not None:
                feature.add(column)

    def merge(self, other: Counts) -> None:
        """Add another worker's counts of the same baseline."""
        self.merge_json(other.to_json())

    def to_json(self) -> dict[str, Any]:
        """Partial counts, as a worker writes them."""
        return {
            "format": FORMAT,
            "version": 1,
            "baseline": self.digest,
            "objects": self.objects,
            "lines": {"read": self.lines, "rejected": dict(sorted(self.line_rejections.items()))},
            "records": {
                "read": self.records,
                "rejected": dict(sorted(self.record_rejections.items())),
            },
            "features": [None if f is None else f.to_json() for f in self.features],
            "widths": {str(k): v for k, v in sorted(self.widths.items())},
        }

    def merge_json(self, data: dict[str, Any]) -> None:
        """Add partial counts read from a file."""
        if data.get("format") != FORMAT or data.get("baseline") != self.digest:
            msg = "partial counts of another baseline (or not partial counts) cannot merge"
            raise ValueError(msg)
        features = data["features"]
        if len(features) != len(self.features):
            msg = f"{len(features)} features cannot merge into {len(self.features)}"
            raise ValueError(msg)
        self.objects += int(data["objects"])
        self.lines += int(data["lines"]["read"])
        self.line_rejections.update(data["lines"]["rejected"])
        self.records += int(data["records"]["read"])
        self.widths.update({int(k): int(v) for k, v in data.get("widths", {}).items()})
        self.record_rejections.update(data["records"]["rejected"])
        for mine, theirs in zip(self.features, features, strict=True):
            if mine is not None:
                mine.merge_json(theirs)

    @staticmethod
    def from_json(baseline: Baseline, data: dict[str, Any]) -> Counts:
        """Partial counts read back."""
        counts = Counts(baseline)
        counts.merge_json(data)
        return counts


def total(baseline: Baseline, parts: Iterable[Counts | dict[str, Any]]) -> Counts:
    """The sum of partial counts (objects or their JSON)."""
    result = Counts(baseline)
    for part in parts:
        result.merge_json(part if isinstance(part, dict) else part.to_json())
    return result
