"""The quality report of one window: counts, bad records by reason, metrics, verdict.

The verdict is ``insufficient_data`` when fewer than ``min_records`` records
were joined (never ``ok``); otherwise ``degraded`` when a constraint is
violated, else ``insufficient_data`` when a constraint's metric is undefined
on the window's data (recall with no positive label, ROC AUC of one class:
listed under ``constraints_not_checked``), else ``ok``.

Constraints come from a Model Monitor model-quality constraints file
(``binary_classification_constraints``, ``multiclass_classification_constraints``
or ``regression_constraints``: metric -> ``{threshold, comparison_operator}``),
where the operator names the violation: ``LessThanThreshold`` on accuracy is
violated when accuracy is below the threshold. Model Monitor's ``auc`` and
``au_prc`` are our ``roc_auc`` and ``pr_auc``. A constraint on a metric this
check does not compute, or on another problem type, is listed under
``constraints_not_checked``, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .counts import BINARY, MULTICLASS, REGRESSION, Counts
from .records import REASONS, JoinResult

REPORT_FORMAT = "cdk-sagemaker-hosting/quality-report"
OK = "ok"
DEGRADED = "degraded"
INSUFFICIENT_DATA = "insufficient_data"
#: Fewer joined records than this give "insufficient_data".
DEFAULT_MIN_RECORDS = 100

SECTIONS = {
    BINARY: "binary_classification_constraints",
    MULTICLASS: "multiclass_classification_constraints",
    REGRESSION: "regression_constraints",
}
#: Model Monitor's metric names that differ from ours.
ALIASES = {"auc": "roc_auc", "au_prc": "pr_auc"}
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
    "GreaterThanThreshold": operator.gt,
    "GreaterThanOrEqualToThreshold": operator.ge,
}


class ConstraintsError(ValueError):
    """A constraints file that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Constraint:
    """``metric`` is violated when ``metric <comparison> threshold``."""

    metric: str
    threshold: float
    comparison: str

    def violated(self, value: float) -> bool:
        return OPERATORS[self.comparison](value, self.threshold)


def constraints_of(document: Any, problem: str) -> tuple[list[Constraint], list[str]]:
    """The constraints of ``problem`` in a Model Monitor constraints document.

    Returns the constraints and the names of those that cannot be checked
    (another problem's section, a metric not computed here).
    """
    if not isinstance(document, Mapping):
        msg = "a constraints file is a JSON object"
        raise ConstraintsError(msg)
    known = [s for s in SECTIONS.values() if s in document]
    if not known:
        msg = f"no constraints: the file has none of {', '.join(SECTIONS.values())}"
        raise ConstraintsError(msg)
    skipped = [f"{s}.*" for s in known if s != SECTIONS[problem]]
    section = document.get(SECTIONS[problem], {})
    if not isinstance(section, Mapping):
        msg = f"{SECTIONS[problem]} is not an object"
        raise ConstraintsError(msg)
    constraints = []
    for name, rule in section.items():
        if not isinstance(rule, Mapping):
            msg = f"{SECTIONS[problem]}.{name} is not an object"
            raise ConstraintsError(msg)
        comparison = rule.get("comparison_operator")
        threshold = rule.get("threshold")
        if comparison not in OPERATORS:
            msg = (
                f"{SECTIONS[problem]}.{name}: comparison_operator {comparison!r} is not one of "
                f"{', '.join(OPERATORS)}"
            )
            raise ConstraintsError(msg)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            msg = f"{SECTIONS[problem]}.{name}: threshold {threshold!r} is not a number"
            raise ConstraintsError(msg)
        if not math.isfinite(threshold):
            # Python's json reads NaN and Infinity; a NaN bound is never crossed.
            msg = f"{SECTIONS[problem]}.{name}: threshold {threshold!r} is not a finite number"
            raise ConstraintsError(msg)
        metric = ALIASES.get(name, name)
        if metric not in METRICS[problem]:
            skipped.append(f"{SECTIONS[problem]}.{name}")
            continue
        constraints.append(Constraint(metric, float(threshold), comparison))
    return constraints, skipped


#: The scalar metrics of each problem that constraints may name.
METRICS = {
    BINARY: ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"),
    MULTICLASS: ("accuracy", "macro_f1", "weighted_f1"),
    REGRESSION: ("mae", "mse", "rmse", "r2", "mape"),
}


def report(
    counts: Counts,
    *,
    prediction_records: int,
    label_records: int,
    rejected: Mapping[str, int],
    constraints: list[Constraint] | None = None,
    constraints_not_checked: list[str] | None = None,
    min_records: int = DEFAULT_MIN_RECORDS,
    **context: Any,
) -> dict[str, Any]:
    """The report: what was read, what was joined, what was not and why, metrics, verdict."""
    metrics = counts.metrics()
    joined = counts.records
    violations = []
    unchecked = list(constraints_not_checked or [])
    undefined = []
    for constraint in constraints or []:
        value = metrics.get(constraint.metric)
        if value is None:
            undefined.append(constraint.metric)
            unchecked.append(f"{constraint.metric} (undefined for this data)")
        elif constraint.violated(value):
            violations.append(
                {
                    "metric": constraint.metric,
                    "value": value,
                    "threshold": constraint.threshold,
                    "comparison_operator": constraint.comparison,
                }
            )
    if joined < max(min_records, 1):  # nothing joined is never "ok", whatever min_records says
        verdict = INSUFFICIENT_DATA
    elif violations:
        verdict = DEGRADED
    elif undefined:
        # A constraint this window cannot judge (recall without a positive label, ROC AUC
        # of one class) is not met either: the window cannot say "ok".
        verdict = INSUFFICIENT_DATA
    else:
        verdict = OK
    result: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "problem": counts.problem,
        "verdict": verdict,
        "records": {
            "predictions": prediction_records,
            "labels": label_records,
            "joined": joined,
            "min_records": min_records,
        },
        "rejected": {r: rejected[r] for r in REASONS if rejected.get(r)},
        "metrics": metrics,
        "violations": violations,
    }
    if unchecked:
        result["constraints_not_checked"] = unchecked
    result.update(context)
    return result


#: Metrics where a larger value is better (the others, errors, are better smaller).
HIGHER_IS_BETTER = frozenset(
    {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "macro_f1", "weighted_f1", "r2"}
)


def reference_variant(result: JoinResult, reference: str | None = None) -> str | None:
    """The variant others are compared with: ``reference`` if given, else the one with most joined.

    Ties go to the first name in sort order; ``None`` without any variant.
    A ``reference`` the window has no record of is an error (a typo would
    otherwise compare nothing).
    """
    variants = result.variants
    if reference is not None:
        if reference not in variants:
            msg = (
                f"reference variant {reference!r} has no record in this window "
                f"(variants: {', '.join(variants) or 'none'})"
            )
            raise ValueError(msg)
        return reference
    if not variants:
        return None
    return min(variants, key=lambda v: (-result.variant_counts(v).records, v))


def compare(
    metrics: Mapping[str, Mapping[str, Any]], problem: str, reference: str
) -> dict[str, Any]:
    """Each variant's metrics against ``reference``'s: value, reference value, difference.

    ``difference`` is ``value - reference`` (``None`` when either is
    undefined); ``better`` says whether that difference is an improvement
    (higher for scores, lower for errors), ``None`` when equal or undefined.
    """
    base = metrics[reference]
    compared: dict[str, Any] = {}
    for variant in sorted(metrics):
        if variant == reference:
            continue
        rows = {}
        for metric in METRICS[problem]:
            value, reference_value = metrics[variant].get(metric), base.get(metric)
            difference = None
            better = None
            if value is not None and reference_value is not None:
                difference = value - reference_value
                if difference:
                    better = (difference > 0) == (metric in HIGHER_IS_BETTER)
            rows[metric] = {
                "value": value,
                "reference": reference_value,
                "difference": difference,
                "better": better,
            }
        compared[variant] = rows
    return {"reference": reference, "variants": compared}


def window_report(
    result: JoinResult,
    *,
    constraints: list[Constraint] | None = None,
    constraints_not_checked: list[str] | None = None,
    min_records: int = DEFAULT_MIN_RECORDS,
    reference: str | None = None,
    **context: Any,
) -> dict[str, Any]:
    """The report of a window: overall, per variant, and each variant against the reference.

    ``variants`` holds each variant's own :func:`report` (its prediction
    records, the labels joined to them, its rejections, its metrics,
    violations and verdict against the constraints and ``min_records``);
    ``comparison`` holds each variant's difference per metric from
    ``reference`` (by default the variant with the most joined records). The
    overall part holds the whole window's records, rejections and metrics
    (every variant's counts merged), for information: the merged data is not
    judged. Its ``violations`` are the variants' (each naming its
    ``variant``), its ``constraints_not_checked`` those no window can check
    (another problem's, a metric not computed); each variant lists those its
    own data leaves undefined.

    The verdict follows the variants': ``degraded`` when any variant is;
    else ``ok`` when every variant that made a prediction is ``ok`` (a
    variant with no prediction, e.g. of weight 0, is left out) and there is
    one; else ``insufficient_data``. A variant is ``insufficient_data`` when
    it joined fewer than ``min_records`` or its data leaves a constraint's
    metric undefined. So a window is degraded only when a variant is, which
    publishes that variant's ``Degraded`` datapoint and emits its degraded
    event: judged merged, variants each too small could degrade a window on
    which nothing alarms, and an A/B window's merged metrics mix two models.
    """
    overall = report(
        result.overall(),
        prediction_records=sum(result.predictions.values()),
        label_records=result.labels,
        rejected=result.rejected,
        constraints_not_checked=constraints_not_checked,
        min_records=min_records,
    )
    variants = {}
    for variant in result.variants:
        counts = result.variant_counts(variant)
        part = report(
            counts,
            prediction_records=result.predictions.get(variant, 0),
            label_records=counts.records,
            rejected=result.variant_rejected.get(variant, {}),
            constraints=constraints,
            min_records=min_records,
        )
        # Its constraints_not_checked, if any, are those undefined on its own data.
        for name in ("format", "problem"):
            part.pop(name, None)
        del part["records"]["min_records"]  # the window's, above
        variants[variant] = part
    overall["violations"] = [
        {"variant": name, **violation}
        for name, part in variants.items()
        for violation in part["violations"]
    ]
    served = [part["verdict"] for part in variants.values() if part["records"]["predictions"]]
    if DEGRADED in served:
        overall["verdict"] = DEGRADED
    elif served and all(verdict == OK for verdict in served):
        overall["verdict"] = OK
    else:
        overall["verdict"] = INSUFFICIENT_DATA
    overall["variants"] = variants
    chosen = reference_variant(result, reference)
    if chosen is not None and len(variants) > 1:
        overall["comparison"] = compare(
            {v: part["metrics"] for v, part in variants.items()}, result.problem, chosen
        )
    overall.update(context)
    return overall
