"""The dataset rows made from the MUC-3/4 keys: the templates config and the role-filler (REE) config.

Pure functions of a muc4-key record (and, for REE, the message text). The REE rule: the five
roles of recent document-level papers come from five string slots (REE_ROLES); each fill line
of such a slot is one entity, its alternatives ('/') are names of that entity, and its
mentions are every located occurrence of every alternative. An entity given in several
templates of a message is one entity (the same set of strings, case and spacing aside).
"""

from __future__ import annotations

import re
from functools import lru_cache

from datasets import Features, List, Value

from .. import muckeys

# slot -> role of the REE view (the mapping recent papers use; HUM TGT: DESCRIPTION is kept: see docs/dataset.md)
REE_ROLES = {
    "PERP: INDIVIDUAL ID": "PerpInd",
    "PERP: ORGANIZATION ID": "PerpOrg",
    "PHYS TGT: ID": "Target",
    "HUM TGT: NAME": "Victim",
    "HUM TGT: DESCRIPTION": "Victim",
    "INCIDENT: INSTRUMENT ID": "Weapon",
}
ROLES = ("PerpInd", "PerpOrg", "Target", "Victim", "Weapon")


def column(slot: str) -> str:
    """A slot's column name: 'PERP: INDIVIDUAL ID' -> 'perp_individual_id'."""
    return re.sub(r"[^a-z0-9]+", "_", slot.lower()).strip("_")


def _mention() -> dict:
    return {"string": Value("string"), "text": Value("string"), "start": Value("int32"), "end": Value("int32")}


@lru_cache(maxsize=1)
def templates_features() -> Features:
    """One row per template: every slot as its fill lines (strings, as the key writes them)."""
    return Features({
        "id": Value("string"), "document": Value("string"), "message": Value("string"),
        "template": Value("int32"), "optional": Value("bool"),
        **{column(slot): List(Value("string")) for slot in muckeys.slots()},
        "mentions": List({"slot": Value("string"), "fill": Value("int32"), **_mention(), "ambiguous": Value("bool")}),
        "unlocated": List({"slot": Value("string"), "string": Value("string")}),
    })


@lru_cache(maxsize=1)
def ree_features() -> Features:
    """One row per message: its text and the five roles, each a list of entities with their mentions."""
    entity = {"strings": List(Value("string")), "mentions": List(_mention())}
    return Features({
        "id": Value("string"), "message": Value("string"), "text": Value("string"),
        **{role: List(entity) for role in ROLES},
    })


def _strings(fill: dict) -> list[dict]:
    return [v for v in fill.get("values", ()) if isinstance(v, dict) and "string" in v]


def template_rows(record: dict) -> list[dict]:
    """The templates config's rows of a message (its '*' block, if irrelevant, gives none)."""
    rows = []
    for i, t in enumerate(record["templates"]):
        if t["template"] is None:
            continue
        mentions = [{"slot": slot, "fill": j, "string": v["string"], "ambiguous": v["ambiguous"], **m}
                    for slot, fills in t["slots"].items() for j, f in enumerate(fills) for v in _strings(f) for m in v["mentions"]]
        rows.append({
            "id": f"{record['document']}-{i}", "document": record["document"], "message": record["message"],
            "template": t["template"], "optional": t["optional"],
            **{column(slot): [muckeys.render_fill(f) for f in t["slots"][slot]] for slot in muckeys.slots()},
            "mentions": sorted(mentions, key=lambda m: (m["start"], m["end"], m["slot"])),
            "unlocated": [{"slot": s, "string": v} for s, v in muckeys.unlocated(t)],
        })
    return rows


def _key(s: str) -> str:
    return " ".join(s.lower().split())


def ree_row(record: dict, text: str) -> dict:
    """The REE row of a message: per role, its entities (see the module's rule), in key order."""
    row = {"id": record["document"], "message": record["message"], "text": text, **{r: [] for r in ROLES}}
    seen: dict[str, set] = {r: set() for r in ROLES}
    for t in record["templates"]:
        for slot, role in REE_ROLES.items():
            for fill in t["slots"][slot]:
                values = _strings(fill)
                key = frozenset(_key(v["string"]) for v in values)
                if not values or key in seen[role]:
                    continue
                seen[role].add(key)
                mentions = sorted({(m["start"], m["end"], m["text"], v["string"]) for v in values for m in v["mentions"]})
                row[role].append({"strings": [v["string"] for v in values],
                                  "mentions": [{"start": s, "end": e, "text": x, "string": v} for s, e, x, v in mentions]})
    return row
