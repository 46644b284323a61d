"""agree: inter-annotator agreement between two or more annotator layers of the same documents.

Metrics are pure functions over counts; a Tally holds the additive counts of one document so that
documents are read one at a time and summed into the overall figures. Every figure is reported
with the counts it was computed from, and n/a (None) where there is nothing to agree on.
"""

from __future__ import annotations

import bisect
from collections import Counter
import math
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Iterable, Mapping

from . import align
from .records import Reader
from .errors import UserError
from .ontology import Ontology, load as load_ontology

ALL = "all"
NONE_VALUE = "(none)"  # an attribute the annotator left unset, compared like any other value

MEASURES = {
    "entity_exact": "entity span F1, exact",
    "entity_overlap": "entity span F1, overlap",
    "entity_ualpha": "entity spans, unitizing alpha",
    "trigger": "event trigger F1",
    "trigger_ualpha": "event triggers, unitizing alpha",
    "argument": "argument F1",
    "entity_attribute": "entity attribute",
    "event_attribute": "event attribute",
    "coref_entity_muc": "entity coreference MUC F1",
    "coref_entity_b3": "entity coreference B-cubed F1",
    "coref_event_muc": "event coreference MUC F1",
    "coref_event_b3": "event coreference B-cubed F1",
}

LEGEND = [
    "Items align on keys, never on annotator ids: entities on (type, start, end); events on (type, trigger start, end); "
    "arguments on (event key, role, filler entity key), so a filler matches only through an exactly aligned entity.",
    "F1 = 2 * matched / (n_a + n_b) for a pair of annotators (precision and recall of one against the other); "
    "with more than two annotators the figure is the mean over pairs. Counts are summed over documents (micro).",
    "Overlap F1: same type and overlapping spans, matched one-to-one, largest overlap first.",
    "Attributes are compared on items both (all) annotators have; an unset attribute counts as the value '(none)'. "
    "Two annotators: Cohen's kappa (computed here); more: Krippendorff's alpha, nominal (the 'krippendorff' package; "
    "the same coincidence formula summed here when more than 200 distinct values occur). "
    "n/a when fewer than two distinct values occur (chance agreement is 1).",
    "Coreference is compared on mentions both annotators have, each annotator's clusters restricted to them: "
    "MUC (Vilain et al. 1995, link based) and B-cubed (Bagga and Baldwin 1998, over every shared mention, singletons "
    "included); both n/a when neither annotator links any two shared mentions.",
    "Unitizing alpha: Krippendorff's u-alpha (Krippendorff 2004, Content Analysis, 2nd ed.) over the "
    "document text as continuum, one category per type, computed by this project (no maintained library provides it; "
    "tested against Krippendorff's worked examples, e.g. alpha = 0.859). Overlapping spans of one type by one annotator are "
    "merged; documents are concatenated into one continuum; 'all' is 1 - sum(Do) / sum(De) over types.",
    "n/a: no items on either side (or no variation); never read as 1.0.",
]


# -- pure metrics --------------------------------------------------------------------------


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
    """Nominal Krippendorff's alpha over items given as tuples with None for a missing value.

    Computed by the krippendorff package from value counts; with very many distinct values (e.g.
    normalized dates) its values-by-values matrices grow too large, and the same coincidence
    formula is summed here directly (tests check that both agree).
    """
    pairable = [(it, w) for it, w in weighted(items) if sum(v is not None for v in it) >= 2]
    values = sorted({v for it, _ in pairable for v in it if v is not None}, key=repr)
    if len(values) < 2:
        return None
    units = sum(w for _, w in pairable)
    if len(values) > MAX_PACKAGE_VALUES or units > MAX_PACKAGE_UNITS:
        return nominal_alpha(dict(pairable))
    import krippendorff
    import numpy as np

    code = {v: i for i, v in enumerate(values)}
    counts = np.zeros((units, len(values)))
    u = 0
    for it, w in pairable:
        for _ in range(w):
            for v in it:
                if v is not None:
                    counts[u, code[v]] += 1
            u += 1
    return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))


MAX_PACKAGE_VALUES = 200
MAX_PACKAGE_UNITS = 50_000  # above this, the package's units-by-values matrix is summed here directly


def nominal_alpha(items) -> float | None:
    """Nominal alpha from the coincidence counts: 1 - (n - 1) * sum(o_ck, c != k) / (n^2 - sum(n_c^2))."""
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


# -- tallies of one document, summed over documents ----------------------------------------


@dataclass
class Tally:
    """Additive counts; keys carry (measure, label, pair) so documents sum without recomputation."""

    f1: dict[tuple, list[int]] = field(default_factory=dict)  # -> [n_a, n_b, matched]
    attrs: dict[tuple, Counter] = field(default_factory=dict)  # (measure, label) -> Counter of item value tuples
    coref: dict[tuple, list[float]] = field(default_factory=dict)  # -> muc r_num r_den p_num p_den, b3 p r n
    units: dict[tuple, Unitizing] = field(default_factory=dict)

    def add(self, other: "Tally") -> None:
        for key, c in other.f1.items():
            mine = self.f1.setdefault(key, [0, 0, 0])
            for i in range(3):
                mine[i] += c[i]
        for key, items in other.attrs.items():
            self.attrs.setdefault(key, Counter()).update(items)
        for key, c in other.coref.items():
            mine = self.coref.setdefault(key, [0.0] * len(c))
            for i, v in enumerate(c):
                mine[i] += v
        for key, u in other.units.items():
            if key in self.units:
                self.units[key].add(u)
            else:
                self.units[key] = u.copy()


def by_label(keys: Iterable[str], label_of) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for k in keys:
        out.setdefault(label_of(k), set()).add(k)
    return out


def add_f1(tally: Tally, measure: str, labels: Iterable[str], pair: str, a: dict, b: dict, match) -> None:
    total = [0, 0, 0]
    for label in labels:
        ka, kb = a.get(label, set()), b.get(label, set())
        counts = [len(ka), len(kb), match(ka, kb)]
        tally.f1[(measure, label, pair)] = counts
        for i in range(3):
            total[i] += counts[i]
    tally.f1[(measure, ALL, pair)] = total


def _spans(mentions: dict[str, dict], keys: set[str], span) -> list[tuple[int, int]]:
    return [span(mentions[k]) for k in sorted(keys)]


def _entity_span(e: dict) -> tuple[int, int]:
    return e["start"], e["end"]


def _trigger_span(e: dict) -> tuple[int, int]:
    return e["trigger"]["start"], e["trigger"]["end"]


def _pair_tally(tally: Tally, la: align.Layer, lb: align.Layer, length: int, onto: Ontology, unitizing: bool = True) -> None:
    """Span, trigger, argument, unitizing and coreference counts of one pair of layers."""
    pair = f"{la.annotator}|{lb.annotator}"
    exact = lambda x, y: len(x & y)  # noqa: E731
    ents = [by_label(lay.entities, lambda k, lay=lay: lay.entities[k]["type"]) for lay in (la, lb)]
    evs = [by_label(lay.events, lambda k, lay=lay: lay.events[k]["type"]) for lay in (la, lb)]
    args = [by_label(lay.arguments, lambda k, lay=lay: lay.arguments[k]["role"]) for lay in (la, lb)]
    add_f1(tally, "entity_exact", onto.entity_names, pair, *ents, exact)
    add_f1(tally, "entity_overlap", onto.entity_names, pair, *ents,
            lambda x, y: overlap_matches(_spans(la.entities, x, _entity_span), _spans(lb.entities, y, _entity_span)))
    add_f1(tally, "trigger", onto.event_names, pair, *evs, exact)
    add_f1(tally, "argument", onto.role_names, pair, *args, exact)
    for measure, groups, labels, pool, span in (
        ("entity_ualpha", ents, onto.entity_names, "entities", _entity_span),
        ("trigger_ualpha", evs, onto.event_names, "events", _trigger_span),
    ) if unitizing else ():
        for label in labels:
            coded = [_spans(getattr(lay, pool), g.get(label, set()), span) for lay, g in zip((la, lb), groups)]
            tally.units[(measure, label, pair)] = unitizing_tally(coded, 0, length)
    for kind in ("entity", "event"):
        common = set(la.mentions(kind)) & set(lb.mentions(kind))
        ca, cb = (restrict(lay.entity_clusters if kind == "entity" else lay.event_clusters, common) for lay in (la, lb))
        r_num, r_den = muc(ca, cb)
        p_num, p_den = muc(cb, ca)
        p, r, n = b_cubed(ca, cb, sorted(common))
        tally.coref[(f"coref_{kind}", ALL, pair)] = [r_num, r_den, p_num, p_den, p, r, n, len(common)]


def f1_figures(layers: dict[str, align.Layer], onto: Ontology, measures: Iterable[str]) -> dict[str, float | None]:
    """measure -> the F1 over all labels (mean over pairs) of one document, for the exact-match
    measures only (entity_exact, trigger, argument): the same counts and figure as document_tally
    then figures give, without the other measures (status shows only these)."""
    tally = Tally()
    for x, y in combinations(sorted(layers), 2):
        la, lb = layers[x], layers[y]
        pair = f"{la.annotator}|{lb.annotator}"
        for measure in measures:
            pool, field_name, labels = _EXACT[measure](onto)
            groups = [by_label(getattr(lay, pool), lambda k, items=getattr(lay, pool): items[k][field_name]) for lay in (la, lb)]
            add_f1(tally, measure, labels, pair, *groups, lambda a, b: len(a & b))
    return {measure: _f1_row(tally, measure, ALL)["value"] for measure in measures}


# measure -> (layer pool, the item's label field, the labels), for f1_figures
_EXACT = {
    "entity_exact": lambda onto: ("entities", "type", onto.entity_names),
    "trigger": lambda onto: ("events", "type", onto.event_names),
    "argument": lambda onto: ("arguments", "role", onto.role_names),
}


def document_tally(layers: dict[str, align.Layer], length: int, annotators: list[str], onto: Ontology,
                   unitizing: bool = True, entity_attributes: bool = True) -> Tally:
    """All counts for one document; `annotators` fixes the order of attribute value tuples.
    Unitizing alpha, the costliest measure, and the entity attributes (most of the attribute
    tuples) can be left out where nobody reads them."""
    tally = Tally()
    for a, b in combinations(sorted(layers), 2):
        _pair_tally(tally, layers[a], layers[b], length, onto, unitizing)
    # attributes of items at least two annotators share, as tuples over all annotators
    for measure, pool, attrs_of in (
        *((("entity_attribute", "entities", align.entity_attributes),) if entity_attributes else ()),
        ("event_attribute", "events", align.event_attributes),
    ):
        keys = sorted({k for lay in layers.values() for k in getattr(lay, pool)})
        for key in keys:
            have = [getattr(layers[n], pool).get(key) if n in layers else None for n in annotators]
            if sum(x is not None for x in have) < 2:
                continue
            values = [attrs_of(onto, item) if item is not None else None for item in have]
            first = next(v for v in values if v is not None)
            for name in first:
                tally.attrs.setdefault((measure, name), Counter())[
                    tuple(None if v is None else (NONE_VALUE if v.get(name) is None else v.get(name)) for v in values)
                ] += 1
    return tally


# -- figures from tallies ------------------------------------------------------------------


def _mean(values: list[float | None]) -> float | None:
    got = [v for v in values if v is not None]
    return sum(got) / len(got) if got else None


def _pairs_of(keys: Iterable[tuple], measure: str, label: str) -> list[str]:
    return sorted({k[2] for k in keys if k[0] == measure and k[1] == label})


def figures(tally: Tally, annotators: list[str], onto: Ontology, scope: int = 2) -> list[dict]:
    """Rows {measure, label, statistic, value, pairs or items} for every measure and label; `scope` is how
    many annotators are compared (two: Cohen's kappa for attributes; more: Krippendorff's alpha)."""
    rows: list[dict] = []
    labels = {
        "entity_exact": onto.entity_names, "entity_overlap": onto.entity_names, "entity_ualpha": onto.entity_names,
        "trigger": onto.event_names, "trigger_ualpha": onto.event_names, "argument": onto.role_names,
    }
    for measure in ("entity_exact", "entity_overlap", "entity_ualpha", "trigger", "trigger_ualpha", "argument"):
        for label in (ALL, *labels[measure]):
            if measure.endswith("ualpha"):
                rows.append(_ualpha_row(tally, measure, label, labels[measure]))
            else:
                rows.append(_f1_row(tally, measure, label))
    for measure, attrs in (("entity_attribute", onto.entity_attributes), ("event_attribute", onto.event_attributes)):
        names = [a.name for a in attrs] + (["normalized"] if measure == "entity_attribute" else [])
        for name in names:
            rows.append(_attr_row(tally.attrs.get((measure, name), Counter()), measure, name, annotators, scope))
    for kind in ("entity", "event"):
        rows += _coref_rows(tally, kind)
    return rows


def _f1_row(tally: Tally, measure: str, label: str) -> dict:
    pairs = []
    for pair in _pairs_of(tally.f1, measure, label):
        n_a, n_b, matched = tally.f1[(measure, label, pair)]
        a, b = pair.split("|")
        pairs.append({"a": a, "b": b, "n_a": n_a, "n_b": n_b, "matched": matched, "value": f1(n_a, n_b, matched)})
    return {"measure": measure, "label": label, "statistic": "F1", "value": _mean([p["value"] for p in pairs]), "pairs": pairs}


def _ualpha_row(tally: Tally, measure: str, label: str, all_labels) -> dict:
    pairs = []
    for pair in _pairs_of(tally.units, measure, all_labels[0]):
        parts = [tally.units[(measure, lab, pair)] for lab in (all_labels if label == ALL else [label])]
        value, do, de = unitizing_alpha(parts)
        a, b = pair.split("|")
        pairs.append({
            "a": a, "b": b, "value": value, "observed": do, "expected": de, "length": parts[0].length,
            "units": sum(sum(p.units.values()) for p in parts),
        })
    return {"measure": measure, "label": label, "statistic": "u-alpha", "value": _mean([p["value"] for p in pairs]), "pairs": pairs}


def _attr_row(items: Counter, measure: str, name: str, annotators: list[str], scope: int) -> dict:
    present = [i for i in range(len(annotators)) if any(it[i] is not None for it in items)]
    row = {"measure": measure, "label": name, "pairs": []}
    if len(present) == 2 or (not present and scope == 2):
        pairs: Counter = Counter()
        if present:
            i, j = present
            for it, w in items.items():
                if it[i] is not None and it[j] is not None:
                    pairs[(it[i], it[j])] += w
        agreed = sum(w for (a, b), w in pairs.items() if a == b)
        row.update(statistic="Cohen's kappa", value=cohen_kappa(pairs), items=sum(pairs.values()), agreed=agreed)
    else:
        pairable = Counter({it: w for it, w in items.items() if sum(v is not None for v in it) >= 2})
        agreed = sum(w for it, w in pairable.items() if len({v for v in it if v is not None}) == 1)
        row.update(statistic="Krippendorff's alpha", value=krippendorff_alpha(pairable) if pairable else None,
                   items=sum(pairable.values()), agreed=agreed)
    return row


def _coref_rows(tally: Tally, kind: str) -> list[dict]:
    muc_pairs, b3_pairs = [], []
    for pair in _pairs_of(tally.coref, f"coref_{kind}", ALL):
        r_num, r_den, p_num, p_den, p_sum, r_sum, n, common = tally.coref[(f"coref_{kind}", ALL, pair)]
        a, b = pair.split("|")
        links = {"a": a, "b": b, "links_a": int(r_den), "links_b": int(p_den), "mentions": int(common)}
        if r_den + p_den == 0:
            muc_pairs.append({**links, "precision": None, "recall": None, "value": None})
            b3_pairs.append({**links, "precision": None, "recall": None, "value": None})
            continue
        rec = r_num / r_den if r_den else 0.0
        prec = p_num / p_den if p_den else 0.0
        muc_pairs.append({**links, "precision": prec, "recall": rec, "value": _harmonic(prec, rec)})
        bp, br = p_sum / n, r_sum / n
        b3_pairs.append({**links, "precision": bp, "recall": br, "value": _harmonic(bp, br)})
    return [
        {"measure": f"coref_{kind}_muc", "label": ALL, "statistic": "MUC F1", "value": _mean([p["value"] for p in muc_pairs]), "pairs": muc_pairs},
        {"measure": f"coref_{kind}_b3", "label": ALL, "statistic": "B-cubed F1", "value": _mean([p["value"] for p in b3_pairs]), "pairs": b3_pairs},
    ]


def _harmonic(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


# -- the command's work --------------------------------------------------------------------


class Accumulator:
    """Agreement gathered one document at a time, for `agree` and for commands that already hold
    the layers (build), so that nobody reads the annotations twice."""

    def __init__(self, everyone: list[str], per_document: bool = True, unitizing: bool = True, on_document=None,
                 entity_attributes: bool = True):
        """`on_document(entry)`, when given, receives each document's figures instead of the report
        keeping them, so that memory holds only the totals however many documents there are.
        Without `unitizing` or `entity_attributes`, those rows of the report are empty."""
        self.everyone = everyone
        self.per_document = per_document
        self.unitizing = unitizing
        self.entity_attributes = entity_attributes
        self.on_document = on_document
        self.onto = load_ontology()
        self.overall = Tally()
        self.documents: list[dict] = []
        self.skipped: list[dict] = []
        self.count = 0
        self.used: set[str] = set()

    def add(self, doc: str, records: dict[str, dict], length: int) -> None:
        """Add one document's annotator layers (annotator -> record; gold left out)."""
        self.take(self.document(doc, records, length))

    def document(self, doc: str, records: dict[str, dict], length: int) -> tuple:
        """One document's share, computed without touching the totals (so worker processes can
        compute shares that `take` then sums in document order: the same floats in any run)."""
        if len(records) < 2:
            return ("skipped", {"document": doc, "annotators": sorted(records), "reason": "fewer than two annotator layers"})
        layers = {a: align.index_layer(r) for a, r in sorted(records.items())}
        tally = document_tally(layers, length, self.everyone, self.onto, self.unitizing, self.entity_attributes)
        notes = [f"{a}: {len(lay.duplicates)} items with a repeated key ignored" for a, lay in layers.items() if lay.duplicates]
        rows = figures(tally, self.everyone, self.onto, len(layers)) if self.per_document else []
        return ("document", tally, {"document": doc, "annotators": list(layers), "rows": rows, "notes": notes})

    def take(self, share: tuple) -> None:
        if share[0] == "skipped":
            self.skipped.append(share[1])
            return
        if share[0] == "documents":  # several documents' shares, from `combine`
            _, counts, floats, entries, skipped = share
            self.overall.add(counts)
            for coref, units in floats:
                self.overall.add(Tally(coref=coref, units=units))
            self.skipped += skipped
            for entry in entries:
                self.count += 1
                self.used.update(entry["annotators"])
                if self.on_document is not None:
                    self.on_document(entry)
                else:
                    self.documents.append(entry)
            return
        self.overall.add(share[1])
        self.count += 1
        self.used.update(share[2]["annotators"])
        if self.on_document is not None:
            self.on_document(share[2])
        else:
            self.documents.append(share[2])

    def report(self) -> dict:
        used = sorted(self.used)
        out = {
            "annotators": used,
            "documents": self.documents,
            "skipped": self.skipped,
            "overall": figures(self.overall, self.everyone, self.onto, len(used)) if self.count else [],
            "legend": LEGEND,
        }
        if self.on_document is not None:
            out["document_count"] = self.count  # the documents went to on_document
        return out


def combine(shares: list[tuple]) -> tuple:
    """Several documents' shares (in document order) as one, summed where the sum is exact, so that
    the process taking them adds one tally per run of documents: counts are summed here; the
    coreference and unitizing figures, which are floats, stay per document and `take` adds them
    in document order, so the totals are the same floats as when the documents are taken one by one."""
    counts = Tally()
    floats, entries, skipped = [], [], []
    for share in shares:
        if share[0] == "skipped":
            skipped.append(share[1])
            continue
        tally = share[1]
        counts.add(Tally(f1=tally.f1, attrs=tally.attrs))
        floats.append((tally.coref, tally.units))
        entries.append(share[2])
    return ("documents", counts, floats, entries, skipped)


def agree(paths: Iterable[str | Path], corpus_dir: str | Path = "corpus", annotators: list[str] | None = None,
          on_document=None) -> dict:
    """The agreement report over every document with two or more layers, read one document at a time
    (with `on_document`, each document's figures go there instead of into the report)."""
    found = align.collect(paths, annotators)
    everyone = sorted({a for layers in found.values() for a in layers})
    missing = sorted(set(annotators or ()) - set(everyone))
    if missing:
        raise UserError(f"no annotation layers for {', '.join(missing)} (layers found: {', '.join(everyone) or 'none'})")
    acc = Accumulator(everyone, on_document=on_document)
    reader = Reader(corpus_dir)
    for doc, files in found.items():
        if len(files) < 2:
            acc.add(doc, dict.fromkeys(files, {}), 0)
            continue
        document = reader.document(doc)
        records = reader.read_layers(doc, files)
        acc.add(doc, records, len(document["text"]))
        reader.done(doc, files)
    return acc.report()


# -- rendering -----------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def counts_text(row: dict) -> str:
    """The counts behind a figure, in words short enough for a table cell."""
    if "items" in row:
        return f"items={row['items']} agreed={row['agreed']}"
    parts = []
    for p in row["pairs"]:
        if row["statistic"] == "F1":
            parts.append(f"{p['a']}={p['n_a']} {p['b']}={p['n_b']} matched={p['matched']}")
        elif row["statistic"] == "u-alpha":
            parts.append(f"{p['a']}/{p['b']}: units={p['units']} length={p['length']} Do={p['observed']:.4f} De={p['expected']:.4f}")
        else:
            extra = f" P={_fmt(p['precision'])} R={_fmt(p['recall'])}" if p["value"] is not None else ""
            parts.append(f"{p['a']}/{p['b']}: links {p['links_a']}/{p['links_b']} on {p['mentions']} shared mentions{extra}")
    if len(row["pairs"]) > 1 and row["statistic"] == "F1":
        parts = [f"{p['a']}/{p['b']} {_fmt(p['value'])}: {p['n_a']}/{p['n_b']} matched {p['matched']}" for p in row["pairs"]]
        return "mean of pairs; " + "; ".join(parts)
    return "; ".join(parts)


def _has_items(row: dict) -> bool:
    if row["label"] == ALL or "items" in row:
        return True
    if row["statistic"] == "F1":
        return any(p["n_a"] + p["n_b"] for p in row["pairs"])
    if row["statistic"] == "u-alpha":
        return any(p["units"] for p in row["pairs"])
    return True


def table_rows(rows: list[dict], compact: bool) -> list[tuple[str, str, str, str]]:
    out = []
    for row in rows:
        if compact and not _has_items(row):
            continue
        name = MEASURES[row["measure"]]
        if row["measure"].endswith("_attribute"):
            name += f" ({row['statistic']})"
        out.append((name, row["label"], _fmt(row["value"]), counts_text(row)))
    return out


def _count(report: dict) -> int:
    return report.get("document_count", len(report["documents"]))


def _document_section(d: dict) -> tuple[str, list[tuple[str, str, str, str]], list[str]]:
    return f"{d['document']} ({', '.join(d['annotators'])})", table_rows(d["rows"], True), d["notes"]


def _overall_sections(report: dict) -> list[tuple[str, list[tuple[str, str, str, str]], list[str]]]:
    if not _count(report):
        return []
    title = f"overall: documents {_count(report)}, annotators {', '.join(report['annotators'])}"
    return [(title, table_rows(report["overall"], False), [])]


def _table_section(title: str, rows: list, notes: list[str]) -> list[str]:
    head = ("measure", "label", "value", "counts")
    lines = [f"== {title} =="]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(3)]
    for r in [head, *rows]:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    lines += [f"note: {n}" for n in notes]
    lines.append("")
    return lines


def _table_tail(report: dict) -> list[str]:
    lines = [line for section in _overall_sections(report) for line in _table_section(*section)]
    lines += [f"skipped {s['document']}: {s['reason']} ({', '.join(s['annotators'])})" for s in report["skipped"]]
    if not _count(report):
        lines.append("no document has two or more annotator layers: nothing to compare")
    lines.append("")
    lines.append("legend:")
    lines += [f"- {item}" for item in report["legend"]]
    return lines


def _markdown_section(title: str, rows: list, notes: list[str]) -> list[str]:
    lines = [f"## {title}", "", "| measure | label | value | counts |", "| --- | --- | ---: | --- |"]
    lines += [f"| {a} | {b} | {c} | {d.replace('|', '/')} |" for a, b, c, d in rows]
    lines += [""] + [f"Note: {n}" for n in notes] + ([""] if notes else [])
    return lines


def _markdown_tail(report: dict) -> list[str]:
    lines = [line for section in _overall_sections(report) for line in _markdown_section(*section)]
    if report["skipped"]:
        lines += ["## Skipped", ""] + [f"- {s['document']}: {s['reason']} ({', '.join(s['annotators'])})" for s in report["skipped"]] + [""]
    if not _count(report):
        lines += ["No document has two or more annotator layers: nothing to compare.", ""]
    lines += ["## Legend", ""] + [f"- {item}" for item in report["legend"]]
    return lines


# format -> (lines before the documents, a document's lines, lines after them)
_TEXT_FORMATS = {
    "table": ([], _table_section, _table_tail),
    "markdown": (["# Inter-annotator agreement", ""], _markdown_section, _markdown_tail),
}


def render_table(report: dict) -> str:
    return _render_text("table", report)


def render_markdown(report: dict) -> str:
    return _render_text("markdown", report)


def _render_text(fmt: str, report: dict) -> str:
    head, section, tail = _TEXT_FORMATS[fmt]
    lines = list(head)
    for d in report["documents"]:
        lines += section(*_document_section(d))
    return "\n".join(lines + tail(report)) + "\n"


def write_report(out, paths: Iterable[str | Path], corpus_dir: str | Path = "corpus", annotators: list[str] | None = None,
                 fmt: str = "table") -> None:
    """The report in a text format, written to `out` one document at a time: memory holds the totals,
    not every document's figures. It is spooled to a temporary file first, so that a problem met
    halfway prints its one line and no half report."""
    import shutil
    import tempfile

    if fmt not in _TEXT_FORMATS:
        out.write(RENDERERS[fmt](agree(paths, corpus_dir, annotators)))
        return
    head, section, tail = _TEXT_FORMATS[fmt]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        def lines(items: list[str]) -> None:
            spool.writelines(line + "\n" for line in items)

        lines(head)
        report = agree(paths, corpus_dir, annotators, on_document=lambda d: lines(section(*_document_section(d))))
        lines(tail(report))
        spool.seek(0)
        shutil.copyfileobj(spool, out)


def render_json(report: dict) -> str:
    import orjson

    return orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n"


RENDERERS = {"table": render_table, "json": render_json, "markdown": render_markdown}


# TODO score.py's owner: import add_f1 and by_label, then drop these two private names
_add_f1, _by_label = add_f1, by_label
