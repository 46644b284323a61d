"""The items compared: each pair of annotator layers read into additive counts (a Tally) of
spans, triggers, arguments, attribute values, unitizing parts and coreference links, so that
documents are read one at a time and their counts summed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Iterable

from .. import align
from ..ontology import Ontology
from .measures import Unitizing, b_cubed, muc, overlap_matches, restrict, unitizing_tally

ALL = "all"
NONE_VALUE = "(none)"  # an attribute the annotator left unset, compared like any other value


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
