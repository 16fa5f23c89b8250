"""The statistics against hand-computed values and against numpy/scipy."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from cdk_sagemaker_hosting._lambda.drift import stats
from scipy.spatial.distance import jensenshannon

from tests.drift.helpers import numpy_psi


def test_psi_by_hand() -> None:
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5)
    assert stats.psi([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)
    assert stats.psi([10, 20, 30], [20, 40, 60]) == 0.0


def test_psi_gives_empty_bins_epsilon() -> None:
    # e = [1, 1e-4], a = [0.5, 0.5]: -0.5 ln 0.5 + 0.4999 ln(0.5 / 1e-4)
    assert stats.psi([100, 0], [50, 50], epsilon=1e-4) == pytest.approx(4.604319, abs=1e-6)
    assert stats.psi([100, 0], [50, 50], epsilon=1e-3) < stats.psi([100, 0], [50, 50], 1e-4)


def test_an_empty_bin_counts_half_a_value_of_its_sample() -> None:
    # e = [1, 0.5 / 100], a = [0.5, 0.5]: -0.5 ln 0.5 + 0.495 ln(0.5 / 0.005)
    assert stats.psi([100, 0], [50, 50]) == pytest.approx(
        -0.5 * math.log(0.5) + 0.495 * math.log(100), abs=1e-12
    )


@pytest.mark.parametrize("n", [500, 5_000, 50_000, 1_000_000])
def test_an_empty_bin_never_counts_more_than_a_bin_of_one_value(n: int) -> None:
    """A fixed 1e-4 does, past 10,000 values: an empty bin then weighs more than a full one."""
    share = 0.1
    baseline = [900_000, 100_000]
    empty = stats.psi(baseline, [n, 0])
    one = stats.psi(baseline, [n - 1, 1])
    assert empty > one  # losing the last value of a bin is more drift, never less
    assert empty == pytest.approx(numpy_psi(baseline, [n, 0]), abs=1e-12)
    fixed_empty = stats.psi(baseline, [n, 0], epsilon=1e-4)
    fixed_one = stats.psi(baseline, [n - 1, 1], epsilon=1e-4)
    assert (fixed_empty > fixed_one) is (1 / n > 1e-4)
    assert empty > 0.2 and share > 0  # a bin of 10 % emptied drifts at every window size


def test_js_distance_by_hand_base_2() -> None:
    assert stats.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    # m = [0.75, 0.25]; JSD = (0.143841 + 0.287682) / 2 nats = 0.311278 bits
    assert stats.js_distance([1, 1], [1, 0]) == pytest.approx(math.sqrt(0.311278), abs=1e-6)
    assert stats.js_distance([3, 3], [1, 1]) == 0.0


def test_linf_by_hand() -> None:
    assert stats.linf_distance([1, 1], [1, 0]) == 0.5
    assert stats.linf_distance([2, 1, 1], [1, 1, 2]) == pytest.approx(0.25)


def test_mismatched_bins_are_an_error() -> None:
    with pytest.raises(ValueError, match="2 baseline bins against 3 observed"):
        stats.psi([1, 1], [1, 1, 1])


@pytest.mark.parametrize("seed", range(5))
def test_against_numpy_and_scipy(seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    expected = [rng.randint(0, 500) for _ in range(12)]
    actual = [rng.randint(0, 500) for _ in range(12)]
    expected[3] = actual[5] = 0  # empty bins on both sides
    e = np.array(expected, dtype=float) / sum(expected)
    a = np.array(actual, dtype=float) / sum(actual)
    e_eps, a_eps = np.where(e == 0, 1e-4, e), np.where(a == 0, 1e-4, a)
    assert stats.psi(expected, actual, 1e-4) == pytest.approx(
        float(np.sum((a_eps - e_eps) * np.log(a_eps / e_eps))), abs=1e-12
    )
    e_half = np.where(e == 0, 0.5 / sum(expected), e)
    a_half = np.where(a == 0, 0.5 / sum(actual), a)
    assert stats.psi(expected, actual) == pytest.approx(
        float(np.sum((a_half - e_half) * np.log(a_half / e_half))), abs=1e-12
    )
    assert stats.js_distance(expected, actual) == pytest.approx(
        float(jensenshannon(e, a, base=2)), abs=1e-12
    )
    assert stats.linf_distance(expected, actual) == pytest.approx(
        float(np.max(np.abs(e - a))), abs=1e-15
    )


def test_quantile_edges_match_numpy_and_drop_ties() -> None:
    rng = random.Random(3)  # noqa: S311 - reproducible test data
    values = sorted(rng.gauss(0, 1) for _ in range(1001))
    edges = stats.quantile_edges(values, 10)
    assert edges == pytest.approx(list(np.quantile(values, np.arange(1, 10) / 10)), abs=1e-12)
    flags = sorted([0.0] * 90 + [1.0] * 10)
    # deciles 1-8 are all 0.0: one edge; the 9th interpolates between 0 and 1
    assert stats.quantile_edges(flags, 10) == pytest.approx([0.0, 0.1])


def test_bin_counts_match_searchsorted_right() -> None:
    rng = random.Random(5)  # noqa: S311 - reproducible test data
    edges = [-1.0, 0.0, 0.5, 2.0]
    values = [rng.choice([-1.0, 0.0, 0.5, 2.0, 3.0, -5.0, rng.gauss(0, 1)]) for _ in range(500)]
    expected = np.bincount(np.searchsorted(edges, values, side="right"), minlength=5)
    assert stats.bin_counts(sorted(values), edges) == list(expected)


def test_values_outside_the_baseline_range_land_in_the_end_bins() -> None:
    assert stats.bin_counts([-1e9, 1e9], [0.0, 1.0]) == [1, 0, 1]
