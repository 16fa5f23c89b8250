"""Counts merge exactly; reports score, decide, and never mistake too little data for no drift."""

from __future__ import annotations

import json
import re
import tracemalloc
from typing import Any

import numpy as np
import pytest
from cdk_sagemaker_hosting._lambda.drift.baseline import build
from cdk_sagemaker_hosting._lambda.drift.counts import Counts, total
from cdk_sagemaker_hosting._lambda.drift.report import Thresholds, score
from cdk_sagemaker_hosting._lambda.drift.rules import ConfigError
from scipy.spatial.distance import jensenshannon

from tests.drift.helpers import capture_line, live_payloads, numpy_psi, sample_baseline

BASELINE = sample_baseline(5000)


def counts_of(payloads: list[str]) -> Counts:
    counts = Counts(BASELINE)
    counts.add_lines([capture_line(p) for p in payloads])
    return counts


def test_split_counts_sum_to_the_single_pass() -> None:
    payloads = live_payloads(3000, shift=5)
    payloads[10] = "oops"
    payloads[20] = "nan,30,CA"
    single = counts_of(payloads)
    parts = [counts_of(payloads[i : i + 700]) for i in range(0, 3000, 700)]
    merged = total(BASELINE, [parts[0], *(p.to_json() for p in parts[1:])])
    assert merged.to_json() == single.to_json()
    assert score(BASELINE, merged) == score(BASELINE, single)


def test_partial_counts_of_another_baseline_do_not_merge() -> None:
    other = Counts(sample_baseline(4000))
    with pytest.raises(ValueError, match="another baseline"):
        Counts(BASELINE).merge(other)


def test_no_drift_on_the_same_distribution() -> None:
    report = score(BASELINE, counts_of(live_payloads(5000)))
    assert report["verdict"] == "no_drift" and report["drifted_features"] == []
    assert all(f["verdict"] == "no_drift" for f in report["features"])


def test_one_drifting_feature_makes_the_dataset_drift() -> None:
    report = score(BASELINE, counts_of(live_payloads(5000, shift=20)))
    amount = report["features"][0]
    assert (amount["name"], amount["metric"], amount["verdict"]) == ("amount", "psi", "drift")
    assert amount["score"] > 0.2
    assert report["drift_share"] == pytest.approx(1 / 3) and report["verdict"] == "drift"
    assert report["drifted_features"] == ["amount"]
    half = score(BASELINE, counts_of(live_payloads(5000, shift=20)), Thresholds(dataset_share=0.5))
    assert half["verdict"] == "no_drift"


def test_five_of_fifteen_features_drifting_is_drift() -> None:
    columns = [f"f{i}" for i in range(15)]
    rng = np.random.default_rng(3)
    train = rng.normal(0, 1, (3000, 15))
    base = build(columns, [[f"{x:.5f}" for x in row] for row in train])
    live = rng.normal(0, 1, (2000, 15))
    live[:, :5] += 1.0
    counts = Counts(base)
    counts.add_lines([capture_line(",".join(f"{x:.5f}" for x in row)) for row in live])
    report = score(base, counts)
    assert report["drifted_features"] == columns[:5] and report["verdict"] == "drift"
    assert score(base, counts, Thresholds(dataset_share=0.5))["verdict"] == "no_drift"


def test_categorical_metric_and_both_distances_reported() -> None:
    payloads = [p.rsplit(",", 1)[0] + ",CA" for p in live_payloads(2000)]
    report = score(BASELINE, counts_of(payloads))
    state = report["features"][2]
    assert state["metric"] == "jensen_shannon" and state["verdict"] == "drift"
    expected = np.array(BASELINE.features[2].counts, dtype=float)
    observed = np.array(list(state["categories"].values()), dtype=float)
    assert state["jensen_shannon"] == pytest.approx(
        float(jensenshannon(expected / expected.sum(), observed / observed.sum(), base=2)),
        abs=1e-12,
    )
    linf = score(BASELINE, counts_of(payloads), Thresholds(categorical_metric="linf"))
    assert linf["features"][2]["metric"] == "linf"
    assert linf["features"][2]["score"] == state["linf"]


def test_too_few_records_are_insufficient_data_not_no_drift() -> None:
    report = score(BASELINE, counts_of(live_payloads(100)))
    assert report["verdict"] == "insufficient_data" and report["drift_share"] is None
    assert {f["verdict"] for f in report["features"]} == {"insufficient_data"}
    assert report["features"][0]["score"] is not None  # still shown
    assert (
        score(BASELINE, counts_of(live_payloads(300)), Thresholds(min_records=50))["verdict"]
        == "no_drift"
    )
    # 100 values are too few for chance to stay under PSI 0.2 over 17 bins, whatever min_records
    low = score(BASELINE, counts_of(live_payloads(100)), Thresholds(min_records=50))
    assert low["features"][0]["min_values"] > 100 and low["verdict"] == "insufficient_data"


def test_an_empty_window_is_insufficient_data() -> None:
    report = score(BASELINE, Counts(BASELINE))
    assert report["verdict"] == "insufficient_data"
    assert (report["objects"], report["lines"]["read"], report["records"]["read"]) == (0, 0, 0)
    assert all(f["score"] is None for f in report["features"])


def numpy_psi_with_missing(feature: Any, entry: dict[str, Any], observed: Any) -> float:
    """PSI over the bins and the missing bin, written with numpy."""
    return numpy_psi([*feature.counts, feature.missing], [*observed.counts, observed.invalid])


MISSING_BASELINE = build(
    ["x", "y"],
    [
        ["" if i % 20 == 0 else f"{(i * 7919) % 1000 / 10}", "a" if i % 3 else "b"]
        for i in range(4000)
    ],
)


@pytest.mark.parametrize(
    ("every", "text", "drifts"),
    [
        (20, False, False),
        (2, False, True),
        (1000, False, False),
        (1, False, True),
        (10, True, True),
    ],
)
def test_a_feature_going_missing_drifts(every: int, text: bool, drifts: bool) -> None:
    """5 % missing in training; live 5 %, 50 %, 0.1 %, 100 % missing, or 90 % text."""
    payloads = []
    for i in range(3000):
        value = f"{(i * 7919) % 1000 / 10}"
        if text:
            value = value if i % 10 == 0 else "n/a"
        elif i % every == 0:
            value = ""
        payloads.append(f"{value},{'a' if i % 3 else 'b'}")
    counts = Counts(MISSING_BASELINE)
    counts.add_lines([capture_line(p) for p in payloads])
    report = score(MISSING_BASELINE, counts)
    x = report["features"][0]
    assert x["missing"]["baseline"] == pytest.approx(0.05)
    assert x["score"] == pytest.approx(
        numpy_psi_with_missing(MISSING_BASELINE.features[0], x, counts.features[0]), abs=1e-12
    )
    assert (x["verdict"] == "drift") is drifts
    assert (report["verdict"] == "drift") is drifts


def test_report_is_json_and_names_every_rejection() -> None:
    report = score(BASELINE, counts_of([*live_payloads(600), "1,2", "x,1,CA"]))
    again = json.loads(json.dumps(report))
    assert again["records"]["rejections"] == {"wrong_column_count": 1}
    assert again["features"][0]["rejected"]["non_numeric"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"psi": 0}, "psi=0 is invalid: must be a positive number"),
        ({"linf": -1}, "linf=-1 is invalid: must be a positive number"),
        ({"psi": True}, "psi=True is invalid: must be a positive number"),
        ({"dataset_share": 1.5}, "dataset_share=1.5 is invalid: must be above 0 and at most 1"),
        ({"min_records": 0}, "min_records=0 is invalid: must be a whole number, at least 1"),
        ({"min_records": 50.5}, "min_records=50.5 is invalid: must be a whole number, at least 1"),
        ({"epsilon": 1}, "epsilon=1 is invalid: must be a proportion above 0 and below 1"),
        ({"new_categories": 0}, "new_categories=0 is invalid: must be above 0 and at most 1"),
        ({"dataset_share": 0}, "dataset_share=0 is invalid: must be above 0 and at most 1"),
        (
            {"categorical_metric": "chi2"},
            "categorical_metric='chi2' is invalid: one of jensen_shannon, linf",
        ),
    ],
)
def test_bad_thresholds(kwargs: dict[str, object], message: str) -> None:
    thresholds = Thresholds(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError) as error:
        thresholds.check()
    assert str(error.value) == message
    assert isinstance(error.value, ValueError)
    # Nothing scores with them, nor reads them from configuration.
    with pytest.raises(ConfigError, match=re.escape(message)):
        score(BASELINE, counts_of(live_payloads(600)), thresholds)
    with pytest.raises(ConfigError, match=re.escape(message)):
        Thresholds.from_json(dict(kwargs))


def test_none_means_the_default_rule_for_share_and_epsilon() -> None:
    assert Thresholds(dataset_share=None, epsilon=None).problems() == []
    assert Thresholds.from_json({"dataset_share": 0.5, "epsilon": 1e-4}).dataset_share == 0.5


def test_every_broken_threshold_is_named() -> None:
    problems = Thresholds(psi=0, dataset_share=0, min_records=0).problems()
    assert [p.field for p in problems] == ["psi", "dataset_share", "min_records"]


def test_memory_does_not_grow_with_the_window() -> None:
    """Counting 10x more lines keeps the same state: bins, not values."""
    batch = [capture_line(p) for p in live_payloads(2000)]
    counts = Counts(BASELINE)
    counts.add_lines(batch)
    tracemalloc.start()
    counts.add_lines(batch)
    _, peak_small = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    before, _ = tracemalloc.get_traced_memory()
    for _ in range(10):
        counts.add_lines(batch)
    after, peak_large = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - before < 10_000  # nothing kept per line
    assert peak_large < 2 * peak_small
