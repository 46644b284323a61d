"""The dataset rows made from the MUC-3/4 keys: the templates config and the role-filler (REE) config.

Pure functions of a muc4-key record (and, for REE, the message text). The REE rule: the five
roles of recent document-level papers come from five string slots (REE_ROLES); each fill line
of such a slot is one entity, its alternatives ('/') are names of that entity, and its
mentions are every located occurrence of every alternative. An entity given in several
templates of a message is one entity (the same set of strings, case and spacing aside).
"""

from __future__ import annotations

import re

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


def templates_features() -> Features:
    """One row per template: every slot as its fill lines (strings, as the key writes them)."""
    return Features({
        "id": Value("string"), "document": Value("string"), "message": Value("string"),
        "template": Value("int32"), "optional": Value("bool"),
        **{column(slot): List(Value("string")) for slot in muckeys.slots()},
        "mentions": List({"slot": Value("string"), "fill": Value("int32"), **_mention(), "ambiguous": Value("bool")}),
        "unlocated": List({"slot": Value("string"), "string": Value("string")}),
    })


def ree_features() -> Features:
    """One row per message: its text and the five roles, each a list of entities (name: the first
    alternative) with their mentions."""
    entity = {"name": Value("string"), "strings": List(Value("string")), "mentions": List(_mention())}
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
                row[role].append({"name": values[0]["string"], "strings": [v["string"] for v in values],
                                  "mentions": [{"start": s, "end": e, "text": x, "string": v} for s, e, x, v in mentions]})
    return row


def rows_of(root, doc: dict, reader) -> dict[str, list[dict]]:
    """config -> rows of a corpus document's MUC keys (annotations/<doc>/muc4-key.json, checked
    against the document by `reader`); none for a document without keys."""
    path = root / "annotations" / doc["id"] / muckeys.KEY_FILE
    if not path.is_file():
        return {}
    record = reader.read(path, "muc4_key")
    return {"templates": template_rows(record), "ree": [ree_row(record, doc["text"])]}


REASONS = ("description", "unlocated", "optional template", "optional fill")


def _string_reasons(record: dict) -> dict[str, dict[str, list[set]]]:
    """role -> squeezed lower-cased string -> the reasons each occurrence of it in the keys has."""
    out: dict[str, dict[str, list[set]]] = {r: {} for r in ROLES}
    for t in record["templates"]:
        for slot, role in REE_ROLES.items():
            for fill in t["slots"][slot]:
                for v in _strings(fill):
                    why = {name for name, holds in zip(REASONS, (
                        slot == "HUM TGT: DESCRIPTION", not v["mentions"], t["optional"], fill["optional"])) if holds}
                    out[role].setdefault(_key(v["string"]), []).append(why)
    return out


def compare_grit(records: dict[str, dict], grit_docs) -> dict[str, dict[str, int]]:
    """role -> counts of the differences between our REE strings and GRIT's (docs/dataset.md): a
    string of ours GRIT lacks is counted under the first reason every occurrence of it has, else
    'bracketed' or 'other'; 'grit not ours' are GRIT mentions no entity of the role names."""
    counts: dict[str, dict[str, int]] = {r: {} for r in ROLES}

    def add(role: str, what: str, n: int = 1) -> None:
        counts[role][what] = counts[role].get(what, 0) + n

    for doc in grit_docs:
        record = records[doc["docid"]]
        ours = _string_reasons(record)
        text = doc["doctext"]
        for role in ROLES:
            theirs = set()
            for entity in doc["extracts"][role]:
                add(role, "grit entities")
                for mention, offset in entity:
                    add(role, "grit mentions")
                    add(role, "grit first occurrence", text.find(mention) == offset)
                    theirs.add(_key(mention))
                    add(role, "grit not ours", _key(mention) not in ours[role])
            for string, whys in ours[role].items():
                add(role, "our strings")
                if string in theirs:
                    continue
                reason = next((r for r in REASONS if all(r in w for w in whys)), "bracketed" if "[" in string else "other")
                add(role, reason)
        row = ree_row(record, "")
        for role in ROLES:
            add(role, "our entities", len(row[role]))
    return counts
