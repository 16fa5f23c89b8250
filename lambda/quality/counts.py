"""Mergeable counts of joined predictions and labels, and the metrics they give.

Counts from any split of a window's records, merged, give the metrics of the
whole window: confusion counts and integer histograms merge exactly, and the
regression sums merge by Chan's pairwise update (equal to one pass up to
rounding).

Metrics a count cannot define (precision with nothing predicted positive,
R² of a constant label) are ``None``, never a made-up number. (scikit-learn's
``r2_score`` of three labels 0.1 is about -5e29: its mean of them is not 0.1
in floating point; ours is undefined, in one pass as in merged parts.)

Binary ROC AUC and PR AUC come from score histograms (``bins`` equal bins on
[0, 1]): scores in one bin count as tied. Each comes with a bound computed
from the same counts, ``roc_auc_bound`` and ``pr_auc_bound``: the metric of
the unbinned scores (scikit-learn's ``roc_auc_score`` and
``average_precision_score``) lies within that distance of the binned value.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

BINARY = "binary"
MULTICLASS = "multiclass"
REGRESSION = "regression"
PROBLEMS = (BINARY, MULTICLASS, REGRESSION)

DEFAULT_THRESHOLD = 0.5
DEFAULT_BINS = 1000
#: scikit-learn's guard against dividing by a zero label in MAPE (float64's epsilon).
EPSILON = 2.220446049250313e-16


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _f1(tp: float, fp: float, fn: float) -> float | None:
    return _ratio(2 * tp, 2 * tp + fp + fn)


class BinaryCounts:
    """Confusion counts at ``threshold`` (score >= threshold is positive) and score histograms."""

    problem = BINARY

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, bins: int = DEFAULT_BINS) -> None:
        if not 0.0 <= threshold <= 1.0:
            msg = f"threshold {threshold}: a score between 0 and 1"
            raise ValueError(msg)
        if bins < 1:
            msg = f"bins {bins}: at least 1"
            raise ValueError(msg)
        self.threshold = threshold
        self.bins = bins
        self.tp = self.fp = self.tn = self.fn = 0
        self.positive = [0] * bins
        self.negative = [0] * bins

    @property
    def records(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    def add(self, scores: Sequence[float], labels: Sequence[int]) -> None:
        """Count joined scores (0-1) and labels (0 or 1)."""
        bins, threshold = self.bins, self.threshold
        top = bins - 1
        positive, negative = self.positive, self.negative
        tp = fp = tn = fn = 0
        for s, label in zip(scores, labels, strict=True):
            b = int(s * bins)
            b = min(b, top)
            if label:
                positive[b] += 1
                if s >= threshold:
                    tp += 1
                else:
                    fn += 1
            else:
                negative[b] += 1
                if s >= threshold:
                    fp += 1
                else:
                    tn += 1
        self.tp += tp
        self.fp += fp
        self.tn += tn
        self.fn += fn

    def merge(self, other: BinaryCounts) -> BinaryCounts:
        """Add ``other``'s counts (same threshold and bins) to these; returns self."""
        if (other.threshold, other.bins) != (self.threshold, self.bins):
            msg = (
                f"cannot merge counts at threshold {other.threshold} with {other.bins} bins "
                f"into counts at threshold {self.threshold} with {self.bins} bins"
            )
            raise ValueError(msg)
        self.tp += other.tp
        self.fp += other.fp
        self.tn += other.tn
        self.fn += other.fn
        self.positive = [a + b for a, b in zip(self.positive, other.positive, strict=True)]
        self.negative = [a + b for a, b in zip(self.negative, other.negative, strict=True)]
        return self

    def metrics(self) -> dict[str, Any]:
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        roc_auc, roc_bound = self._roc_auc()
        pr_auc, pr_bound = self._pr_auc()
        return {
            "records": self.records,
            "threshold": self.threshold,
            "confusion": {"tp": tp, "fp": fp, "tn": tn, "fn": fn},
            "accuracy": _ratio(tp + tn, self.records),
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _f1(tp, fp, fn),
            "roc_auc": roc_auc,
            "roc_auc_bound": roc_bound,
            "pr_auc": pr_auc,
            "pr_auc_bound": pr_bound,
        }

    def _roc_auc(self) -> tuple[float | None, float | None]:
        """Mann-Whitney over bins (a tie counts one half); bound: half the in-bin pairs."""
        positives, negatives = sum(self.positive), sum(self.negative)
        if not positives or not negatives:
            return None, None
        above = 0
        wins = 0.0
        tied = 0
        for pos, neg in zip(reversed(self.positive), reversed(self.negative), strict=True):
            wins += neg * (above + 0.5 * pos)
            tied += pos * neg
            above += pos
        pairs = positives * negatives
        return wins / pairs, 0.5 * tied / pairs

    def _pr_auc(self) -> tuple[float | None, float | None]:
        """Average precision over bins, high to low (scikit-learn's step sum).

        Bound: in a bin, the i-th positive's precision (unbinned) is at least
        (tp + i) / (n + i + negatives in the bin) and at most
        (tp + p) / (n + p) (tp, n: positives and records above the bin; p:
        positives in it), so the bin's share lies between those sums, and so
        does its binned share; the bound adds each bin's larger distance.
        """
        positives = sum(self.positive)
        if not positives:
            return None, None
        tp = n = 0
        ap = bound = 0.0
        for pos, neg in zip(reversed(self.positive), reversed(self.negative), strict=True):
            if pos:
                binned = pos * (tp + pos) / (n + pos + neg)
                high = pos * (tp + pos) / (n + pos)
                low = math.fsum((tp + i) / (n + i + neg) for i in range(1, pos + 1))
                ap += binned
                bound += max(high - binned, binned - low)
            tp += pos
            n += pos + neg
        return ap / positives, bound / positives

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "threshold": self.threshold,
            "bins": self.bins,
            "confusion": [self.tp, self.fp, self.tn, self.fn],
            "positive": _sparse(self.positive),
            "negative": _sparse(self.negative),
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> BinaryCounts:
        counts = cls(value["threshold"], value["bins"])
        counts.tp, counts.fp, counts.tn, counts.fn = value["confusion"]
        counts.positive = _dense(value["positive"], counts.bins)
        counts.negative = _dense(value["negative"], counts.bins)
        return counts


def _sparse(histogram: list[int]) -> list[list[int]]:
    return [[i, n] for i, n in enumerate(histogram) if n]


def _dense(pairs: list[list[int]], bins: int) -> list[int]:
    histogram = [0] * bins
    for i, n in pairs:
        histogram[i] = n
    return histogram


class MulticlassCounts:
    """A confusion matrix: how many records of each (label, prediction) pair."""

    problem = MULTICLASS

    def __init__(self) -> None:
        self.matrix: Counter[tuple[str, str]] = Counter()

    @property
    def records(self) -> int:
        return sum(self.matrix.values())

    def add(self, predictions: Sequence[str], labels: Sequence[str]) -> None:
        self.matrix.update(zip(labels, predictions, strict=True))

    def merge(self, other: MulticlassCounts) -> MulticlassCounts:
        self.matrix.update(other.matrix)
        return self

    def metrics(self) -> dict[str, Any]:
        """Accuracy, per-class precision/recall/F1, macro and weighted F1 (scikit-learn's).

        Classes are every label and prediction seen; a class never predicted
        has precision 0 (scikit-learn's ``zero_division=0``), so its F1 is 0.
        """
        records = self.records
        classes = sorted({c for pair in self.matrix for c in pair})
        support: Counter[str] = Counter()
        predicted: Counter[str] = Counter()
        correct: Counter[str] = Counter()
        for (label, prediction), n in self.matrix.items():
            support[label] += n
            predicted[prediction] += n
            if label == prediction:
                correct[label] += n
        per_class = {}
        f1s = []
        for c in classes:
            f1 = _f1(correct[c], predicted[c] - correct[c], support[c] - correct[c]) or 0.0
            f1s.append(f1)
            per_class[c] = {
                "support": support[c],
                "precision": _ratio(correct[c], predicted[c]) or 0.0,
                "recall": _ratio(correct[c], support[c]) or 0.0,
                "f1": f1,
            }
        return {
            "records": records,
            "accuracy": _ratio(sum(correct.values()), records),
            "macro_f1": _ratio(math.fsum(f1s), len(f1s)),
            "weighted_f1": _ratio(
                math.fsum(f * support[c] for f, c in zip(f1s, classes, strict=True)), records
            ),
            "classes": per_class,
            "confusion": [[label, pred, n] for (label, pred), n in sorted(self.matrix.items())],
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "confusion": [[label, pred, n] for (label, pred), n in sorted(self.matrix.items())],
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> MulticlassCounts:
        counts = cls()
        for label, prediction, n in value["confusion"]:
            counts.matrix[(label, prediction)] += n
        return counts


class RegressionCounts:
    """Sums of errors, and the labels' count, mean and squared deviations (for R²)."""

    problem = REGRESSION

    def __init__(self) -> None:
        self.records = 0
        self.absolute = 0.0
        self.squared = 0.0
        self.percentage = 0.0
        self.mean = 0.0
        self.deviations = 0.0

    def add(self, predictions: Sequence[float], labels: Sequence[float]) -> None:
        if not labels:
            return
        absolute = [abs(y - p) for p, y in zip(predictions, labels, strict=True)]
        part = RegressionCounts()
        part.records = len(labels)
        part.absolute = math.fsum(absolute)
        part.squared = math.fsum(e * e for e in absolute)
        part.percentage = math.fsum(
            e / max(abs(y), EPSILON) for e, y in zip(absolute, labels, strict=True)
        )
        if min(labels) == max(labels):
            # fsum(y) / n need not be y itself (three 0.1s): the deviations would be
            # ~1e-34, not 0, and R² about -5e29 instead of undefined (merged parts give 0).
            part.mean, part.deviations = float(labels[0]), 0.0
        else:
            part.mean = math.fsum(labels) / part.records
            part.deviations = math.fsum((y - part.mean) ** 2 for y in labels)
        self.merge(part)

    def merge(self, other: RegressionCounts) -> RegressionCounts:
        """Chan et al.'s update of the labels' mean and squared deviations."""
        if not other.records:
            return self
        n, m = self.records, other.records
        delta = other.mean - self.mean
        total = n + m
        self.deviations += other.deviations + delta * delta * n * m / total
        self.mean += delta * m / total
        self.records = total
        self.absolute += other.absolute
        self.squared += other.squared
        self.percentage += other.percentage
        return self

    def metrics(self) -> dict[str, Any]:
        n = self.records
        mse = _ratio(self.squared, n)
        r2 = None
        if n and self.deviations > 0:
            r2 = 1.0 - self.squared / self.deviations
        return {
            "records": n,
            "mae": _ratio(self.absolute, n),
            "mse": mse,
            "rmse": math.sqrt(mse) if mse is not None else None,
            "r2": r2,
            "mape": _ratio(self.percentage, n),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "problem": self.problem,
            "records": self.records,
            "absolute": self.absolute,
            "squared": self.squared,
            "percentage": self.percentage,
            "mean": self.mean,
            "deviations": self.deviations,
        }

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> RegressionCounts:
        counts = cls()
        for name in ("records", "absolute", "squared", "percentage", "mean", "deviations"):
            setattr(counts, name, value[name])
        return counts


Counts = BinaryCounts | MulticlassCounts | RegressionCounts


def new_counts(
    problem: str, *, threshold: float = DEFAULT_THRESHOLD, bins: int = DEFAULT_BINS
) -> Counts:
    """Empty counts for ``problem``."""
    if problem == BINARY:
        return BinaryCounts(threshold, bins)
    if problem == MULTICLASS:
        return MulticlassCounts()
    if problem == REGRESSION:
        return RegressionCounts()
    msg = f"problem {problem!r}: one of {BINARY}, {MULTICLASS}, {REGRESSION}"
    raise ValueError(msg)


def counts_from_json(value: dict[str, Any]) -> Counts:
    """Counts written by ``to_json`` (a worker's partial counts)."""
    kinds: dict[str, type[BinaryCounts] | type[MulticlassCounts] | type[RegressionCounts]] = {
        BINARY: BinaryCounts,
        MULTICLASS: MulticlassCounts,
        REGRESSION: RegressionCounts,
    }
    return kinds[value["problem"]].from_json(value)
