"""Baselines of big training sets: bounded memory, edges from a sample within the stated bound."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import Iterator

import numpy as np
import pytest
from cdk_sagemaker_hosting._lambda.drift import stats
from cdk_sagemaker_hosting._lambda.drift.baseline import build


def rows_of(n: int, seed: int = 5) -> Iterator[list[str]]:
    rng = np.random.default_rng(seed)
    for start in range(0, n, 10_000):
        size = min(10_000, n - start)
        amounts = rng.lognormal(3, 1, size)
        ages = rng.integers(18, 90, size)
        flags = rng.random(size) < 0.1
        for a, g, f in zip(amounts, ages, flags, strict=True):
            yield [f"{a:.4f}", str(g), "1" if f else "0", "CA" if f else "NY"]


COLUMNS = ["amount", "age", "flag", "state"]


@pytest.mark.parametrize("sample_rows", [2_000, 20_000])
def test_edges_from_a_sample_are_within_the_dkw_bound_and_counts_are_exact(
    sample_rows: int,
) -> None:
    """Each edge's exact rank in the whole data is within eps of its quantile.

    Dvoretzky-Kiefer-Wolfowitz: P(sup |F_m - F| > eps) <= 2 exp(-2 m eps^2);
    eps is taken for a failure probability of 1e-6.
    """
    n = 100_000
    values = np.array([float(r[0]) for r in rows_of(n)])
    built = build(COLUMNS, lambda: rows_of(n), sample_rows=sample_rows)
    amount = built.features[0]
    eps = math.sqrt(math.log(2 / 1e-6) / (2 * sample_rows))
    points = stats.quantile_points(10)
    assert len(amount.edges) == len(points)
    ranks = np.searchsorted(np.sort(values), amount.edges, side="left") / n
    assert np.max(np.abs(ranks - points)) <= eps
    exact = np.quantile(values, points)
    assert list(amount.edges) != list(exact)  # a sample, not the whole data
    # The counts per bin are exact: a second pass over every row.
    k = len(amount.edges) + 1
    expected = np.bincount(np.searchsorted(amount.edges, values, side="right"), minlength=k)
    assert list(amount.counts) == expected.tolist()
    # Few distinct values are found exactly, whatever the sample.
    whole = build(COLUMNS, list(rows_of(n)))
    assert built.features[2] == whole.features[2] and built.features[3] == whole.features[3]


def test_a_sample_the_size_of_the_data_gives_exact_quantiles() -> None:
    n = 20_000
    values = [float(r[0]) for r in rows_of(n)]
    built = build(COLUMNS, lambda: rows_of(n), sample_rows=n)
    exact = np.quantile(values, stats.quantile_points(10))
    assert list(built.features[0].edges) == pytest.approx(list(exact), abs=1e-12)


def test_memory_does_not_grow_with_the_rows() -> None:
    def peak(n: int) -> int:
        tracemalloc.start()
        build(COLUMNS, lambda: rows_of(n), sample_rows=5_000)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(20_000), peak(100_000)
    assert large < 1.3 * small, (small, large)
