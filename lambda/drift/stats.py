"""The drift statistics: bin edges, PSI, Jensen-Shannon distance, L-infinity.

Every function takes counts (not proportions), so a check can sum the counts
of many workers first and score once. Logarithms are natural for PSI and
base 2 for the Jensen-Shannon distance, which is then bounded by 0 and 1
(``scipy.spatial.distance.jensenshannon(p, q, base=2)`` gives the same value).

Bins of a numeric feature (:func:`numeric_edges`):

* a feature of few distinct values (a flag, a one-hot column, a small count)
  gets one bin per value, so every change of its distribution shows;
* a value holding at least a bin's share of the data (the zeros of a
  zero-inflated amount) gets a bin of its own;
* the rest is cut at its deciles, plus tail bins at the 1, 2.5 and 5 %
  quantiles on each side, which make PSI react to a change of spread: a
  standard deviation 1.5 times larger scores 0.30 rather than 0.19 with
  deciles alone (the default threshold is 0.2).

A bin holding exactly the value ``v`` is ``[v, nextafter(v, inf))``, so bins
stay a plain list of edges, counted with ``searchsorted(edges, x, side="right")``.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

#: Equal-quantile bins of a continuous feature (before tail bins): deciles.
DEFAULT_BINS = 10
#: Extra quantiles in each tail (and 1 minus each), so changes of spread show.
TAIL_QUANTILES = (0.01, 0.025, 0.05)
#: A numeric feature with at most this many distinct values gets a bin per value.
DEFAULT_MAX_DISCRETE = 20
#: Chance margin of :func:`min_sample`: the chi-square quantile chance exceeds
#: once in 10,000 windows (its normal deviate, 3.719) must score under the threshold.
CHANCE_Z = 3.719


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, linearly interpolated (numpy's default method)."""
    n = len(sorted_values)
    if n == 0:
        msg = "quantile of no values"
        raise ValueError(msg)
    position = q * (n - 1)
    low = math.floor(position)
    high = min(low + 1, n - 1)
    fraction = position - low
    lower, upper = sorted_values[low], sorted_values[high]
    return lower + (upper - lower) * fraction if fraction else lower


def quantile_points(bins: int = DEFAULT_BINS, *, tails: bool = True) -> list[float]:
    """The quantiles cut: ``1/bins ... (bins-1)/bins``, and the tail quantiles if ``tails``."""
    points = {i / bins for i in range(1, bins)}
    if tails:
        points |= {q for t in TAIL_QUANTILES for q in (t, 1 - t)}
    return sorted(points)


def quantile_edges(
    sorted_values: Sequence[float], bins: int = DEFAULT_BINS, *, tails: bool = False
) -> list[float]:
    """Interior bin edges at the :func:`quantile_points`, duplicates dropped."""
    edges: list[float] = []
    for q in quantile_points(bins, tails=tails):
        edge = quantile(sorted_values, q)
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


def point_edges(value: float) -> tuple[float, float]:
    """The edges of the bin holding exactly ``value``: ``[value, nextafter(value))``."""
    return value, math.nextafter(value, math.inf)


def runs(sorted_values: Sequence[float]) -> list[tuple[float, int]]:
    """Each distinct value of sorted values and how often it occurs, in order."""
    out: list[tuple[float, int]] = []
    i, n = 0, len(sorted_values)
    while i < n:
        value = sorted_values[i]
        j = bisect_left(sorted_values, math.nextafter(value, math.inf), i)
        out.append((value, j - i))
        i = j
    return out


def numeric_edges(
    sorted_sample: Sequence[float],
    bins: int = DEFAULT_BINS,
    *,
    distinct: Sequence[float] | None = None,
    tails: bool = True,
) -> list[float]:
    """Bin edges of a numeric feature (see the module's docstring).

    ``sorted_sample``: the feature's values, or a uniform sample of them
    (quantiles and point masses come from it). ``distinct``: every distinct
    value of the whole data when there are few (:func:`discrete_values`;
    a bin each), else ``None``.
    """
    if distinct is not None:
        return sorted({e for v in distinct for e in point_edges(v)})
    if not sorted_sample:
        return []
    counted = runs(sorted_sample)
    n = len(sorted_sample)
    heavy = {v for v, c in counted if c * bins >= n}
    light = [v for v in sorted_sample if v not in heavy] if heavy else list(sorted_sample)
    edges = {e for v in heavy for e in point_edges(v)}
    if light:
        light_bins = max(1, round(bins * len(light) / n))
        edges.update(quantile_edges(light, light_bins, tails=tails and 2 * light_bins >= bins))
    return sorted(edges)


def discrete_values(
    sorted_values: Sequence[float], max_discrete: int = DEFAULT_MAX_DISCRETE
) -> list[float] | None:
    """The distinct values of sorted values when at most ``max_discrete``, else ``None``."""
    values: list[float] = []
    i, n = 0, len(sorted_values)
    while i < n:
        if len(values) == max_discrete:
            return None
        values.append(sorted_values[i])
        i = bisect_left(sorted_values, math.nextafter(sorted_values[i], math.inf), i)
    return values


def bin_counts(sorted_values: Sequence[float], edges: Sequence[float]) -> list[int]:
    """Counts per bin of sorted values: bin ``i`` holds ``edges[i-1] <= x < edges[i]``.

    The first bin is open below and the last open above, so values outside
    the baseline's range land in the end bins. Equivalent to counting
    ``bisect_right(edges, x)`` (``numpy.searchsorted(edges, x, side="right")``).
    """
    counts = []
    previous = 0
    for edge in edges:
        position = bisect_left(sorted_values, edge)
        counts.append(position - previous)
        previous = position
    counts.append(len(sorted_values) - previous)
    return counts


def proportions(counts: Sequence[int], epsilon: float | None = 0.0) -> list[float]:
    """Counts as proportions; an empty bin gets ``epsilon`` (not renormalised).

    ``epsilon=None``: an empty bin counts as half a value of its own sample,
    ``0.5 / sum(counts)``, always less than any bin holding a value.
    """
    total = sum(counts)
    if total == 0:
        msg = "proportions of no counts"
        raise ValueError(msg)
    empty = 0.5 / total if epsilon is None else epsilon
    return [c / total if c else empty for c in counts]


def psi(expected: Sequence[int], actual: Sequence[int], epsilon: float | None = None) -> float:
    """Population Stability Index: ``sum((a - e) * ln(a / e))`` over bins.

    An empty bin, in either distribution, counts as ``epsilon``; by default
    (``None``) as half a value of its own sample (see :func:`proportions`).
    A bin empty in both says nothing and is left out.
    """
    _same_length(expected, actual)
    e = proportions(expected, epsilon)
    a = proportions(actual, epsilon)
    return math.fsum(
        (ai - ei) * math.log(ai / ei)
        for ei, ai, ce, ca in zip(e, a, expected, actual, strict=True)
        if ce or ca
    )


def js_distance(expected: Sequence[int], actual: Sequence[int]) -> float:
    """Jensen-Shannon distance, base 2: ``sqrt(JSD)`` in ``[0, 1]``.

    ``JSD = (KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2``; empty
    categories contribute nothing (no epsilon is needed).
    """
    _same_length(expected, actual)
    p = proportions(expected)
    q = proportions(actual)
    terms = []
    for pi, qi in zip(p, q, strict=True):
        m = (pi + qi) / 2
        if pi:
            terms.append(pi * math.log(pi / m))
        if qi:
            terms.append(qi * math.log(qi / m))
    divergence = max(math.fsum(terms) / 2, 0.0) / math.log(2)
    return math.sqrt(divergence)


def linf_distance(expected: Sequence[int], actual: Sequence[int]) -> float:
    """L-infinity distance: the largest difference of proportions (Model Monitor's)."""
    _same_length(expected, actual)
    p = proportions(expected)
    q = proportions(actual)
    return max(abs(pi - qi) for pi, qi in zip(p, q, strict=True))


def min_sample(metric: str, threshold: float, expected: Sequence[int]) -> float:
    """The fewest live values for which chance alone stays under ``threshold``.

    With no drift, ``chi2 = sum((a - e)^2 / e)`` over the ``k`` non-empty
    baseline bins is about chi-square(k - 1) times ``1/n + 1/n_e`` (``n`` live
    values, ``n_e`` baseline ones). PSI is about ``chi2``, the Jensen-Shannon
    divergence (bits) about ``chi2 / (8 ln 2)``, and L-infinity squared at
    most ``max(e) * chi2``. The sample is large enough when the chi-square's
    quantile of 1 - 1e-4 (Wilson and Hilferty's approximation, :data:`CHANCE_Z`)
    scores under the threshold. ``inf`` when even an endless window cannot
    (the baseline is too small for its number of bins).
    """
    n_e = sum(expected)
    k = sum(1 for c in expected if c)
    if k <= 1 or n_e == 0:
        return 0.0
    df = k - 1
    chi2 = df * (1 - 2 / (9 * df) + CHANCE_Z * math.sqrt(2 / (9 * df))) ** 3
    if metric == "psi":
        room = threshold
    elif metric == "jensen_shannon":
        room = 8 * math.log(2) * threshold**2
    else:
        room = threshold**2 / (max(expected) / n_e)
    per_value = room / chi2 - 1 / n_e
    return math.inf if per_value <= 0 else 1 / per_value


def _same_length(expected: Sequence[int], actual: Sequence[int]) -> None:
    if len(expected) != len(actual):
        msg = f"{len(expected)} baseline bins against {len(actual)} observed"
        raise ValueError(msg)
