"""The window's verdict follows its variants' verdicts, so a degraded window always alarms.

Each variant is judged on its own joined records (its metrics, an alarm and
an event); a window is degraded only when a variant is, so no window is
degraded without a ``Degraded`` datapoint of 1, an alarm and a degraded
event. The whole window's merged metrics are reported for information.
"""

from __future__ import annotations

import itertools

import pytest
from cdk_sagemaker_hosting._lambda.quality.counts import new_counts
from cdk_sagemaker_hosting._lambda.quality.records import JoinResult
from cdk_sagemaker_hosting._lambda.quality.report import Constraint, window_report

ACCURACY = [Constraint("accuracy", 0.8, "LessThanThreshold")]


def variant(result: JoinResult, name: str, right: int, wrong: int) -> None:
    """``right`` correct and ``wrong`` wrong binary predictions of ``name``."""
    counts = new_counts("binary")
    counts.add([0.9] * right + [0.9] * wrong, [1] * right + [0] * wrong)
    if counts.records:
        result.counts[name] = counts
    result.predictions[name] = right + wrong
    result.variant_rejected[name] = {}


def window(*variants: tuple[str, int, int], min_records: int = 100) -> dict[str, object]:
    result = JoinResult("binary", new_counts("binary").to_json())
    for name, right, wrong in variants:
        variant(result, name, right, wrong)
    result.labels = result.joined
    return window_report(result, constraints=ACCURACY, min_records=min_records)


def test_variants_each_too_small_leave_the_window_insufficient_though_merged_it_breaks() -> None:
    """60 + 60 records at min_records 100: no variant is judged, so neither is the window."""
    report = window(("A", 30, 30), ("B", 30, 30))
    assert {v: p["verdict"] for v, p in report["variants"].items()} == {  # type: ignore[attr-defined]
        "A": "insufficient_data",
        "B": "insufficient_data",
    }
    assert report["verdict"] == "insufficient_data"
    # The merged metrics are still reported, but judge nothing.
    assert report["records"]["joined"] == 120  # type: ignore[index]
    assert report["metrics"]["accuracy"] == 0.5  # type: ignore[index]
    # Each variant's broken threshold is listed (as in its own part), on too few records to judge.
    assert [(v["variant"], v["metric"]) for v in report["violations"]] == [  # type: ignore[attr-defined]
        ("A", "accuracy"),
        ("B", "accuracy"),
    ]


@pytest.mark.parametrize(
    ("variants", "verdict"),
    [
        ((("A", 200, 0), ("B", 200, 0)), "ok"),
        ((("A", 200, 0), ("B", 20, 180)), "degraded"),
        ((("A", 200, 0), ("B", 10, 40)), "insufficient_data"),  # B served traffic, not judged
        ((("A", 200, 0), ("B", 0, 0)), "ok"),  # B served no traffic (a weight of 0)
        ((("A", 20, 180), ("B", 10, 40)), "degraded"),
        ((("A", 150, 0), ("B", 0, 90)), "insufficient_data"),  # merged: 0.625, degraded
        ((), "insufficient_data"),
    ],
)
def test_the_window_verdict_follows_the_variants(
    variants: tuple[tuple[str, int, int], ...], verdict: str
) -> None:
    assert window(*variants)["verdict"] == verdict


def test_no_window_is_degraded_without_a_degraded_variant() -> None:
    sizes = [(0, 0), (30, 30), (60, 0), (90, 60), (200, 0), (20, 180)]
    for a, b in itertools.product(sizes, repeat=2):
        report = window(("A", *a), ("B", *b))
        parts = report["variants"].values()  # type: ignore[attr-defined]
        assert (report["verdict"] == "degraded") == any(
            p["verdict"] == "degraded" for p in parts
        ), (a, b)
