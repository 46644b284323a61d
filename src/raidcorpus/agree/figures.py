"""Figures from tallies: the report's rows {measure, label, statistic, value, pairs or items},
each with the counts it was computed from, and n/a (None) where there is nothing to agree on."""

from __future__ import annotations

from collections import Counter
from itertools import combinations
from typing import Iterable

from .. import align
from ..ontology import Ontology
from .items import ALL, Tally, add_f1, by_label
from .measures import cohen_kappa, f1, krippendorff_alpha, unitizing_alpha


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
