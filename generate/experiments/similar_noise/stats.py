"""The statistics the similar-noise lessons quote, on plain numbers (no runs, no torch).

Every count the pages give ("k of n pairs") comes with what a fair coin would give (`coin`), so a
reader can tell a tendency from chance; correlations are Pearson's r over (noise distance, output
distance) points; two groups of numbers are told apart by a rank test (`rank_sum`), so a difference
of medians within the groups' spread is not called a difference.
"""

from __future__ import annotations

import math
import statistics

CHANCE = 0.05  # two-sided p-value below which a count is called a tendency rather than chance


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r; None for fewer than three points or a constant series (r is undefined)."""
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def _fair(n: int) -> list[float]:
    """P(X = i) for X ~ Binomial(n, 1/2), i = 0..n (exact: comb / 2^n)."""
    return [math.comb(n, i) / 2**n for i in range(n + 1)]


def coin(k: int, n: int) -> dict:
    """A count k of n measured against a fair coin: the two-sided exact binomial p-value (how often a
    fair coin is at least this far from n / 2), and the range a fair coin lands in 95 % of the time.

    `tendency` is True when p < CHANCE: then `more` says which way (k above n / 2 or below). The pairs a
    lesson counts share their seeds, so they are not fully independent: a p-value that treats them
    as independent flatters the count, and `tendency` is the most a count can claim, not proof.
    """
    if n <= 0:
        return {"k": k, "n": n, "share": None, "p": None, "low": None, "high": None, "tendency": False, "more": None}
    probability = _fair(n)
    far = abs(k - n / 2)
    p = min(1.0, sum(q for i, q in enumerate(probability) if abs(i - n / 2) >= far - 1e-9))
    low, tail = 0, 0.0  # the fair coin's central 95 %: at most 2.5 % below `low`, 2.5 % above `high`
    while tail + probability[low] <= 0.025:
        tail += probability[low]
        low += 1
    return {
        "k": k,
        "n": n,
        "share": k / n,
        "p": p,
        "low": low,
        "high": n - low,
        "tendency": p < CHANCE,
        "more": (k * 2 > n) if p < CHANCE else None,
    }


def interpolate(curve: list[tuple[float, float]], x: float) -> float | None:
    """y of a sorted (x, y) curve at x, linear between neighbours; None outside the curve."""
    for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
        if x0 <= x <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return None


def spread(name: str, values: list[float]) -> dict:
    """Lowest, median and highest of a per-seed quantity, and how many seeds it rests on."""
    if not values:
        return {f"{name}_low": None, f"{name}_median": None, f"{name}_high": None, f"{name}_seeds": 0}
    return {
        f"{name}_low": min(values),
        f"{name}_median": statistics.median(values),
        f"{name}_high": max(values),
        f"{name}_seeds": len(values),
    }


def rank_sum(a: list[float], b: list[float]) -> dict:
    """Do `a` and `b` come from one distribution? The two-sided exact p-value of the Wilcoxon rank-sum
    (Mann-Whitney) test: how often a random split of the pooled values into groups of these sizes
    puts a rank sum at least this far from its mean (ties share their mid-rank). The full permutation
    distribution, counted by sizes and sums, not sampled: 36 against 8 values are 1.8e8 splits.

    `differ` is True when p < CHANCE; `lower` then says whether `a` lies below `b` (by medians). As in
    `coin`, values that share seeds are not fully independent, so `differ` is the most it can claim."""
    if not a or not b:
        return {"p": None, "differ": False, "lower": None}
    pooled = sorted([(value, 0) for value in a] + [(value, 1) for value in b])
    n, m = len(pooled), len(b)
    scores, i = [0] * n, 0  # twice each mid-rank (1-based), so that ties stay whole numbers
    while i < n:
        j = i
        while j + 1 < n and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        scores[i : j + 1] = [i + j + 2] * (j - i + 1)
        i = j + 1
    observed = sum(score for score, (_, group) in zip(scores, pooled) if group == 1)
    ways: list[dict[int, int]] = [{} for _ in range(m + 1)]  # ways[k][s]: k of the values with scores summing to s
    ways[0][0] = 1
    for score in scores:
        for k in range(m - 1, -1, -1):
            for total, count in ways[k].items():
                ways[k + 1][total + score] = ways[k + 1].get(total + score, 0) + count
    mean, far = m * (n + 1), abs(observed - m * (n + 1))
    p = sum(count for total, count in ways[m].items() if abs(total - mean) >= far) / math.comb(n, m)
    return {"p": p, "differ": p < CHANCE, "lower": statistics.median(a) < statistics.median(b) if p < CHANCE else None}
