"""The drift statistics: quantile bin edges, PSI, Jensen-Shannon distance, L-infinity.

Every function takes counts (not proportions), so a check can sum the counts
of many workers first and score once. Logarithms are natural for PSI and
base 2 for the Jensen-Shannon distance, which is then bounded by 0 and 1
(``scipy.spatial.distance.jensenshannon(p, q, base=2)`` gives the same value).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

#: Proportion given to an empty bin so that PSI stays finite (evidently's choice).
DEFAULT_EPSILON = 1e-4
#: Bins of a numeric feature. Default of most PSI practice: deciles.
DEFAULT_BINS = 10


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


def quantile_edges(sorted_values: Sequence[float], bins: int = DEFAULT_BINS) -> list[float]:
    """Interior bin edges at the ``1/bins ... (bins-1)/bins`` quantiles, duplicates dropped.

    A feature with few distinct values (a flag, a count) has tied quantiles:
    its bins are fewer, never empty by construction.
    """
    edges: list[float] = []
    for i in range(1, bins):
        edge = quantile(sorted_values, i / bins)
        if not edges or edge > edges[-1]:
            edges.append(edge)
    return edges


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


def proportions(counts: Sequence[int], epsilon: float = 0.0) -> list[float]:
    """Counts as proportions; an empty bin gets ``epsilon`` (not renormalised)."""
    total = sum(counts)
    if total == 0:
        msg = "proportions of no counts"
        raise ValueError(msg)
    return [c / total if c else epsilon for c in counts]


def psi(expected: Sequence[int], actual: Sequence[int], epsilon: float = DEFAULT_EPSILON) -> float:
    """Population Stability Index: ``sum((a - e) * ln(a / e))`` over bins.

    Empty bins, in either distribution, count as ``epsilon``.
    """
    _same_length(expected, actual)
    e = proportions(expected, epsilon)
    a = proportions(actual, epsilon)
    return math.fsum((ai - ei) * math.log(ai / ei) for ei, ai in zip(e, a, strict=True))


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


def _same_length(expected: Sequence[int], actual: Sequence[int]) -> None:
    if len(expected) != len(actual):
        msg = f"{len(expected)} baseline bins against {len(actual)} observed"
        raise ValueError(msg)
