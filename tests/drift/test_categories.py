"""Categories: one value in every encoding, new categories, IDs and many categories."""

from __future__ import annotations

import json
import math
import uuid

import numpy as np
import pytest
from cdk_sagemaker_hosting._lambda.drift import render, stats
from cdk_sagemaker_hosting._lambda.drift.baseline import CATEGORICAL, IGNORED, build, category_key
from cdk_sagemaker_hosting._lambda.drift.counts import Counts
from cdk_sagemaker_hosting._lambda.drift.report import Thresholds, score
from scipy import stats as scipy_stats
from scipy.spatial.distance import jensenshannon

from tests.drift.helpers import capture_line, numpy_psi

RNG = np.random.default_rng(4)


@pytest.mark.parametrize(
    ("values", "key"),
    [
        (["1", "1.0", " 1.00 ", 1, 1.0, "1e0"], "1"),
        (["True", "true", "TRUE", True], "true"),
        (["false", "False", False], "false"),
        (["2.5", 2.5, "2.50"], "2.5"),
        (["CA", " CA "], "CA"),
        (["", "  ", None], None),
        (["nan"], "nan"),
    ],
)
def test_one_value_is_one_category_in_every_encoding(values: list[object], key: str) -> None:
    assert {category_key(v) for v in values} == {key}


def test_csv_baseline_and_json_payloads_agree() -> None:
    """A CSV baseline holds "1" and "True"; JSON payloads send 1.0 and true."""
    rows = [["1", "True"] if i % 4 else ["0", "False"] for i in range(4000)]
    base = build(["code", "flag"], rows, types={"code": CATEGORICAL})
    live = [
        json.dumps({"code": 1.0, "flag": True} if i % 4 else {"code": 0, "flag": False})
        for i in range(3000)
    ]
    counts = Counts(base)
    counts.add_lines([capture_line(p, "JSON", "application/json") for p in live])
    report = score(base, counts)
    for feature in report["features"]:
        assert feature["rejected"]["unknown_category"] == 0
        assert feature["jensen_shannon"] == pytest.approx(0.0, abs=1e-9)
    assert report["verdict"] == "no_drift"
    # and CSV payloads of "1.0" or "true" count the same
    csv_counts = Counts(base)
    csv_counts.add_lines([capture_line("1.0,true" if i % 4 else "0.0,false") for i in range(3000)])
    assert csv_counts.to_json()["features"] == counts.to_json()["features"]


def test_new_categories_have_their_own_threshold() -> None:
    """9.75 % of values never seen: L-infinity 0.0975 passes 0.1, the new-category check not."""
    states = ["CA", "NY", "TX", "WA"]
    base = build(["state"], [[states[i % 4]] for i in range(8000)])
    live = [states[i % 4] if i % 400 >= 39 else "ZZ" for i in range(4000)]
    counts = Counts(base)
    counts.add_lines([capture_line(v) for v in live])
    report = score(base, counts, Thresholds(categorical_metric="linf"))
    (state,) = report["features"]
    assert state["linf"] == pytest.approx(0.0975)
    assert state["new_categories"] == pytest.approx(0.0975)
    assert state["verdict"] == "drift" and state["reasons"] == ["new categories 9.8% >= 5.0%"]
    quiet = score(base, counts, Thresholds(categorical_metric="linf", new_categories=0.2))
    assert quiet["features"][0]["verdict"] == "no_drift"


def test_an_id_column_is_left_out_with_a_note() -> None:
    rows = [
        [str(uuid.UUID(int=int(RNG.integers(0, 2**62)))), "a" if i % 2 else "b"]
        for i in range(3000)
    ]
    base = build(["request_id", "kind"], rows)
    request_id, kind = base.features
    assert request_id.kind == IGNORED and "3,000 distinct values among 3,000" in request_id.note
    assert kind.kind == CATEGORICAL
    kept = build(["request_id", "kind"], rows, types={"request_id": CATEGORICAL})
    assert kept.features[0].kind == CATEGORICAL and kept.features[0].note == ""
    # the note is in every report, its table and its page
    counts = Counts(base)
    counts.add_lines([capture_line(f"{uuid.uuid4()},a") for _ in range(600)])
    report = score(base, counts)
    assert report["not_checked"] == [{"name": "request_id", "note": request_id.note}]
    assert [f["name"] for f in report["features"]] == ["kind"]
    assert f"not checked:\n  request_id ({request_id.note})" in render.table(report)
    assert "<h2>Not checked</h2><ul><li>request_id: not checked" in render.page(report)


def test_many_categories_need_more_values_than_few() -> None:
    """60 categories, same distribution: 800 values score JS about 0.13 by chance alone."""
    categories = [f"c{i}" for i in range(60)]
    weights = RNG.dirichlet(np.ones(60) * 2)
    train = RNG.choice(categories, 50_000, p=weights)
    base = build(["c"], [[c] for c in train])
    expected = [*base.features[0].counts, 0]

    def report_of(n: int) -> dict[str, object]:
        counts = Counts(base)
        counts.add_lines([capture_line(str(c)) for c in RNG.choice(categories, n, p=weights)])
        (feature,) = score(base, counts)["features"]
        observed = np.array([*feature["categories"].values(), 0], dtype=float)
        e = np.array(expected, dtype=float)
        assert feature["jensen_shannon"] == pytest.approx(
            float(jensenshannon(e / e.sum(), observed / observed.sum(), base=2)), abs=1e-12
        )
        return feature

    small = report_of(800)
    assert small["jensen_shannon"] > 0.1  # chance alone would alarm
    assert small["verdict"] == "insufficient_data" and small["min_values"] > 800
    assert small["min_values"] == pytest.approx(
        stats.min_sample("jensen_shannon", 0.1, expected), abs=1
    )
    large = report_of(small["min_values"] + 500)  # type: ignore[operator]
    assert large["verdict"] == "no_drift"


def test_min_sample_by_hand_and_against_scipys_chi_square() -> None:
    """Wilson-Hilferty's quantile: never below scipy's exact one, within 8 % (1 % from k = 20)."""
    for k in (2, 3, 5, 20, 60, 200):
        exact = float(scipy_stats.chi2.ppf(1 - 1e-4, k - 1))
        ours = stats.min_sample("psi", 1.0, [10**12] * k)
        assert exact <= ours <= exact * (1.01 if k >= 20 else 1.08)
    # k = 3 equal bins, baseline endless: each metric's room for the same chi-square
    chi2 = stats.min_sample("psi", 1.0, [10**12] * 3)
    assert stats.min_sample("psi", 0.2, [10**12] * 3) == pytest.approx(chi2 / 0.2)
    assert stats.min_sample("jensen_shannon", 0.1, [10**12] * 3) == pytest.approx(
        chi2 / (8 * np.log(2) * 0.01)
    )
    assert stats.min_sample("linf", 0.1, [10**12] * 3) == pytest.approx(chi2 / 3 / 0.01)
    assert stats.min_sample("psi", 0.2, [5, 0]) == 0.0  # one bin: nothing to compare
    assert stats.min_sample("psi", 0.2, [1] * 50) == float("inf")  # baseline too small


@pytest.mark.parametrize(
    ("metric", "threshold", "k"),
    [("jensen_shannon", 0.1, 60), ("jensen_shannon", 0.1, 5), ("psi", 0.2, 17), ("linf", 0.1, 8)],
)
def test_at_the_minimum_sample_chance_rarely_crosses_the_threshold(
    metric: str, threshold: float, k: int
) -> None:
    """Simulated with numpy and scored with scipy: same-distribution windows of min_values."""
    rng = np.random.default_rng(k)
    weights = rng.dirichlet(np.ones(k) * 2)
    expected = rng.multinomial(50_000, weights)
    n = math.ceil(stats.min_sample(metric, threshold, expected.tolist()))
    e = expected / expected.sum()
    scores = []
    for live in rng.multinomial(n, weights, size=2000):
        a = live / n
        if metric == "jensen_shannon":
            scores.append(jensenshannon(e, a, base=2))
        elif metric == "linf":
            scores.append(np.max(np.abs(e - a)))
        else:
            scores.append(numpy_psi(expected, live))
    assert np.mean(np.array(scores) >= threshold) < 0.002, (n, max(scores))


def test_the_page_escapes_feature_and_category_names() -> None:
    """Names come from the data: the page must show them as text, never run them."""
    hostile = "<script>alert(1)</script>"
    categories = ["<img src=x onerror=alert(1)>", "</svg><script>x</script>", "a&amp;b"]
    rows = [[f"{i % 7}", categories[i % 3]] for i in range(3000)]
    base = build(["n", hostile], rows, types={hostile: CATEGORICAL})
    counts = Counts(base)
    counts.add_lines([capture_line(f"{i % 5},{categories[i % 2]}") for i in range(900)])
    page = render.page(score(base, counts))
    for raw in ("<script", "<img", "</svg><script"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
