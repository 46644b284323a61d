"""Label Studio results <-> annotation records: pure functions, both directions, no network.

A Label Studio annotation is a flat list of results. Spans come from the `entity` and
`event` labels, attributes from per-region choices and text areas that reuse the span's
region id, arguments from relations labelled with a role (trigger -> filler) and
coreference from relations labelled `coref`. Offsets are code points into the task text;
`value.text` is never trusted: the span text is always `text[start:end]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import ontology
from .ls_config import COREF, ENTITY, EVENT, NORMALIZED, TEXT
from .text import sha256_text, span_fits
from .unionfind import components

@dataclass(frozen=True)
class Issue:
    """One result that could not be converted, addressed by task, annotation and region id."""

    task: int | str | None
    annotation: int | str | None
    region: str | None
    slug: str
    message: str

    def line(self) -> str:
        return f"task={self.task} annotation={self.annotation} region={self.region or '-'} [{self.slug}] {self.message}"


@dataclass
class Converted:
    record: dict
    issues: list[Issue] = field(default_factory=list)


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")


def record_id(region_id: str) -> str:
    """A record id from a Label Studio region id (kept as is when it already fits the schema's Id)."""
    rid = str(region_id)
    if _ID.match(rid):
        return rid
    return ("r" + re.sub(r"[^A-Za-z0-9_.:-]", "_", rid))[:128]


def _iso_pattern() -> re.Pattern:
    return re.compile(ontology.load_schema()["$defs"]["IsoTime"]["pattern"])


def _first(value: dict, key: str):
    items = value.get(key)
    return items if isinstance(items, list) else None


# --- records -> Label Studio ---------------------------------------------------------------


def _span_value(start: int, end: int, text: str) -> dict:
    return {"start": start, "end": end, "text": text}


def record_to_results(record: dict) -> list[dict]:
    """The Label Studio results for an annotation record (region ids = entity and event ids)."""
    results: list[dict] = []

    def region(rid, control, start, end, text, label):
        value = _span_value(start, end, text) | {"labels": [label]}
        results.append({"id": rid, "from_name": control, "to_name": TEXT, "type": "labels", "value": value})

    def choice(rid, name, start, end, text, chosen):
        value = _span_value(start, end, text) | {"choices": [chosen]}
        results.append({"id": rid, "from_name": name, "to_name": TEXT, "type": "choices", "value": value})

    for e in record.get("entities", ()):
        region(e["id"], ENTITY, e["start"], e["end"], e["text"], e["type"])
        for name, chosen in sorted(e.get("attributes", {}).items()):
            choice(e["id"], name, e["start"], e["end"], e["text"], chosen)
        if e.get("normalized") is not None:
            value = {"start": e["start"], "end": e["end"], "text": [str(e["normalized"])]}
            results.append({"id": e["id"], "from_name": NORMALIZED, "to_name": TEXT, "type": "textarea", "value": value})
    for ev in record.get("events", ()):
        t = ev["trigger"]
        region(ev["id"], EVENT, t["start"], t["end"], t["text"], ev["type"])
        for name, chosen in sorted(ev.get("attributes", {}).items()):
            choice(ev["id"], name, t["start"], t["end"], t["text"], chosen)
    for ev in record.get("events", ()):
        roles: dict[str, list[str]] = {}
        for a in ev.get("arguments", ()):
            roles.setdefault(a["entity"], [])
            if a["role"] not in roles[a["entity"]]:
                roles[a["entity"]].append(a["role"])
        for entity, labels in roles.items():
            results.append({"type": "relation", "from_id": ev["id"], "to_id": entity, "direction": "right", "labels": labels})
    for key in ("entity_clusters", "event_clusters"):
        for c in record.get(key, ()):
            for a, b in zip(c["members"], c["members"][1:]):
                results.append({"type": "relation", "from_id": a, "to_id": b, "direction": "right", "labels": [COREF]})
    return results


# --- Label Studio -> records ---------------------------------------------------------------


def canonical(record: dict) -> dict:
    """The record in canonical order: spans and clusters in text order, arguments by filler position."""
    ents = sorted(record["entities"], key=lambda e: (e["start"], e["end"], e["type"], e["id"]))
    evs = sorted(record["events"], key=lambda v: (v["trigger"]["start"], v["trigger"]["end"], v["type"], v["id"]))
    pos = {e["id"]: (e["start"], e["end"], e["id"]) for e in ents}
    pos.update({v["id"]: (v["trigger"]["start"], v["trigger"]["end"], v["id"]) for v in evs})
    far = (float("inf"), float("inf"), "")
    out = dict(record)
    out["entities"] = ents
    out["events"] = [
        v | {"arguments": sorted(v["arguments"], key=lambda a: (pos.get(a["entity"], far), a["role"]))} for v in evs
    ]
    for key, prefix in (("entity_clusters", "C-"), ("event_clusters", "EC-")):
        clusters = []
        for c in record[key]:
            members = sorted(c["members"], key=lambda m: pos.get(m, far))
            clusters.append(c | {"id": prefix + members[0], "members": members})
        out[key] = sorted(clusters, key=lambda c: pos.get(c["members"][0], far))
    return out


def results_to_record(
    results: list[dict],
    text: str,
    *,
    document: str,
    annotator: str,
    source: dict | None = None,
    task=None,
    annotation=None,
    onto: ontology.Ontology | None = None,
) -> Converted:
    """An annotation record from one Label Studio annotation's results, plus what could not be converted.

    Three passes over the results, because each needs what the one before made: the spans first
    (labels), then what hangs on a span by its region id (choices, text areas), then what links
    two spans (relations)."""
    onto = onto or ontology.load()
    issues: list[Issue] = []

    def issue(region, slug, message):
        issues.append(Issue(task, annotation, None if region is None else str(region), slug, message))

    regions = _spans(results, text, onto, issue)
    ids = {rid: record_id(rid) for rid in regions}
    entities, events = _mentions(regions, ids, text, onto)
    _attributes(results, regions, entities, events, onto, issue)
    clusters = _relations(results, regions, ids, events, onto, issue)
    record = {
        "kind": "annotation",
        "schema_version": onto.version,
        "document": document,
        "annotator": annotator,
        "text_sha256": sha256_text(text),
        "source": dict(source or {}),
        "entities": list(entities.values()),
        "events": list(events.values()),
        **clusters,
    }
    return Converted(canonical(record), issues)


def _spans(results: list[dict], text: str, onto: ontology.Ontology, issue) -> dict[str, dict]:
    """Pass 1, the labels: region id -> {"kind", "type", "start", "end"}. A span is kept only when its
    offsets fit the text, it has one known label and Label Studio's copy of its text agrees, since
    every later pass refers to spans by region id."""
    entity_types = set(onto.entity_names)
    event_types = set(onto.event_names)
    regions: dict[str, dict] = {}
    for r in results:
        if r.get("type") != "labels":
            continue
        rid, control, value = r.get("id"), r.get("from_name"), r.get("value") or {}
        if control not in (ENTITY, EVENT):
            issue(rid, "unknown-result", f"labels from unknown control {control!r}")
            continue
        start, end = value.get("start"), value.get("end")
        if not span_fits(start, end, len(text)):
            issue(rid, "offset-out-of-range", f"span {start!r}..{end!r} is not inside the text (length {len(text)})")
            continue
        labels = _first(value, "labels") or []
        if len(labels) != 1:
            issue(rid, "multiple-labels" if labels else "unknown-label",
                  f"span {text[start:end]!r} at {start}..{end} has labels {labels!r}: need exactly one")
            continue
        shown = value.get("text")
        if isinstance(shown, str) and shown != text[start:end]:
            issue(rid, "span-text-mismatch", f"span {start}..{end} says {shown!r} but the text there is {text[start:end]!r}")
            continue
        label = labels[0]
        if label not in (entity_types if control == ENTITY else event_types):
            issue(rid, "unknown-label", f"{control} label {label!r} is not in the ontology")
            continue
        if rid in regions:
            issue(rid, "duplicate-region", "region id used by two spans")
            continue
        regions[rid] = {"kind": control, "type": label, "start": start, "end": end}
    return regions


def _mentions(regions: dict[str, dict], ids: dict[str, str], text: str, onto: ontology.Ontology) -> tuple[dict, dict]:
    """(entities, events) by region id, bare: the span text is always text[start:end], never Label Studio's."""
    entities: dict[str, dict] = {}
    events: dict[str, dict] = {}
    for rid, reg in regions.items():
        span_text = text[reg["start"]:reg["end"]]
        if reg["kind"] == ENTITY:
            e = {"id": ids[rid], "type": reg["type"], "start": reg["start"], "end": reg["end"], "text": span_text, "attributes": {}}
            if reg["type"] in onto.value_types:
                e["normalized"] = None
            entities[rid] = e
        else:
            trigger = _span_value(reg["start"], reg["end"], span_text)
            events[rid] = {"id": ids[rid], "type": reg["type"], "trigger": trigger, "arguments": [], "attributes": {}}
    return entities, events


def _attributes(results: list[dict], regions: dict[str, dict], entities: dict, events: dict, onto: ontology.Ontology, issue) -> None:
    """Pass 2, per-region choices and the normalized text area: set on the span whose region id they
    reuse, when the attribute applies to that kind and type of span."""
    attrs = {a.name: (ENTITY, a) for a in onto.entity_attributes} | {a.name: (EVENT, a) for a in onto.event_attributes}
    iso = _iso_pattern()
    for r in results:
        kind, rid, name, value = r.get("type"), r.get("id"), r.get("from_name"), r.get("value") or {}
        if kind in ("labels", "relation"):
            continue
        if kind == "choices" and name in attrs:
            owner, attr = attrs[name]
            reg = regions.get(rid)
            if reg is None:
                issue(rid, "choice-without-region", f"choice {name!r} refers to no span")
                continue
            if reg["kind"] != owner or (attr.scope and reg["type"] not in attr.scope):
                issue(rid, "attribute-out-of-scope", f"{name!r} does not apply to a {reg['type']} {reg['kind']}")
                continue
            chosen = _first(value, "choices") or []
            if len(chosen) != 1 or chosen[0] not in attr.names:
                issue(rid, "unknown-label", f"{name} choice {chosen!r} is not one of {', '.join(attr.names)}")
                continue
            target = entities.get(rid) or events[rid]
            target["attributes"][name] = chosen[0]
        elif kind == "textarea" and name == NORMALIZED:
            reg = regions.get(rid)
            if reg is None:
                issue(rid, "choice-without-region", "normalized value refers to no span")
                continue
            if reg["kind"] != ENTITY or reg["type"] not in onto.value_types:
                issue(rid, "attribute-out-of-scope", f"normalized value on a {reg['type']} {reg['kind']}")
                continue
            lines = [t.strip() for t in (_first(value, "text") or []) if isinstance(t, str) and t.strip()]
            if not lines:
                continue
            if len(lines) > 1:
                issue(rid, "several-values", f"normalized has {len(lines)} values {lines!r}: keep one")
                continue
            raw = lines[0]
            if reg["type"] == "NUM":
                if re.fullmatch(r"-?\d+", raw):
                    entities[rid]["normalized"] = int(raw)
                else:
                    issue(rid, "bad-normalized-value", f"NUM normalized value {raw!r} is not an integer")
            elif reg["type"] == "TIME" and not iso.match(raw):
                issue(rid, "bad-normalized-value", f"TIME normalized value {raw!r} is not ISO 8601")
            else:
                entities[rid]["normalized"] = raw
        else:
            issue(rid, "unknown-result", f"result of type {kind!r} from {name!r}")


def _relations(results: list[dict], regions: dict[str, dict], ids: dict[str, str], events: dict, onto: ontology.Ontology, issue) -> dict:
    """Pass 3, relations: a role label makes an argument (trigger -> filler, either direction); coref
    links become clusters (connected components, in text order). Returns the two cluster lists."""
    entity_edges, event_edges = [], []
    for r in results:
        if r.get("type") != "relation":
            continue
        a, b = r.get("from_id"), r.get("to_id")
        where = f"{a}->{b}"
        if a not in regions or b not in regions:
            issue(where, "dangling-reference", "relation end is not a span (deleted or never converted)")
            continue
        labels = r.get("labels") or []
        if not labels:
            issue(where, "unknown-label", "relation without a label: choose a role or coref")
        for label in labels:
            ka, kb = regions[a]["kind"], regions[b]["kind"]
            if label == COREF:
                if ka != kb:
                    issue(where, "bad-relation", "coref between an entity and an event")
                else:
                    (entity_edges if ka == ENTITY else event_edges).append((a, b))
            elif label in onto.role_names:
                if ka == kb:
                    issue(where, "bad-relation", f"role {label!r} must link an event trigger and an entity")
                    continue
                ev, en = (a, b) if ka == EVENT else (b, a)
                arg = {"role": label, "entity": ids[en], "type": regions[en]["type"]}
                if arg not in events[ev]["arguments"]:
                    events[ev]["arguments"].append(arg)
            else:
                issue(where, "unknown-label", f"relation label {label!r} is not a role or coref")

    order = sorted(regions, key=lambda rid: (regions[rid]["start"], regions[rid]["end"], ids[rid]))
    clusters = {}
    for key, kind, edges in (("entity_clusters", ENTITY, entity_edges), ("event_clusters", EVENT, event_edges)):
        nodes = [rid for rid in order if regions[rid]["kind"] == kind]
        clusters[key] = [{"id": "", "members": [ids[m] for m in group]} for group in components(nodes, edges)]
    return clusters


# --- a whole export ------------------------------------------------------------------------


@dataclass(frozen=True)
class Superseded:
    """An annotation left out because the same annotator has a later one of the same document."""

    document: str
    annotator: str
    task: object
    annotation: object
    kept_task: object
    kept_annotation: object

    def line(self) -> str:
        return (f"task={self.task} annotation={self.annotation}: {self.annotator} has a later annotation of {self.document} "
                f"(task={self.kept_task} annotation={self.kept_annotation}), which is kept; this one stays in the raw export")


@dataclass
class ExportResult:
    """Records per (document, annotator) from a full JSON export, with everything left out named by id."""

    records: list[dict] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    cancelled: list[tuple] = field(default_factory=list)  # (task id, annotation id)
    superseded: list[Superseded] = field(default_factory=list)
    tasks_without_doc: list = field(default_factory=list)


def annotation_user(annotation: dict) -> tuple[int | None, str | None]:
    """(user id, e-mail or None) of whoever made an exported annotation (None once the user is deleted)."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return who.get("id"), who.get("email")
    return who, None


def convert_annotation(task: dict, doc: str, text: str, ann: dict, annotator: str, onto=None) -> Converted:
    """One exported annotation as a record of `annotator`."""
    source = {"label_studio_task": task.get("id"), "label_studio_annotation": ann.get("id")}
    return results_to_record(ann.get("result") or [], text, document=doc, annotator=annotator, source=source,
                             task=task.get("id"), annotation=ann.get("id"), onto=onto)


def convert_export(tasks: list[dict], pseudonym, onto=None) -> ExportResult:
    """Convert a full JSON export. `pseudonym(task, annotation)` gives the annotator id of an annotation.

    One record per (document, annotator): when an annotator has several annotations of a document
    (in one task or in several), the latest is kept and each other one is named in `superseded`.
    """
    out = ExportResult()
    latest: dict[tuple[str, str], tuple[tuple, dict, dict, str]] = {}
    older: list[tuple[tuple[str, str], dict, dict]] = []
    for task in tasks:
        data = task.get("data") or {}
        doc, text = data.get("doc_id"), data.get("text")
        anns = [a for a in task.get("annotations") or () if isinstance(a, dict)]
        out.cancelled += [(task.get("id"), a.get("id")) for a in anns if a.get("was_cancelled")]
        live = [a for a in anns if not a.get("was_cancelled")]
        if not live:
            continue
        if not isinstance(doc, str) or not isinstance(text, str):
            out.tasks_without_doc.append(task.get("id"))
            continue
        for ann in live:
            stamp = (str(ann.get("updated_at") or ann.get("created_at") or ""), str(ann.get("id")))
            key = (doc, pseudonym(task, ann))
            if key in latest and latest[key][0] > stamp:
                older.append((key, task, ann))
                continue
            if key in latest:
                older.append((key, latest[key][1], latest[key][2]))
            latest[key] = (stamp, task, ann, text)
    for key, task, ann in older:
        _, kept_task, kept_ann, _ = latest[key]
        out.superseded.append(Superseded(*key, task.get("id"), ann.get("id"), kept_task.get("id"), kept_ann.get("id")))
    for key in sorted(latest):
        _, task, ann, text = latest[key]
        conv = convert_annotation(task, key[0], text, ann, key[1], onto)
        out.records.append(conv.record)
        out.issues.extend(conv.issues)
    return out
