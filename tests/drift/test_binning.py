"""Numeric bins: every change of a low-cardinality feature shows, and so do changes of spread.

Each PSI is checked against numpy on the same edges (``searchsorted`` +
``bincount``), and continuous edges against ``numpy.quantile``.
"""

from __future__ import annotations

import numpy as np
import pytest
from cdk_sagemaker_hosting._lambda.drift import stats
from cdk_sagemaker_hosting._lambda.drift.baseline import NUMERIC, Feature, build

from tests.drift.helpers import numpy_psi

THRESHOLD = 0.2


def numpy_binned_psi(edges: list[float], train: np.ndarray, live: np.ndarray) -> float:
    """PSI the straightforward way: numpy bins and proportions."""
    k = len(edges) + 1
    e = np.bincount(np.searchsorted(edges, train, side="right"), minlength=k)
    a = np.bincount(np.searchsorted(edges, live, side="right"), minlength=k)
    return numpy_psi(e, a)


def feature_of(train: np.ndarray) -> Feature:
    (feature,) = build(["x"], [[repr(float(x))] for x in train]).features
    assert feature.kind == NUMERIC
    return feature


def score(train: np.ndarray, live: np.ndarray, feature: Feature | None = None) -> float:
    """Our PSI of ``live`` against a baseline built from ``train``, checked against numpy."""
    feature = feature or feature_of(train)
    observed = stats.bin_counts(sorted(live.tolist()), feature.edges)
    ours = stats.psi(feature.counts, observed)
    assert ours == pytest.approx(numpy_binned_psi(list(feature.edges), train, live), abs=1e-12)
    return ours


RNG = np.random.default_rng(12)


def test_a_flag_going_from_5_to_50_percent_ones_drifts() -> None:
    train = (RNG.random(20_000) < 0.05).astype(float)
    assert score(train, (RNG.random(5_000) < 0.05).astype(float)) < 0.01
    assert score(train, (RNG.random(5_000) < 0.5).astype(float)) > 1.0


def test_a_zero_inflated_amount_losing_its_zeros_drifts() -> None:
    def amounts(n: int, zeros: float) -> np.ndarray:
        return np.where(RNG.random(n) < zeros, 0.0, RNG.lognormal(3, 1, n))

    train = amounts(20_000, 0.95)
    assert score(train, amounts(5_000, 0.95)) < 0.05
    assert score(train, amounts(5_000, 0.5)) > 1.0


def test_one_hot_columns_show_traffic_from_one_state() -> None:
    """51 one-hot state columns: all traffic from one state moves every column's mass."""
    states = RNG.integers(0, 51, 20_000)
    ca_column = (states == 5).astype(float)
    assert score(ca_column, (RNG.integers(0, 51, 3_000) == 5).astype(float)) < 0.05
    assert score(ca_column, np.ones(3_000)) > 1.0  # every request from state 5
    assert score((states == 6).astype(float), np.zeros(3_000)) < THRESHOLD  # the 50 others


def test_small_counts_get_a_bin_per_value_and_new_values_show() -> None:
    train = RNG.poisson(1.0, 20_000).astype(float)
    (feature,) = build(["x"], [[str(int(x))] for x in train]).features
    values = sorted(set(train.tolist()))
    assert [e for e in feature.edges if e in values] == values  # one bin each
    assert score(train, RNG.poisson(1.0, 3_000).astype(float)) < 0.05
    assert score(train, RNG.poisson(1.6, 3_000).astype(float)) > THRESHOLD


def test_a_value_holding_a_bins_share_gets_its_own_bin() -> None:
    train = np.where(RNG.random(20_000) < 0.3, 7.0, RNG.normal(0, 1, 20_000))
    (feature,) = build(["x"], [[repr(float(x))] for x in train]).features
    i = feature.edges.index(7.0)
    assert feature.edges[i + 1] == np.nextafter(7.0, np.inf)
    assert feature.counts[i + 1] == int(np.sum(train == 7.0))


def test_continuous_edges_are_numpy_quantiles_with_tails() -> None:
    train = RNG.normal(0, 1, 10_001)
    (feature,) = build(["x"], [[repr(float(x))] for x in train]).features
    points = [0.01, 0.025, 0.05, *(np.arange(1, 10) / 10), 0.95, 0.975, 0.99]
    assert list(feature.edges) == pytest.approx(list(np.quantile(train, points)), abs=1e-12)


@pytest.mark.parametrize(("sd", "drifts"), [(1.0, False), (1.15, False), (1.5, True), (2.0, True)])
def test_a_change_of_spread_drifts_at_the_default_threshold(sd: float, drifts: bool) -> None:
    """A standard deviation 1.5 times larger: PSI 0.30 here, 0.19 with deciles alone."""
    train = RNG.normal(0, 1, 50_000)
    live = RNG.normal(0, sd, 20_000)
    assert (score(train, live) >= THRESHOLD) is drifts
    deciles = stats.quantile_edges(sorted(train.tolist()), 10)
    if sd == 1.5:
        assert numpy_binned_psi(deciles, train, live) < THRESHOLD <= score(train, live)


def test_the_same_distribution_stays_far_below_the_threshold_at_500_records() -> None:
    """More bins cost nothing in false alarms at the minimum window (500 records)."""
    train = RNG.normal(0, 1, 50_000)
    feature = feature_of(train)
    worst = max(score(train, RNG.normal(0, 1, 500), feature) for _ in range(300))
    assert worst < THRESHOLD


def test_discrete_values_helper() -> None:
    assert stats.discrete_values([0.0, 0.0, 1.0, 1.0, 1.0]) == [0.0, 1.0]
    assert stats.discrete_values([float(i) for i in range(21)]) is None
    assert stats.runs([1.0, 1.0, 2.0]) == [(1.0, 2), (2.0, 1)]
