"""Scores and verdicts: the drift report of one window's counts against the baseline.

Numeric features are scored with the Population Stability Index over the
baseline's bins, categorical ones with the Jensen-Shannon distance (base 2)
or, if chosen, the L-infinity distance Model Monitor uses; both distances are
reported. Values that are missing (or, for a numeric feature, not a finite
number) are one more bin of the distribution scored, against the baseline's
missing values, so a feature going missing drifts. A feature drifts when its
score reaches its threshold; the dataset drifts when any feature scored drifts
(or, if ``dataset_share`` is set, when at least that share of them do). Too
few records give "insufficient_data", never "no_drift".
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from typing import Any

from . import stats
from .baseline import CATEGORICAL, IGNORED, NUMERIC, Baseline
from .counts import CategoricalCounts, Counts
from .rules import ConfigError, Problem, is_number, is_whole

REPORT_FORMAT = "cdk-sagemaker-hosting/drift-report"
DRIFT = "drift"
NO_DRIFT = "no_drift"
INSUFFICIENT_DATA = "insufficient_data"
PSI = "psi"
JENSEN_SHANNON = "jensen_shannon"
LINF = "linf"
CATEGORICAL_METRICS = (JENSEN_SHANNON, LINF)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Thresholds:
    """When a feature, and the dataset, drift.

    A plain value: :meth:`check` (which :meth:`from_json`, the function's
    ``score``, the command line and the ``DriftMonitor`` construct call)
    refuses one that breaks a rule, naming each.

    :param psi: PSI of a numeric feature. Default: 0.2 (the usual rule of
        thumb reads < 0.1 as stable, 0.1-0.25 as a moderate shift, > 0.25 as
        a major one; 0.2 alarms inside the moderate band).
    :param jensen_shannon: Jensen-Shannon distance (base 2, 0-1) of a
        categorical feature. Default: 0.1 (evidently's default for its
        Jensen-Shannon test).
    :param linf: L-infinity distance of a categorical feature, when it is the
        metric. Default: 0.1 (Model Monitor's default comparison threshold).
    :param categorical_metric: ``"jensen_shannon"`` or ``"linf"``. Default:
        ``"jensen_shannon"``.
    :param dataset_share: share of scored features that must drift for the
        dataset to drift. Default: ``None``, any one feature drifting makes the
        dataset drift (evidently's rule is a share of 0.5).
    :param new_categories: share of a categorical feature's values that are
        categories the baseline never kept, beyond the baseline's own share
        of such values, at which the feature drifts whatever its distance.
        Default: 0.05.
    :param min_records: fewer records used (or values of a feature) give
        "insufficient_data". A feature of many bins or categories needs
        more (each report gives a feature's ``min_values``). Default: 500.
    :param epsilon: proportion given to an empty PSI bin. Default: ``None``,
        half a value of its own sample (``0.5 / n``), which is always below
        the share of a bin holding one value.
    """

    psi: float = 0.2
    jensen_shannon: float = 0.1
    linf: float = 0.1
    categorical_metric: str = JENSEN_SHANNON
    dataset_share: float | None = None
    new_categories: float = 0.05
    min_records: int = 500
    epsilon: float | None = None

    def problems(self) -> list[Problem]:
        """Every rule these thresholds break (none: they can be used)."""
        problems: list[Problem | None] = [
            None
            if is_number(getattr(self, name)) and getattr(self, name) > 0
            else Problem(name, getattr(self, name), "must be a positive number")
            for name in ("psi", "jensen_shannon", "linf")
        ]
        if self.categorical_metric not in CATEGORICAL_METRICS:
            problems.append(
                Problem(
                    "categorical_metric",
                    self.categorical_metric,
                    f"one of {', '.join(CATEGORICAL_METRICS)}",
                )
            )
        share = self.dataset_share
        if share is not None and (not is_number(share) or not 0 < share <= 1):
            problems.append(Problem("dataset_share", share, "must be above 0 and at most 1"))
        if not is_number(self.new_categories) or not 0 < self.new_categories <= 1:
            problems.append(
                Problem("new_categories", self.new_categories, "must be above 0 and at most 1")
            )
        if not is_whole(self.min_records) or self.min_records < 1:
            problems.append(
                Problem("min_records", self.min_records, "must be a whole number, at least 1")
            )
        if self.epsilon is not None and (not is_number(self.epsilon) or not 0 < self.epsilon < 1):
            problems.append(
                Problem("epsilon", self.epsilon, "must be a proportion above 0 and below 1")
            )
        return [p for p in problems if p is not None]

    def check(self) -> Thresholds:
        """These thresholds, if they keep every rule; else ``ConfigError`` (a ``ValueError``)."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)
        return self

    def to_json(self) -> dict[str, Any]:
        """The thresholds, as the report and the Lambda's configuration carry them."""
        return dataclasses.asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any] | None) -> Thresholds:
        """Thresholds from configuration, checked; absent keys keep their defaults."""
        return Thresholds(**(data or {})).check()


def _shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [c / total if total else 0.0 for c in counts]


def _feature(baseline_feature: Any, observed: Any, thresholds: Thresholds) -> dict[str, Any]:
    counts: list[int] = observed.counts
    used = sum(counts)
    invalid = observed.invalid
    expected = [*baseline_feature.counts, baseline_feature.missing]
    actual = [*counts, invalid]
    values = used + invalid
    entry: dict[str, Any] = {"name": baseline_feature.name, "type": baseline_feature.kind}
    new_share = None
    if baseline_feature.kind == NUMERIC:
        metric, threshold = PSI, thresholds.psi
        score = stats.psi(expected, actual, thresholds.epsilon) if values else None
        extra: dict[str, Any] = {}
    else:
        js = stats.js_distance(expected, actual) if values else None
        linf = stats.linf_distance(expected, actual) if values else None
        metric = thresholds.categorical_metric
        threshold = thresholds.jensen_shannon if metric == JENSEN_SHANNON else thresholds.linf
        score = js if metric == JENSEN_SHANNON else linf
        if values:
            # "other" is the last category: values the baseline did not keep.
            new_share = max(0.0, counts[-1] / values - expected[-2] / sum(expected))
        extra = {
            "jensen_shannon": js,
            "linf": linf,
            "new_categories": new_share,
            "new_categories_threshold": thresholds.new_categories,
        }
    needed = max(thresholds.min_records, stats.min_sample(metric, threshold, expected))
    reasons = []
    if values < needed or score is None:
        verdict = INSUFFICIENT_DATA
    else:
        if score >= threshold:
            reasons.append(f"{metric} {score:.3g} >= {threshold:g}")
        if new_share is not None and new_share >= thresholds.new_categories:
            reasons.append(f"new categories {new_share:.1%} >= {thresholds.new_categories:.1%}")
        verdict = DRIFT if reasons else NO_DRIFT
    baseline_shares = _shares(expected)
    baseline_share = baseline_shares[-1]
    live_shares = [c / values for c in actual] if values else [None] * len(actual)
    entry.update(
        metric=metric,
        score=score,
        threshold=threshold,
        verdict=verdict,
        reasons=reasons,
        values=used,
        min_values=None if needed == math.inf else math.ceil(needed),
        missing={"baseline": baseline_share, "live": invalid / values if values else None},
        rejected=observed.rejected(),
        **extra,
    )
    if isinstance(observed, CategoricalCounts):
        entry["categories"] = dict(
            zip([*baseline_feature.categories, "<other>"], counts, strict=True)
        )
        labels = [*baseline_feature.categories, "<other>"]
    else:
        labels = bin_labels(baseline_feature.edges)
    entry["bins"] = [
        {"bin": label, "baseline": b, "live": a}
        for label, b, a in zip([*labels, "<missing>"], baseline_shares, live_shares, strict=True)
    ]
    return entry


def _number(value: float) -> str:
    return f"{value:.6g}"


def bin_labels(edges: Sequence[float]) -> list[str]:
    """A label per numeric bin: ``< a``, ``[a, b)``, ``= v`` (a bin of one value), ``>= z``."""
    if not edges:
        return ["all values"]
    labels = [f"< {_number(edges[0])}"]
    for low, high in itertools.pairwise(edges):
        if high == math.nextafter(low, math.inf):
            labels.append(f"= {_number(low)}")
        else:
            labels.append(f"[{_number(low)}, {_number(high)})")
    labels.append(f">= {_number(edges[-1])}")
    return labels


def dataset_verdict(
    features: list[dict[str, Any]], records_used: int, thresholds: Thresholds
) -> tuple[str, float | None, list[str]]:
    """The window's verdict, the share of scored features drifting, and their names."""
    scored = [f for f in features if f["verdict"] != INSUFFICIENT_DATA]
    drifted = [f["name"] for f in scored if f["verdict"] == DRIFT]
    share = len(drifted) / len(scored) if scored else None
    if records_used < thresholds.min_records or share is None:
        return INSUFFICIENT_DATA, share, drifted
    if thresholds.dataset_share is None:
        return (DRIFT if drifted else NO_DRIFT), share, drifted
    return (DRIFT if share >= thresholds.dataset_share else NO_DRIFT), share, drifted


def score(
    baseline: Baseline,
    counts: Counts,
    thresholds: Thresholds | None = None,
    **context: Any,
) -> dict[str, Any]:
    """The report of ``counts``; ``context`` (endpoint, variant, window...) is copied in."""
    thresholds = (thresholds or Thresholds()).check()
    features = [
        _feature(f, observed, thresholds)
        for f, observed in zip(baseline.features, counts.features, strict=True)
        if observed is not None and f.kind in (NUMERIC, CATEGORICAL)
    ]
    verdict, share, drifted = dataset_verdict(features, counts.records_used, thresholds)
    scored = [f for f in features if f["verdict"] != INSUFFICIENT_DATA]
    return {
        "format": REPORT_FORMAT,
        "version": 1,
        **context,
        "baseline": {"digest": counts.digest, "source": baseline.source},
        "verdict": verdict,
        "drift_share": share,
        "drifted_features": drifted,
        "features_scored": len(scored),
        "objects": counts.objects,
        "lines": {
            "read": counts.lines,
            "rejected": sum(counts.line_rejections.values()),
            "rejections": dict(sorted(counts.line_rejections.items())),
        },
        "records": {
            "read": counts.records,
            "used": counts.records_used,
            "rejected": sum(counts.record_rejections.values()),
            "rejections": dict(sorted(counts.record_rejections.items())),
        },
        "thresholds": thresholds.to_json(),
        "features": features,
        "not_checked": [
            {"name": f.name, "note": f.note} for f in baseline.features if f.kind == IGNORED
        ],
    }
