"""A model-quality baseline from a labelled validation set, and the constraints it gives.

The validation set is a CSV of the model's predictions on labelled data: a
label column and a prediction column (the score of a binary model, the
class of a multiclass one, the value of a regression), chosen by name (the
first row is a header) or by 0-based position. Its metrics are the
baseline; each metric's constraint is

* absolute: a bound the metric must not cross (``accuracy=0.8``: accuracy
  below 0.8 is degraded; ``rmse=30``: RMSE above 30 is degraded);
* relative: a share of the baseline value the metric may lose
  (``accuracy=0.05``: more than 5% below the baseline's accuracy is
  degraded; ``rmse=0.1``: more than 10% above the baseline's RMSE);

and with both, the stricter bound. The constraints are written as a Model
Monitor model-quality constraints document (``binary_classification_constraints``...,
metric -> ``{threshold, comparison_operator}``), with Model Monitor's names
for ROC AUC and PR AUC (``auc``, ``au_prc``); ``macro_f1`` and ``mape`` are
this library's own (Model Monitor has no such constraint).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .counts import DEFAULT_BINS, DEFAULT_THRESHOLD, new_counts
from .records import READERS, UnreadableValueError
from .report import ALIASES, HIGHER_IS_BETTER, METRICS, SECTIONS

#: Without any threshold given, every metric may lose this share of its baseline value.
DEFAULT_RELATIVE = 0.05
#: Our metric names as Model Monitor's constraints name them.
MODEL_MONITOR_NAMES = {ours: theirs for theirs, ours in ALIASES.items()}
#: Why a row of the validation set is not used.
WRONG_COLUMN_COUNT = "wrong_column_count"
UNPARSEABLE_LABEL = "unparseable_label"
UNPARSEABLE_PREDICTION = "unparseable_prediction"
#: Rows counted at a time.
BATCH = 10_000


class BaselineError(ValueError):
    """A validation set or a threshold that cannot give a baseline."""


@dataclasses.dataclass
class Baseline:
    """The metrics of a validation set, with how many rows were used and why others were not."""

    problem: str
    metrics: dict[str, Any]
    records: int
    rejected: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "records": self.records,
            "rejected": self.rejected,
            "metrics": self.metrics,
        }


def _column(spec: str | int, header: list[str] | None, role: str) -> int:
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return int(spec)
    if header is None:
        msg = f"{role} column {spec!r}: a name needs a header row (or give a 0-based position)"
        raise BaselineError(msg)
    names = [h.strip() for h in header]
    if spec not in names:
        msg = f"{role} column {spec!r} is not in the header ({', '.join(names)})"
        raise BaselineError(msg)
    return names.index(spec)


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    """The lines, the first without a UTF-8 byte order mark (spreadsheets write one)."""
    remaining = iter(lines)
    first = next(remaining, None)
    if first is not None:
        yield first.removeprefix("\ufeff")
        yield from remaining


def baseline_from_csv(
    lines: Iterable[str],
    problem: str,
    *,
    label: str | int = "label",
    prediction: str | int | None = None,
    header: bool = True,
    threshold: float = DEFAULT_THRESHOLD,
    bins: int = DEFAULT_BINS,
) -> Baseline:
    """The metrics of a labelled validation CSV (streamed: memory is the counts, not the rows).

    ``label`` and ``prediction`` are column names (with ``header``) or
    0-based positions; ``prediction`` defaults to the column named
    ``prediction``, else ``score``. Rows with the wrong number of fields or
    a value that cannot be read are counted by reason, not used.
    """
    rows = csv.reader(_without_bom(lines))
    names = None
    if header:
        names = next(rows, None)
        if names is None:
            msg = "the validation set is empty (not even a header row)"
            raise BaselineError(msg)
    if prediction is None:
        stripped = [n.strip() for n in names or []]
        prediction = next((n for n in ("prediction", "score") if n in stripped), None)
        if prediction is None:
            msg = "no prediction column: name one (there is no 'prediction' or 'score' column)"
            raise BaselineError(msg)
    label_at = _column(label, names, "label")
    prediction_at = _column(prediction, names, "prediction")
    if label_at == prediction_at:
        msg = f"the label and the prediction are the same column ({label_at})"
        raise BaselineError(msg)
    width = len(names) if names is not None else None
    needed = max(label_at, prediction_at) + 1
    if width is not None and needed > width:
        msg = f"column {needed - 1} is past the header's {width} columns"
        raise BaselineError(msg)
    read_prediction, read_label = READERS[problem]
    counts = new_counts(problem, threshold=threshold, bins=bins)
    rejected: Counter[str] = Counter()
    predictions: list[Any] = []
    labels: list[Any] = []
    for row in rows:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue  # a blank line
        if (width is not None and len(row) != width) or len(row) < needed:
            rejected[WRONG_COLUMN_COUNT] += 1
            continue
        try:
            y = read_label(row[label_at].strip())
        except UnreadableValueError:
            rejected[UNPARSEABLE_LABEL] += 1
            continue
        try:
            p = read_prediction(row[prediction_at].strip())
        except UnreadableValueError:
            rejected[UNPARSEABLE_PREDICTION] += 1
            continue
        predictions.append(p)
        labels.append(y)
        if len(labels) == BATCH:
            counts.add(predictions, labels)
            predictions, labels = [], []
    counts.add(predictions, labels)
    return Baseline(problem, counts.metrics(), counts.records, dict(rejected))


def parse_thresholds(values: Iterable[str], problem: str, kind: str) -> dict[str, float]:
    """``metric=value`` options (comma-separated or repeated) as a mapping, names checked."""
    found: dict[str, float] = {}
    for value in values:
        for item in value.split(","):
            if not item.strip():
                continue
            metric, sep, number = item.partition("=")
            metric = ALIASES.get(metric.strip(), metric.strip())
            if not sep:
                msg = f"{kind} threshold {item!r}: write metric=value, e.g. accuracy=0.05"
                raise BaselineError(msg)
            if metric not in METRICS[problem]:
                msg = (
                    f"{kind} threshold {item!r}: {metric!r} is not a {problem} metric "
                    f"({', '.join(METRICS[problem])})"
                )
                raise BaselineError(msg)
            try:
                bound = float(number)
            except ValueError:
                bound = math.nan
            if not math.isfinite(bound) or (kind == "relative" and not 0 <= bound <= 10):
                rule = "a share between 0 and 10" if kind == "relative" else "a finite number"
                msg = f"{kind} threshold {item!r}: the value must be {rule}"
                raise BaselineError(msg)
            found[metric] = bound
    return found


def constraints_from_thresholds(
    problem: str,
    baseline_metrics: Mapping[str, Any] | None,
    *,
    absolute: Mapping[str, float] | None = None,
    relative: Mapping[str, float] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """A Model Monitor constraints document, and the metrics left unconstrained (and why).

    Without ``absolute`` and ``relative``, every metric of ``problem`` gets
    a relative threshold of :data:`DEFAULT_RELATIVE`. A relative threshold
    needs the metric's baseline value: one undefined on the baseline (R² of
    a constant label) is listed as not constrained, never dropped silently.
    """
    absolute = dict(absolute or {})
    relative = dict(relative or {})
    if not absolute and not relative:
        relative = dict.fromkeys(METRICS[problem], DEFAULT_RELATIVE)
    if relative and baseline_metrics is None:
        msg = (
            f"relative thresholds ({', '.join(relative)}) need baseline metrics: give a "
            "labelled validation CSV as the baseline, or use absolute thresholds"
        )
        raise BaselineError(msg)
    section: dict[str, Any] = {}
    skipped: list[str] = []
    for metric in METRICS[problem]:
        higher = metric in HIGHER_IS_BETTER
        bounds = []
        if metric in absolute:
            bounds.append(absolute[metric])
        if metric in relative:
            value = (baseline_metrics or {}).get(metric)
            if value is None:
                skipped.append(f"{metric} (undefined on the baseline)")
            else:
                margin = relative[metric] * abs(value)
                bounds.append(value - margin if higher else value + margin)
        if not bounds:
            continue
        section[MODEL_MONITOR_NAMES.get(metric, metric)] = {
            "threshold": max(bounds) if higher else min(bounds),
            "comparison_operator": "LessThanThreshold" if higher else "GreaterThanThreshold",
        }
    return {"version": 0.0, SECTIONS[problem]: section}, skipped
