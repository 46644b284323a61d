"""The measures of agreement: pure functions over counts (F1, Cohen's kappa, nominal
Krippendorff's alpha, overlap matching, MUC and B-cubed, unitizing alpha), with no knowledge of
layers or of the ontology, so that each is tested against hand-computed and published values."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Iterable, Mapping


def f1(n_a: int, n_b: int, matched: int) -> float | None:
    return None if n_a + n_b == 0 else 2 * matched / (n_a + n_b)


def weighted(items) -> list[tuple[tuple, int]]:
    """(item, how many times) from a list of items or from a Counter of them: tallies keep counts,
    not every item, so that memory does not grow with the corpus."""
    return list(items.items()) if isinstance(items, Mapping) else list(Counter(items).items())


def cohen_kappa(pairs) -> float | None:
    """Cohen's kappa for two annotators' values on the same items (a list of pairs or a Counter of
    them); None when chance agreement is 1."""
    counted = weighted(pairs)
    n = sum(w for _, w in counted)
    if not n:
        return None
    observed = sum(w for (a, b), w in counted if a == b) / n
    count_a: dict = {}
    count_b: dict = {}
    for (a, b), w in counted:
        count_a[a] = count_a.get(a, 0) + w
        count_b[b] = count_b.get(b, 0) + w
    expected = sum(count_a[v] * count_b.get(v, 0) for v in count_a) / (n * n)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)



def krippendorff_alpha(items) -> float | None:
    """Nominal Krippendorff's alpha over items given as tuples with None for a missing value (a list
    of them or a Counter), from the coincidence counts: 1 - (n - 1) * sum(o_ck, c != k) / (n^2 - sum(n_c^2)).

    Summed here rather than by the krippendorff package, whose units-by-values and values-by-values
    matrices grow too large with many distinct values (e.g. normalized dates); the tests check
    both give the same alpha. None when fewer than two values occur (chance agreement is 1)."""
    mismatched = 0.0
    totals: dict = {}
    for it, w in weighted(items):
        got = [v for v in it if v is not None]
        m = len(got)
        if m < 2:
            continue
        for v in got:
            totals[v] = totals.get(v, 0) + w
        same = sum(c * (c - 1) for c in _counts(got).values())
        mismatched += w * (m * (m - 1) - same) / (m - 1)
    n = sum(totals.values())
    expected = n * n - sum(c * c for c in totals.values())
    if n < 2 or expected <= 0:
        return None
    return 1 - (n - 1) * mismatched / expected


def _counts(values: list) -> dict:
    out: dict = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def overlap_matches(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """One-to-one matches between overlapping spans, largest overlap first (ties: leftmost)."""
    candidates = []
    for i, (s1, e1) in enumerate(a):
        for j, (s2, e2) in enumerate(b):
            ov = min(e1, e2) - max(s1, s2)
            if ov > 0:
                candidates.append((-ov, s1, s2, i, j))
    candidates.sort()
    used_a, used_b = set(), set()
    for _, _, _, i, j in candidates:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
    return len(used_a)


def muc(key: list[set], response: list[set]) -> tuple[int, int]:
    """MUC recall counts of `response` against `key`: (sum |K| - |p(K)|, sum |K| - 1)."""
    where = {m: i for i, c in enumerate(response) for m in c}
    num = den = 0
    for cluster in key:
        parts = {where.get(m, ("single", m)) for m in cluster}
        num += len(cluster) - len(parts)
        den += len(cluster) - 1
    return num, den


def b_cubed(key: list[set], response: list[set], mentions: Iterable[str]) -> tuple[float, float, int]:
    """B-cubed sums over mentions: (sum of precisions, sum of recalls, number of mentions)."""
    k = {m: c for c in key for m in c}
    r = {m: c for c in response for m in c}
    p_sum = r_sum = 0.0
    n = 0
    for m in mentions:
        kc, rc = k.get(m, {m}), r.get(m, {m})
        common = len(kc & rc)
        p_sum += common / len(rc)
        r_sum += common / len(kc)
        n += 1
    return p_sum, r_sum, n


def restrict(clusters: list[set], keep: set) -> list[set]:
    """Clusters cut down to the mentions in `keep`; those left with one mention are dropped."""
    out = [c & keep for c in clusters]
    return [c for c in out if len(c) >= 2]



# -- Krippendorff's unitizing alpha --------------------------------------------------------


def segments(units: Iterable[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int, bool]]:
    """Partition [begin, end) into (start, length, is_unit) segments; overlapping (not touching) units merge."""
    merged: list[list[int]] = []
    for s, e in sorted((max(s, begin), min(e, end)) for s, e in units):
        if e <= s:
            continue
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    out, pos = [], begin
    for s, e in merged:
        if s > pos:
            out.append((pos, s - pos, False))
        out.append((s, e - s, True))
        pos = e
    if pos < end:
        out.append((pos, end - pos, False))
    return out


def unitizing_distance(g: tuple[int, int, bool], h: tuple[int, int, bool]) -> int:
    """Krippendorff's squared distance between two overlapping segments of two coders."""
    (bg, lg, ug), (bh, lh, uh) = g, h
    if ug and uh:
        if -lg < bg - bh < lh:
            return (bg - bh) ** 2 + (bg + lg - bh - lh) ** 2
        return 0
    if ug and not uh and lh - lg >= bg - bh >= 0:
        return lg * lg
    if uh and not ug and lg - lh >= bh - bg >= 0:
        return lh * lh
    return 0


def unitizing_observed(a: list[tuple[int, int, bool]], b: list[tuple[int, int, bool]]) -> int:
    """Sum of squared distances over overlapping segment pairs of two coders (both partition one continuum)."""
    total = i = j = 0
    while i < len(a) and j < len(b):
        total += unitizing_distance(a[i], b[j])
        if a[i][0] + a[i][1] <= b[j][0] + b[j][1]:
            i += 1
        else:
            j += 1
    return total


@dataclass
class Unitizing:
    """Additive parts of u-alpha for one category: documents add up as one continuum cut at their borders.

    Units and gaps are kept as counts per length (length -> how many), not one entry per segment:
    a length is at most a document's, so the tally stays small however many documents are added."""

    coders: int
    observed: int = 0  # sum of squared distances over ordered coder pairs
    length: int = 0
    units: Counter = field(default_factory=Counter)  # unit length -> count
    gaps: Counter = field(default_factory=Counter)  # gap length -> count

    def add(self, other: "Unitizing") -> None:
        if other.coders != self.coders:
            raise ValueError("unitizing tallies of different numbers of coders")
        self.observed += other.observed
        self.length += other.length
        self.units.update(other.units)
        self.gaps.update(other.gaps)

    def copy(self) -> "Unitizing":
        return Unitizing(self.coders, self.observed, self.length, Counter(self.units), Counter(self.gaps))

    def disagreements(self) -> tuple[float, float]:
        """(observed, expected) disagreement per Krippendorff (2004), summed in integers (exact)."""
        m, big_l = self.coders, self.length
        if not big_l or m < 2:
            return 0.0, 0.0
        observed = self.observed / (m * (m - 1) * big_l * big_l)
        n = sum(self.units.values())
        if not n:
            return observed, 0.0
        gaps = sorted(self.gaps.items())
        lengths = [g for g, _ in gaps]
        # suffix sums over gaps >= a length: how many, and their total length
        count_from = [0] * (len(gaps) + 1)
        total_from = [0] * (len(gaps) + 1)
        for k in range(len(gaps) - 1, -1, -1):
            g, c = gaps[k]
            count_from[k] = count_from[k + 1] + c
            total_from[k] = total_from[k + 1] + c * g
        num = 0  # 3/2 * big_l times the sum of Krippendorff's numerator terms, an integer
        for lg, c in self.units.items():
            k = bisect.bisect_left(lengths, lg)
            fits = total_from[k] - count_from[k] * (lg - 1)  # sum over gaps >= lg of (gap - lg + 1)
            # (n - 1) / 3 * lg (lg - 1) (2 lg - 1): the product is a multiple of 6, so this is exact
            num += c * ((n - 1) * (lg * (lg - 1) * (2 * lg - 1) // 3) + lg * lg * fits)
        den = m * big_l * (m * big_l - 1) - sum(c * lg * (lg - 1) for lg, c in self.units.items())
        return observed, (2 * num / big_l / den if den > 0 else 0.0)


def unitizing_tally(coders: list[list[tuple[int, int]]], begin: int, end: int) -> Unitizing:
    """The u-alpha parts of one category on one continuum [begin, end) coded by every coder in `coders`."""
    segs = [segments(units, begin, end) for units in coders]
    tally = Unitizing(coders=len(coders), length=end - begin)
    for a, b in combinations(segs, 2):
        tally.observed += 2 * unitizing_observed(a, b)
    for s in segs:
        tally.units.update(length for _, length, is_unit in s if is_unit)
        tally.gaps.update(length for _, length, is_unit in s if not is_unit)
    return tally


def unitizing_alpha(tallies: Iterable[Unitizing]) -> tuple[float | None, float, float]:
    """(alpha, Do, De) over one or more categories: 1 - sum(Do) / sum(De); None when De is 0."""
    do = de = 0.0
    for t in tallies:
        o, e = t.disagreements()
        do += o
        de += e
    return (None if de <= 0 else 1 - do / de), do, de
