"""Baselines: inference, overrides, files, Model Monitor statistics.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdk_sagemaker_hosting._lambda.drift import baseline
from cdk_sagemaker_hosting._lambda.drift.baseline import (
    CATEGORICAL,
    IGNORED,
    NUMERIC,
    BaselineError,
    build,
    loads,
    read_table,
)

from tests.drift.helpers import COLUMNS, sample_baseline, training_rows

FIXTURES = Path(__file__).parent / "fixtures"


def test_types_are_inferred_and_numeric_bins_are_deciles_and_tails() -> None:
    built = sample_baseline(5000)
    assert [(f.name, f.kind) for f in built.features] == [
        ("amount", NUMERIC),
        ("age", NUMERIC),
        ("state", CATEGORICAL),
    ]
    amount = built.features[0]
    assert len(amount.edges) == 15 and len(amount.counts) == 16
    # 1, 1.5, 2.5, 5 % in each tail, then the deciles
    assert amount.counts == (50, 75, 125, 250, *[500] * 8, 250, 125, 75, 50)
    assert sorted(built.features[2].categories) == ["CA", "NY", "TX"]
    assert built.features[2].counts[-1] == 0  # nothing in "other"
    assert built.records == 5000


def test_overrides_drop_and_ignore_columns() -> None:
    rows = [[str(i % 2), str(i), f"id-{i}"] for i in range(100)]
    built = build(
        ["label", "zip", "id"],
        rows,
        types={"zip": CATEGORICAL, "id": IGNORED},
        ignore=["label"],
        max_categories=10,
    )
    assert [(f.name, f.kind) for f in built.features] == [("zip", CATEGORICAL), ("id", IGNORED)]
    zip_code = built.features[0]
    assert len(zip_code.categories) == 10 and zip_code.counts[-1] == 90  # the rest: "other"


def test_missing_values_are_counted_not_binned() -> None:
    built = build(["x"], [["1"], [""], ["2"], ["3"], [" "]])
    assert built.features[0].missing == 2 and sum(built.features[0].counts) == 3


def test_numeric_override_on_text_is_an_error() -> None:
    with pytest.raises(BaselineError, match="no numeric value"):
        build(["x"], [["a"], ["b"]], types={"x": NUMERIC})


@pytest.mark.parametrize(
    ("columns", "rows", "kwargs", "message"),
    [
        (["x"], [], {}, "holds no row"),
        (["x", "y"], [["1"]], {}, "row 1: 1 values for 2 columns"),
        (["x"], [["1"]], {"types": {"nope": NUMERIC}}, "unknown columns"),
        (["x"], [["1"]], {"types": {"x": "text"}}, "must be one of"),
        (["x"], [["1"]], {"bins": 0}, "bins must be at least 1"),
    ],
)
def test_bad_training_data(
    columns: list[str], rows: list[list[str]], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(BaselineError, match=message):
        build(columns, rows, **kwargs)


def test_file_round_trip_and_digest() -> None:
    built = sample_baseline(1000)
    again = loads(json.dumps(built.to_json()))
    assert again == built and again.digest() == built.digest()
    assert build(COLUMNS, training_rows(1000, seed=8)).digest() != built.digest()


def test_json_lines_training_data() -> None:
    columns, rows = read_table('{"a": 1, "b": "x"}\n{"a": 2.5, "b": "y", "c": true}\n')
    assert columns == ["a", "b", "c"] and rows == [[1, "x", None], [2.5, "y", True]]
    built = build(columns, rows)
    assert [f.kind for f in built.features] == [NUMERIC, CATEGORICAL, CATEGORICAL]


def test_csv_training_data_header_is_stripped() -> None:
    columns, rows = read_table("a, b\n1,x\n\n2,y\n")
    assert columns == ["a", "b"] and rows == [["1", "x"], ["2", "y"]]


def test_model_monitor_statistics() -> None:
    converted = loads((FIXTURES / "statistics.json").read_text())
    assert converted.source == "model-monitor" and converted.records == 2333
    account, day, state, notes = converted.features
    assert (account.kind, len(account.edges), sum(account.counts)) == (NUMERIC, 9, 2333)
    assert account.edges[0] == pytest.approx(1.0 + 24.2)  # the second bucket's lower bound
    assert (day.missing, day.counts[0]) == (3, 120)
    assert state.kind == CATEGORICAL and state.categories == ("CA", "NY", "TX", "WA")
    assert state.counts == (900, 700, 500, 233, 0)
    assert notes.kind == IGNORED  # no distribution: kept in position, never checked


def test_model_monitor_feature_of_one_value_is_one_bin() -> None:
    buckets = [{"lower_bound": 5.0, "upper_bound": 5.0, "count": 10.0}] * 3
    stats = {
        "version": 0,
        "dataset": {"item_count": 30},
        "features": [
            {
                "name": "flat",
                "inferred_type": "Fractional",
                "numerical_statistics": {"distribution": {"kll": {"buckets": buckets}}},
            }
        ],
    }
    (flat,) = baseline.from_model_monitor(stats).features
    assert flat.edges == () and flat.counts == (30,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "not JSON"),
        ("[]", "a JSON object"),
        ('{"features": []}', "neither a baseline"),
        (
            '{"format": "cdk-sagemaker-hosting/drift-baseline", "features": '
            '[{"name": "x", "type": "numeric", "edges": [1, 0], "counts": [1, 1, 1]}]}',
            "edges must be finite and increasing",
        ),
        (
            '{"format": "cdk-sagemaker-hosting/drift-baseline", "features": '
            '[{"name": "x", "type": "numeric", "edges": [1], "counts": [1]}]}',
            "needs 2 non-negative counts",
        ),
        (
            '{"format": "cdk-sagemaker-hosting/drift-baseline", "features": '
            '[{"name": "x", "type": "numeric", "edges": [], "counts": [1]}, '
            '{"name": "x", "type": "ignored"}]}',
            "unique",
        ),
    ],
)
def test_bad_baseline_files(text: str, message: str) -> None:
    with pytest.raises(BaselineError, match=message):
        loads(text)


def statistics_of(columns: dict[str, list[float]], levels: int = 0) -> dict[str, Any]:
    """A statistics.json whose KLL sketches hold every ``2**levels``-th value, of that weight."""
    features = []
    for name, values in columns.items():
        step = 2**levels
        kept = sorted(values)[step // 2 :: step]
        data: list[list[float]] = [[] for _ in range(levels)] + [kept]
        features.append(
            {
                "name": name,
                "inferred_type": "Fractional",
                "numerical_statistics": {
                    "common": {"num_present": len(values), "num_missing": 0},
                    "distribution": {
                        "kll": {
                            "buckets": [],
                            "sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": data},
                        }
                    },
                },
            }
        )
    features.append(
        {
            "name": "state",
            "inferred_type": "String",
            "string_statistics": {
                "common": {"num_present": 4, "num_missing": 0},
                "distribution": {
                    "categorical": {
                        "buckets": [{"value": "CA", "count": 3}, {"value": 1.0, "count": 1}]
                    }
                },
            },
        }
    )
    return {"version": 0, "dataset": {"item_count": 20_000}, "features": features}


@pytest.mark.parametrize("levels", [0, 3])
def test_model_monitor_sketches_are_binned_like_training_data(levels: int) -> None:
    """Edges from the KLL sketch's quantiles: the same bins, so the same scores, as our own."""
    import numpy as np

    rng = np.random.default_rng(1)
    amount = rng.normal(0, 1, 20_000).tolist()
    flag = (rng.random(20_000) < 0.05).astype(float).tolist()
    converted = baseline.from_model_monitor(statistics_of({"amount": amount, "flag": flag}, levels))
    ours = build(["amount", "flag"], [[a, f] for a, f in zip(amount, flag, strict=True)])
    for mine, theirs in zip(ours.features, converted.features, strict=False):
        assert len(theirs.edges) == len(mine.edges) and sum(theirs.counts) == 20_000
        tolerance = 0.02 if levels else 0.005
        assert list(theirs.edges) == pytest.approx(list(mine.edges), abs=tolerance)
    assert converted.features[1].edges == ours.features[1].edges  # a bin per value
    assert converted.features[2].categories == ("CA", "1")  # 1.0 is the category "1"


def test_model_monitor_overrides_apply_or_are_refused() -> None:
    stats = statistics_of({"label": [0.0, 1.0] * 50, "amount": [float(i) for i in range(100)]})
    converted = baseline.from_model_monitor(stats, ignore=["label"], types={"amount": IGNORED})
    assert [(f.name, f.kind) for f in converted.features] == [
        ("amount", IGNORED),
        ("state", CATEGORICAL),
    ]
    with pytest.raises(BaselineError, match="'amount' is Fractional in the statistics: it cannot"):
        baseline.from_model_monitor(stats, types={"amount": CATEGORICAL})
    with pytest.raises(BaselineError, match=r"no feature \['nope'\]"):
        baseline.from_model_monitor(stats, ignore=["nope"])


def test_an_incomplete_sketch_falls_back_to_buckets_with_a_note() -> None:
    converted = loads((FIXTURES / "statistics.json").read_text())
    assert "10 equal-width buckets" in converted.features[0].note


def test_json_lines_with_nested_values_are_categories() -> None:
    columns, rows = read_table(
        '{"a": [1, 2], "b": 1}\n{"a": {"k": 1}, "b": 2}\n{"a": "x", "b": 3}\n'
    )
    built = build(columns, rows)
    assert built.features[0].kind == CATEGORICAL
    assert set(built.features[0].categories) == {"[1,2]", '{"k":1}', "x"}


def test_a_sketch_of_several_levels_gives_edges_near_the_exact_quantiles() -> None:
    """Items of weight 1, 4 and 8 side by side, as a KLL sketch's compactors hold them."""
    import numpy as np

    rng = np.random.default_rng(9)
    values = rng.lognormal(2, 1, 20_000)
    parts = np.split(rng.permutation(values), [2_000, 18_000])
    data: list[list[float]] = [sorted(parts[0].tolist()), [], [], []]
    data[2] = sorted(parts[1].tolist())[2::4]
    data[3] = sorted(parts[2].tolist())[4::8]
    stats = {
        "version": 0,
        "dataset": {"item_count": 20_000},
        "features": [
            {
                "name": "amount",
                "inferred_type": "Fractional",
                "numerical_statistics": {
                    "common": {"num_present": 20_000, "num_missing": 0},
                    "distribution": {"kll": {"buckets": [], "sketch": {"data": data}}},
                },
            }
        ],
    }
    (amount,) = baseline.from_model_monitor(stats).features
    points = [0.01, 0.025, 0.05, *(i / 10 for i in range(1, 10)), 0.95, 0.975, 0.99]
    ranks = np.searchsorted(np.sort(values), amount.edges) / len(values)
    assert np.max(np.abs(ranks - np.array(points))) < 0.01
    assert sum(amount.counts) == 20_000
