"""Pure conversions from records to dataset rows, shared by build and rehydrate.

A documents row is the hub: the events and ner rows are derived from it alone (plus the
cross-document clusters), so a standoff dataset whose texts are re-attached yields exactly
the rows the full build wrote.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable

from .. import ontology
from ..errors import Problem
from . import bigbio
from .features import FIGURES

# events config: which (event type, role) arguments fill the flat columns; "*" is any type.
FLAT_ROLES: dict[str, tuple[tuple[str, str], ...]] = {
    "perpetrators": (("Attack", "Attacker"),),
    "targets": (("Attack", "Target"), ("Raid", "Target")),
    "weapons": (("*", "Instrument"), ("Seizure", "Item")),
}
# events config: the figure a mention row counts, from the fillers of one role of one type.
FIGURE_ROLES: dict[str, tuple[str, str]] = {"killed": ("Die", "Victim"), "injured": ("Injure", "Victim"), "arrested": ("Arrest", "Person")}


def sentencizer():
    """The blank English spaCy pipeline that cuts the ner config's sentences (build, rehydrate,
    export and score cut them alike)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def _provenance(p: dict | None) -> dict | None:
    if not p:
        return None
    return {"method": p["method"], "annotators": list(p.get("annotators", [])), "decision": p.get("decision")}


def _names(attributes) -> tuple[str, ...]:
    return tuple(a.name for a in attributes)


def entity_row(e: dict, attributes: tuple[str, ...] | None = None) -> dict:
    row = {"id": e["id"], "type": e["type"], "start": e["start"], "end": e["end"], "text": e["text"]}
    values = e.get("attributes", {})
    for name in attributes if attributes is not None else _names(ontology.load().entity_attributes):
        row[name] = values.get(name)
    norm = e.get("normalized")
    row["normalized"] = None if norm is None else str(norm)
    row["provenance"] = _provenance(e.get("provenance"))
    return row


def event_row(v: dict, cluster_id: str | None, cross_id: str | None, attributes: tuple[str, ...] | None = None) -> dict:
    attrs = v.get("attributes", {})
    if attributes is None:
        attributes = _names(ontology.load().event_attributes)
    return {
        "id": v["id"],
        "type": v["type"],
        "trigger": dict(v["trigger"]),
        "arguments": [{"role": a["role"], "entity_id": a["entity"], "entity_type": a["type"]} for a in v["arguments"]],
        "attributes": {name: attrs.get(name) for name in attributes},
        "cluster_id": cluster_id,
        "cross_document_id": cross_id,
        "provenance": _provenance(v.get("provenance")),
    }


def layer_fields(ann: dict, cross: dict[tuple[str, str], str]) -> dict:
    """The entities / events / clusters part shared by the documents and annotators rows."""
    doc = ann["document"]
    cluster_of = {m: c["id"] for c in ann["event_clusters"] for m in c["members"]}
    onto = ontology.load()
    entity_attrs, event_attrs = _names(onto.entity_attributes), _names(onto.event_attributes)
    return {
        "entities": [entity_row(e, entity_attrs) for e in ann["entities"]],
        "events": [event_row(v, cluster_of.get(v["id"]), cross.get((doc, v["id"])), event_attrs) for v in ann["events"]],
        "entity_clusters": [{"id": c["id"], "members": list(c["members"])} for c in ann["entity_clusters"]],
        "event_clusters": [{"id": c["id"], "members": list(c["members"])} for c in ann["event_clusters"]],
    }


def document_row(doc: dict, gold: dict, annotators: Iterable[str], cross: dict[tuple[str, str], str]) -> dict:
    return {
        "id": doc["id"],
        "title": doc.get("title"),
        "outlet": doc.get("outlet"),
        "published": doc.get("published"),
        "language": doc.get("language"),
        "url": doc.get("url"),
        "text": doc["text"],
        "text_sha256": doc["sha256"],
        "annotators": sorted(annotators),
        **layer_fields(gold, cross),
    }


def annotator_row(ann: dict, cross: dict[tuple[str, str], str], fields: dict | None = None) -> dict:
    """`fields`: the layer's layer_fields when the caller has them (the gold layer's are in its
    documents row)."""
    if fields is None:
        fields = layer_fields(ann, cross if ann["annotator"] == "gold" else {})
    return {"document": ann["document"], "annotator": ann["annotator"], "text_sha256": ann["text_sha256"], **fields}


def cross_index(clusters: list[dict]) -> dict[tuple[str, str], str]:
    """(document, event id) -> cross-document cluster id."""
    return {(m["document"], m["event"]): c["id"] for c in clusters for m in c["members"]}


# --- standoff: the same rows without a character of article text --------------------------


# The fields that hold article text, by config, as paths through structs and lists: the
# standoff rows have them null (build.strip_table does the same on Arrow columns).
TEXT_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "annotators": (("entities", "text"), ("events", "trigger", "text")),
    "documents": (("text",), ("entities", "text"), ("events", "trigger", "text")),
}


def _null_path(value, path: tuple[str, ...]):
    if value is None:
        return None
    if isinstance(value, list):
        return [_null_path(v, path) for v in value]
    head, rest = path[0], path[1:]
    return {**value, head: _null_path(value.get(head), rest) if rest else None}


def strip(row: dict, config: str) -> dict:
    for path in TEXT_FIELDS[config]:
        row = _null_path(row, path)
    return row


def cluster_record_row(c: dict) -> dict:
    """A clusters.yaml entry as a standoff row: evidence spans keep offsets, lose their text."""
    return {
        "id": c["id"], "type": c["type"], "name": c["name"], "date": c["date"],
        "date_precision": c["date_precision"], "place": c["place"], "place_precision": c["place_precision"],
        "members": [dict(m) for m in c["members"]],
        "reports": [
            {"field": r["field"], "document": r["document"], "value": str(r["value"]),
             "evidence": {"start": r["evidence"]["start"], "end": r["evidence"]["end"], "text": None}}
            for r in c.get("reports", [])
        ],
        "note": c.get("note"),
    }


# --- ner ----------------------------------------------------------------------------------


def outermost(entities: list[dict]) -> list[dict]:
    """Keep the mentions no other kept mention contains or crosses: longest first, then earliest; of
    mentions with the same span (a figure that is both NUM and the PER it counts), the type listed
    first in the schema wins, so every export that keeps one type per span keeps the same one."""
    rank = {name: i for i, name in enumerate(ontology.load().entity_names)}
    kept: list[dict] = []
    for e in sorted(entities, key=lambda e: (e["start"], -(e["end"] - e["start"]), rank.get(e.get("type"), len(rank)), e["id"])):
        if kept and e["start"] < kept[-1]["end"]:
            continue
        kept.append(e)
    return kept


def sentences(doc):
    """spaCy sentences, also cut at line breaks (headlines carry no final full stop)."""
    for sent in doc.sents:
        current = []
        for tok in sent:
            if tok.is_space:
                if "\n" in tok.text and current:
                    yield current
                    current = []
                continue
            current.append(tok)
        if current:
            yield current


class Sentences:
    """A document's sentences (spaCy tokens, also cut at line breaks) and where each starts and ends."""

    def __init__(self, text: str, nlp):
        self.text = text
        self.tokens = list(sentences(nlp(text)))
        self.starts = [toks[0].idx for toks in self.tokens]
        self.ends = [toks[-1].idx + len(toks[-1].text) for toks in self.tokens]

    def index(self, pos: int) -> int:
        """The sentence a character offset falls in (a gap between sentences counts to the one before)."""
        return max(bisect.bisect_right(self.starts, pos) - 1, 0)

    def span(self, start: int, end: int) -> dict:
        """Document offsets, plus the sentence of the start and offsets relative to that sentence."""
        n = self.index(start)
        base = self.starts[n] if self.starts else 0
        return {"start": start, "end": end, "sentence": n, "sentence_start": start - base, "sentence_end": end - base}


def ner_rows(row: dict, nlp, sents: Sentences | None = None) -> list[dict]:
    spans = outermost(row["entities"])
    sents = sents or Sentences(row["text"], nlp)
    out = []
    si = 0  # spans are sorted and disjoint; walk them with the tokens
    for n, toks in enumerate(sents.tokens):
        tags = []
        for i, tok in enumerate(toks):
            start, end = tok.idx, tok.idx + len(tok.text)
            while si < len(spans) and spans[si]["end"] <= start:
                si += 1
            if si < len(spans) and spans[si]["start"] < end:
                span = spans[si]
                first = start <= span["start"] or i == 0 or tags[-1] == "O"
                tags.append(("B-" if first else "I-") + span["type"])
            else:
                tags.append("O")
        out.append(
            {
                "id": f"{row['id']}:{n}",
                "document": row["id"],
                "sentence": n,
                "tokens": [t.text for t in toks],
                "token_starts": [t.idx for t in toks],
                "token_ends": [t.idx + len(t.text) for t in toks],
                "ner_tags": tags,
            }
        )
    return out


# --- mentions and entity_mentions: one row per mention, names as strings ------------------


def global_id(document: str, local: str | None) -> str | None:
    """Ids in the per-mention configs are unique across documents: '<document>:<id in the layer>'."""
    return None if local is None else f"{document}:{local}"


def _sentence_fields(sents: Sentences, n: int) -> dict:
    return {"sentence": n, "sentence_text": sents.text[sents.starts[n] : sents.ends[n]] if sents.starts else "",
            "sentence_offset": sents.starts[n] if sents.starts else 0}


def entity_mention_rows(row: dict, sents: Sentences) -> list[dict]:
    doc = row["id"]
    cluster_of = {m: c["id"] for c in row["entity_clusters"] for m in c["members"]}
    out = []
    for e in row["entities"]:
        span = sents.span(e["start"], e["end"])
        out.append(
            {
                "id": global_id(doc, e["id"]),
                "document": doc,
                **_sentence_fields(sents, span["sentence"]),
                "type": e["type"],
                "text": e["text"],
                **{k: span[k] for k in ("start", "end", "sentence_start", "sentence_end")},
                **{a.name: e.get(a.name) for a in ontology.load().entity_attributes},
                "normalized": e["normalized"],
                "cluster_id": global_id(doc, cluster_of.get(e["id"])),
                "provenance": (e.get("provenance") or {}).get("method"),
            }
        )
    return out


def event_mention_rows(row: dict, sents: Sentences) -> list[dict]:
    doc = row["id"]
    ents = {e["id"]: e for e in row["entities"]}
    ent_cluster = {m: c["id"] for c in row["entity_clusters"] for m in c["members"]}
    out = []
    for v in row["events"]:
        trig = sents.span(v["trigger"]["start"], v["trigger"]["end"])
        args = []
        for a in v["arguments"]:
            e = ents[a["entity_id"]]
            args.append(
                {
                    "role": a["role"],
                    "entity_id": global_id(doc, e["id"]),
                    "entity_type": e["type"],
                    "text": e["text"],
                    **sents.span(e["start"], e["end"]),
                    "entity_cluster_id": global_id(doc, ent_cluster.get(e["id"])),
                }
            )
        out.append(
            {
                "id": global_id(doc, v["id"]),
                "document": doc,
                **_sentence_fields(sents, trig["sentence"]),
                "type": v["type"],
                "trigger": v["trigger"]["text"],
                **{k: trig[k] for k in ("start", "end", "sentence_start", "sentence_end")},
                **{a.name: v["attributes"].get(a.name) for a in ontology.load().event_attributes},
                "arguments": args,
                "cluster_id": global_id(doc, v["cluster_id"]),
                "cross_document_id": v["cross_document_id"],
                "provenance": (v.get("provenance") or {}).get("method"),
            }
        )
    return out


def document_rows(row: dict, nlp) -> Iterable[tuple[str, dict]]:
    """(config, row) for a full documents row and every row derived from it, in the order both
    build and rehydrate write them: the one loop over the derived configs."""
    yield "documents", row
    for config, derived in derived_rows(row, nlp).items():
        for r in derived:
            yield config, r


def derived_rows(row: dict, nlp) -> dict[str, list[dict]]:
    """Every row a documents row gives rise to, by config (the build and rehydrate share it). None for a
    document nobody has annotated (no annotator, no entity, no event: a MUC message so far), whose
    sentences would otherwise be NER rows saying "no entity" where nobody looked."""
    if not (row["annotators"] or row["entities"] or row["events"]):
        return {}
    sents = Sentences(row["text"], nlp)
    return {
        "ner": ner_rows(row, nlp, sents),
        "events": event_rows(row),
        "mentions": event_mention_rows(row, sents),
        "entity_mentions": entity_mention_rows(row, sents),
        "bigbio_kb": [bigbio.kb_row(row)],
    }


# --- events -------------------------------------------------------------------------------

_PRECISION = [
    (re.compile(r"^\d{4}-\d{2}-\d{2}T"), "day"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "day"),
    (re.compile(r"^\d{4}-\d{2}$"), "month"),
    (re.compile(r"^\d{4}$"), "year"),
    (re.compile(r"/"), "interval"),
]


def date_precision(value: str | None) -> str | None:
    if not value:
        return None
    return next((p for rx, p in _PRECISION if rx.search(value)), None)


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _role_texts(events: list[dict], ents: dict[str, dict], column: str) -> list[str]:
    wanted = FLAT_ROLES[column]
    out = []
    for v in events:
        for a in v["arguments"]:
            if any(t in ("*", v["type"]) and r == a["role"] for t, r in wanted):
                out.append(ents[a["entity_id"]]["text"])
    return _dedupe(out)


def _filler_count(filler: dict, entities: list[dict]) -> int | None:
    """How many people a filler is: a NUM inside its span, or one for a name; else unknown."""
    for e in entities:
        if e["type"] == "NUM" and e["normalized"] is not None and filler["start"] <= e["start"] and e["end"] <= filler["end"]:
            try:
                return int(e["normalized"])
            except ValueError:
                return None
    return 1 if filler.get("mention") == "NAM" else None


def _figure(events: list[dict], ents: dict[str, dict], entities: list[dict], figure: str) -> int | None:
    etype, role = FIGURE_ROLES[figure]
    total, seen = 0, False
    for v in events:
        if v["type"] != etype:
            continue
        seen = True
        if v["attributes"].get("polarity") == "negative":
            continue
        for a in v["arguments"]:
            if a["role"] == role:
                n = _filler_count(ents[a["entity_id"]], entities)
                if n is None:
                    return None
                total += n
    return total if seen else None


def event_groups(row: dict) -> list[list[dict]]:
    """A document's events grouped by within-document coreference (singletons otherwise), in text order."""
    by_id = {v["id"]: v for v in row["events"]}
    groups: dict[str, list[dict]] = {}
    for v in row["events"]:
        groups.setdefault(v["cluster_id"] or "#" + v["id"], []).append(by_id[v["id"]])
    return sorted(groups.values(), key=lambda g: min(v["trigger"]["start"] for v in g))


def _first_attr(events: list[dict], name: str):
    return next((v["attributes"][name] for v in events if v["attributes"].get(name) is not None), None)


def _argument(events, ents, role, key):
    for v in events:
        for a in v["arguments"]:
            if a["role"] == role:
                value = ents[a["entity_id"]][key]
                if value is not None:
                    return value
    return None


def event_rows(row: dict) -> list[dict]:
    """The events config's rows of a document: one per group of its event mentions that no
    cross-document cluster holds (those rows come from the cluster table)."""
    ents = {e["id"]: e for e in row["entities"]}
    out = []
    for group in event_groups(row):
        if any(v["cross_document_id"] for v in group):
            continue
        first = group[0]
        date = _argument(group, ents, "Time", "normalized")
        key = first["cluster_id"] if len(group) > 1 else first["id"]
        r = {
            "id": f"{row['id']}:{key}",
            "source": "document_cluster" if len(group) > 1 else "mention",
            "type": first["type"],
            "name": None,
            "trigger": first["trigger"]["text"],
            **{a.name: _first_attr(group, a.name) for a in ontology.load().event_attributes},
            "time": _argument(group, ents, "Time", "text"),
            "date": date,
            "date_precision": date_precision(date),
            "place": _argument(group, ents, "Place", "text"),
            "place_precision": None,
            **{col: _role_texts(group, ents, col) for col in FLAT_ROLES},
            **{f: _figure(group, ents, row["entities"], f) for f in FIGURES},
            "disputed": [],
            "reports": [],
            "documents": [row["id"]],
            "mentions": [{"id": global_id(row["id"], v["id"]), "document": row["id"], "event": v["id"]} for v in group],
            "note": None,
        }
        out.append(r)
    return out


CLUSTERS_FILE = "annotations/clusters.yaml"


class ClusterTable:
    """Cross-document cluster rows, filled as member documents are seen (any order)."""

    def __init__(self, clusters: list[dict]):
        self.clusters = clusters
        # -> (document, the first value of each event attribute in its group, role texts): the
        # group's events themselves are not kept (they were most of the table's memory)
        self.parts: dict[str, list[tuple]] = {c["id"]: [] for c in clusters}
        self.evidence: dict[tuple[str, int], str] = {}
        # document -> its (cluster, member) and (cluster, report index, report): each document
        # touches only its own clusters, so the table costs the same per document at any size
        self.members: dict[str, list[tuple[dict, dict]]] = {}
        self.reports: dict[str, list[tuple[dict, int, dict]]] = {}
        self.at = {c["id"]: f"/clusters/{k}" for k, c in enumerate(clusters)}  # JSON pointers for problems
        for c in clusters:
            for m in c["members"]:
                self.members.setdefault(m["document"], []).append((c, m))
            for i, r in enumerate(c.get("reports", [])):
                self.reports.setdefault(r["document"], []).append((c, i, r))
        self.wanted = set(self.members) | set(self.reports)
        self.trigger: dict[tuple[str, str], str] = {}  # (document, member event) -> its trigger text
        self.time: dict[tuple[str, str], str | None] = {}  # ... -> its group's first Time filler text
        self.problems: list[str] = []

    def add(self, row: dict) -> None:
        self.take(self.share(row))

    def share(self, row: dict) -> tuple[list, list, list]:
        """What one document contributes, without touching the table (worker processes compute
        shares; `take` adds them in document order, so the rows do not depend on who computed them)."""
        doc = row["id"]
        ents = {e["id"]: e for e in row["entities"]}
        groups = event_groups(row)
        parts, evidence, problems = [], [], []
        for c, m in self.members.get(doc, ()):
            group = next((g for g in groups if any(v["id"] == m["event"] for v in g)), None)
            if group is None:
                at = f"{self.at[c['id']]}/members/{c['members'].index(m)}/event"
                problems.append(Problem(CLUSTERS_FILE, doc, at, "dangling-reference",
                                        f"cluster {c['id']!r}: event {m['event']} is not in the gold layer of {doc}").line())
                continue
            trigger = next(v["trigger"]["text"] for v in group if v["id"] == m["event"])
            time = _argument(group, ents, "Time", "text")
            texts = {col: _role_texts(group, ents, col) for col in FLAT_ROLES}
            firsts = {a.name: _first_attr(group, a.name) for a in ontology.load().event_attributes}
            parts.append((c["id"], (doc, m["event"]), firsts, texts, trigger, time))
        for c, i, r in self.reports.get(doc, ()):
            ev = r["evidence"]
            sliced = row["text"][ev["start"] : ev["end"]]
            if ev.get("text") is not None and sliced != ev["text"]:
                problems.append(Problem(CLUSTERS_FILE, doc, f"{self.at[c['id']]}/reports/{i}/evidence", "span-text-mismatch",
                                        f"cluster {c['id']!r}: text[{ev['start']}:{ev['end']}] is {sliced!r}, not {ev['text']!r}").line())
            evidence.append(((c["id"], i), sliced))
        return parts, evidence, problems

    def take(self, share: tuple[list, list, list]) -> None:
        """Add one document's share (documents in any order: `row` orders the parts by document)."""
        parts, evidence, problems = share
        for cid, member, firsts, texts, trigger, time in parts:
            self.parts[cid].append((member[0], firsts, texts))
            self.trigger[member] = trigger
            self.time[member] = time
        self.evidence.update(evidence)
        self.problems += problems

    def forget(self, clusters: Iterable[dict]) -> None:
        """Drop what the table holds for clusters whose rows are written."""
        for c in clusters:
            self.parts.pop(c["id"], None)
            for m in c["members"]:
                self.trigger.pop((m["document"], m["event"]), None)
                self.time.pop((m["document"], m["event"]), None)
            for i in range(len(c.get("reports", []))):
                self.evidence.pop((c["id"], i), None)

    def row(self, c: dict) -> dict:
        got = sorted(self.parts[c["id"]], key=lambda part: part[0])  # stable: one document's parts keep their order
        parts = {col: [t for _, _, texts in got for t in texts[col]] for col in FLAT_ROLES}
        reports = [
            {"field": r["field"], "document": r["document"], "value": str(r["value"]),
             "evidence": {"start": r["evidence"]["start"], "end": r["evidence"]["end"],
                          "text": self.evidence.get((c["id"], i), r["evidence"].get("text"))}}
            for i, r in enumerate(c.get("reports", []))
        ]
        values: dict[str, list[str]] = {}
        for r in reports:
            values.setdefault(r["field"], []).append(r["value"])
        attrs = {
            a.name: next((f[a.name] for _, f, _ in got if f[a.name] is not None), None) if not a.scope or c["type"] in a.scope else None
            for a in ontology.load().event_attributes
        }
        return {
            "id": c["id"],
            "source": "cross_document_cluster",
            "type": c["type"],
            "name": c["name"],
            "trigger": self.trigger.get((c["members"][0]["document"], c["members"][0]["event"])),
            **attrs,
            "time": next((t for t in (self.time.get((m["document"], m["event"])) for m in c["members"]) if t), None),
            "date": c["date"],
            "date_precision": c["date_precision"],
            "place": c["place"],
            "place_precision": c["place_precision"],
            **{col: _dedupe(parts.get(col, [])) for col in FLAT_ROLES},
            **{f: _conservative(values.get(f, [])) for f in FIGURES},
            "disputed": sorted(f for f, vs in values.items() if len(set(vs)) > 1),
            "reports": reports,
            "documents": _dedupe(m["document"] for m in c["members"]),
            "mentions": [{"id": global_id(m["document"], m["event"]), **m} for m in c["members"]],
            "note": c.get("note"),
        }


def _conservative(values: list[str]) -> int | None:
    """ACLED's rule for conflicting reports: the most conservative (lowest) figure."""
    ints = []
    for v in values:
        try:
            ints.append(int(v))
        except ValueError:
            pass
    return min(ints) if ints else None
