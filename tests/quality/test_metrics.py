"""Metrics from counts equal scikit-learn's on the same data; counts merge like one pass."""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

import numpy as np
import pytest
from cdk_sagemaker_hosting._lambda.quality.counts import (
    BinaryCounts,
    MulticlassCounts,
    RegressionCounts,
    counts_from_json,
    new_counts,
)
from cdk_sagemaker_hosting._lambda.quality.records import Join
from cdk_sagemaker_hosting._lambda.quality.report import window_report
from sklearn import metrics as sk

from tests.quality.helpers import (
    binary_data,
    capture_line,
    multiclass_data,
    regression_data,
    truth_line,
)

EXACT = 1e-9


def binary(n: int = 20_000, threshold: float = 0.5, bins: int = 1000) -> tuple:
    scores, labels = binary_data(n)
    counts = BinaryCounts(threshold, bins)
    counts.add(scores, labels)
    return scores, labels, counts


@pytest.mark.parametrize("threshold", [0.5, 0.37, 0.0, 1.0])
def test_binary_threshold_metrics_equal_scikit_learn(threshold: float) -> None:
    scores, labels, counts = binary(threshold=threshold)
    got = counts.metrics()
    predicted = [int(s >= threshold) for s in scores]
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(labels, predicted), abs=EXACT)
    if sum(predicted):
        assert got["precision"] == pytest.approx(sk.precision_score(labels, predicted), abs=EXACT)
    else:
        assert got["precision"] is None  # nothing predicted positive: undefined, not 0
    assert got["recall"] == pytest.approx(sk.recall_score(labels, predicted), abs=EXACT)
    assert got["f1"] == pytest.approx(sk.f1_score(labels, predicted), abs=EXACT)
    tn, fp, fn, tp = sk.confusion_matrix(labels, predicted, labels=[0, 1]).ravel()
    assert got["confusion"] == {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


@pytest.mark.parametrize("bins", [10, 100, 1000, 10_000])
def test_binned_auc_is_scikit_learns_auc_of_the_binned_scores(bins: int) -> None:
    """With scores replaced by their bin, the histograms give scikit-learn's values exactly."""
    scores, labels, counts = binary(bins=bins)
    binned = [min(int(s * bins), bins - 1) for s in scores]
    got = counts.metrics()
    assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(labels, binned), abs=EXACT)
    assert got["pr_auc"] == pytest.approx(sk.average_precision_score(labels, binned), abs=EXACT)


@pytest.mark.parametrize("bins", [10, 100, 1000, 10_000])
def test_unbinned_auc_lies_within_the_stated_bound(bins: int) -> None:
    scores, labels, counts = binary(bins=bins)
    got = counts.metrics()
    exact_roc = sk.roc_auc_score(labels, scores)
    exact_ap = sk.average_precision_score(labels, scores)
    assert abs(got["roc_auc"] - exact_roc) <= got["roc_auc_bound"] + EXACT
    assert abs(got["pr_auc"] - exact_ap) <= got["pr_auc_bound"] + EXACT
    if bins >= 1000:
        # The bound is useful, not merely true: 1000 bins give AUCs within 0.005 here.
        assert got["roc_auc_bound"] < 0.005
        assert got["pr_auc_bound"] < 0.005
        assert abs(got["roc_auc"] - exact_roc) < 0.001


def test_auc_bound_is_tight_enough_to_be_attained() -> None:
    """All positives and negatives in one bin: the binned ROC AUC is 0.5, the bound 0.5."""
    counts = BinaryCounts(0.5, 1)
    counts.add([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])
    got = counts.metrics()
    assert got["roc_auc"] == 0.5
    assert got["roc_auc_bound"] == 0.5  # the exact AUC (1.0) is 0.5 away
    assert sk.roc_auc_score([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) == 1.0


def test_auc_undefined_with_one_class() -> None:
    counts = BinaryCounts()
    counts.add([0.2, 0.7], [0, 0])
    got = counts.metrics()
    assert got["roc_auc"] is None
    assert got["pr_auc"] is None
    assert got["recall"] is None


def test_multiclass_metrics_equal_scikit_learn() -> None:
    predictions, labels = multiclass_data(20_000)
    predictions[:3] = ["eel", "eel", "eel"]  # a class never in the labels
    counts = MulticlassCounts()
    counts.add(predictions, labels)
    got = counts.metrics()
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(labels, predictions), abs=EXACT)
    assert got["macro_f1"] == pytest.approx(
        sk.f1_score(labels, predictions, average="macro", zero_division=0), abs=EXACT
    )
    assert got["weighted_f1"] == pytest.approx(
        sk.f1_score(labels, predictions, average="weighted", zero_division=0), abs=EXACT
    )
    classes = sorted(got["classes"])
    f1s = sk.f1_score(labels, predictions, average=None, labels=classes, zero_division=0)
    precisions = sk.precision_score(
        labels, predictions, average=None, labels=classes, zero_division=0
    )
    recalls = sk.recall_score(labels, predictions, average=None, labels=classes, zero_division=0)
    for c, f1, precision, recall in zip(classes, f1s, precisions, recalls, strict=True):
        assert got["classes"][c]["f1"] == pytest.approx(f1, abs=EXACT)
        assert got["classes"][c]["precision"] == pytest.approx(precision, abs=EXACT)
        assert got["classes"][c]["recall"] == pytest.approx(recall, abs=EXACT)
    matrix = sk.confusion_matrix(labels, predictions, labels=classes)
    ours = {(t, p): n for t, p, n in got["confusion"]}
    for i, t in enumerate(classes):
        for j, p in enumerate(classes):
            assert ours.get((t, p), 0) == matrix[i, j]


@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_regression_metrics_equal_scikit_learn(offset: float) -> None:
    """Also with labels around a million, where Σy² - (Σy)²/n would lose R²'s digits."""
    predictions, labels = regression_data(20_000)
    predictions = [p + offset for p in predictions]
    labels = [y + offset for y in labels]
    labels[5] = 0.0  # MAPE divides by max(|y|, eps), as scikit-learn does
    counts = RegressionCounts()
    counts.add(predictions, labels)
    got = counts.metrics()
    y, p = np.array(labels), np.array(predictions)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(y, p), abs=EXACT)
    assert got["mse"] == pytest.approx(sk.mean_squared_error(y, p), rel=EXACT)
    assert got["rmse"] == pytest.approx(math.sqrt(sk.mean_squared_error(y, p)), abs=EXACT)
    assert got["r2"] == pytest.approx(sk.r2_score(y, p), abs=EXACT)
    assert got["mape"] == pytest.approx(sk.mean_absolute_percentage_error(y, p), rel=EXACT)


def test_r2_undefined_for_constant_labels() -> None:
    counts = RegressionCounts()
    counts.add([1.0, 2.0], [3.0, 3.0])
    assert counts.metrics()["r2"] is None


def _split(n: int, parts: int) -> list[slice]:
    edges = [0, 1, 2, n // 3, n // 2, n - 1, n][: parts + 1]
    edges[-1] = n
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
def test_merged_counts_equal_one_pass(problem: str) -> None:
    """Counts of parts (some of one record, one empty), merged and through JSON, equal one pass."""
    data = {"binary": binary_data, "multiclass": multiclass_data, "regression": regression_data}
    predictions, labels = data[problem](5000)
    whole = new_counts(problem)
    whole.add(predictions, labels)
    merged = new_counts(problem)
    for part in [*_split(len(labels), 6), slice(0, 0)]:
        counts = new_counts(problem)
        counts.add(predictions[part], labels[part])
        merged.merge(counts_from_json(json.loads(json.dumps(counts.to_json()))))  # type: ignore[arg-type]
    expected, got = whole.metrics(), merged.metrics()
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        if isinstance(value, float):
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
        else:
            assert got[name] == value, name


def test_binary_counts_refuse_merging_other_bins() -> None:
    with pytest.raises(ValueError, match=re.escape("threshold 0.5 with 100 bins")):
        BinaryCounts(0.5, 1000).merge(BinaryCounts(0.5, 100))


@pytest.mark.parametrize(
    ("threshold", "bins", "message"),
    [(1.5, 10, "threshold 1.5"), (-0.1, 10, "threshold -0.1"), (0.5, 0, "bins 0: at least 1")],
)
def test_binary_counts_refuse_bad_settings(threshold: float, bins: int, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        BinaryCounts(threshold, bins)


def _sklearn(problem: str, predictions: list[Any], labels: list[Any]) -> dict[str, float]:
    if problem == "binary":
        predicted = [int(s >= 0.5) for s in predictions]
        return {
            "accuracy": sk.accuracy_score(labels, predicted),
            "precision": sk.precision_score(labels, predicted),
            "recall": sk.recall_score(labels, predicted),
            "f1": sk.f1_score(labels, predicted),
        }
    if problem == "multiclass":
        return {
            "accuracy": sk.accuracy_score(labels, predictions),
            "macro_f1": sk.f1_score(labels, predictions, average="macro"),
            "weighted_f1": sk.f1_score(labels, predictions, average="weighted"),
        }
    return {
        "mae": sk.mean_absolute_error(labels, predictions),
        "mse": sk.mean_squared_error(labels, predictions),
        "r2": sk.r2_score(labels, predictions),
        "mape": sk.mean_absolute_percentage_error(labels, predictions),
    }


@pytest.mark.parametrize("problem", ["binary", "multiclass", "regression"])
def test_each_variant_and_the_window_equal_scikit_learn(problem: str) -> None:
    """Two variants joined in one window: each one's metrics and the whole window's."""
    make = {"binary": binary_data, "multiclass": multiclass_data, "regression": regression_data}
    data = {"Champion": make[problem](3000, seed=11), "Challenger": make[problem](1000, seed=12)}
    join = Join(problem)
    for variant, (predictions, _) in data.items():
        join.add_capture(
            [capture_line(f"{variant}-{i}", repr(p)) for i, p in enumerate(predictions)]
            if problem != "multiclass"
            else [capture_line(f"{variant}-{i}", p) for i, p in enumerate(predictions)],
            variant,
        )
    join.add_ground_truth(
        [
            truth_line(f"{variant}-{i}", str(y))
            for variant, (_, labels) in data.items()
            for i, y in enumerate(labels)
        ]
    )
    result = join.finish(lambda: new_counts(problem))
    report = window_report(result)
    for variant, (predictions, labels) in data.items():
        expected = _sklearn(problem, predictions, labels)
        got = report["variants"][variant]["metrics"]
        assert {m: got[m] for m in expected} == pytest.approx(expected, abs=EXACT, rel=EXACT)
    everything = _sklearn(
        problem,
        data["Champion"][0] + data["Challenger"][0],
        data["Champion"][1] + data["Challenger"][1],
    )
    got = report["metrics"]
    assert {m: got[m] for m in everything} == pytest.approx(everything, abs=EXACT, rel=EXACT)
