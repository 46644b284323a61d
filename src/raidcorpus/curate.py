"""curate: adjudication in Label Studio, written back as decisions.yaml.

`curate --push` finds every document whose layers disagree on something no decision settles
yet and puts it into a curation project: the task lists the undecided items in words, and each
annotator's layer rides along as a prediction labelled with the annotator's pseudonym. The
curator starts from one of them, keeps or fixes what is right (agreed items are in every
prediction), gives reasons in the per-region `reason` box or the task's `note`, and submits.

`curate --pull` compares the curator's annotation with each undecided item and writes the
decision that item needs (take a layer's version, reject it, or edit it) with the curator's
reason into annotations/<doc>/decisions.yaml, appended after the decisions already there.
Decisions made by hand are never changed: where the curator's annotation contradicts one, the
conflict is reported and the hand decision stays. Gold then comes from `raidcorpus adjudicate`
as before, byte for byte reproducible from the layers and the decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import adjudicate, align, convert, gold, fileio, itemkey, ls_config, push
from .errors import ProblemError, UserError
from .labelstudio import LabelStudio
from .ontology import load as load_ontology
from .records import Reader

REASON = "reason"  # per-region text area of the curation config
NOTE = "note"  # task-level text area: the reason for decisions not tied to one region
DISPUTED = "disputed"  # task data field: the undecided items in words
DEFAULT_REASON = "curated in Label Studio"


def config() -> str:
    """The labelling config plus the curator's reason boxes and the list of disputed items."""
    base = ls_config.render()
    title = next((t for t in ('  <Header value="$header" size="4"/>\n', '  <Header value="$title"/>\n') if t in base), "")
    if not title:
        raise UserError("the labelling config has no title header to put the disputed items under")
    disputed = ('  <View style="white-space: pre-line; color: #1a237e">\n'
                f'    <Header value="${DISPUTED}" size="6"/>\n'
                "  </View>\n")
    head, _, _ = base.replace(title, title + disputed, 1).rpartition("</View>")
    extra = [
        '  <View visibleWhen="region-selected">',
        '    <Header value="reason (the guideline section that decides it)" size="6"/>',
        f'    <TextArea name="{REASON}" toName="{ls_config.TEXT}" perRegion="true" editable="true" maxSubmissions="1" rows="1"/>',
        "  </View>",
        '  <Header value="note: the reason for decisions on links and anything not tied to one region" size="6"/>',
        f'  <TextArea name="{NOTE}" toName="{ls_config.TEXT}" editable="true" maxSubmissions="1" rows="2"/>',
    ]
    return head + "\n".join(extra) + "\n</View>\n"


def default_title(onto=None) -> str:
    return f"{(onto or load_ontology()).title} (curation)"


@dataclass
class Pending:
    """A document whose layers disagree on items no decision settles."""

    document: str
    folder: Path
    records: dict[str, dict]
    text: dict
    decisions: list[dict]
    undecided: list[gold.Conflict]


def pending(annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus", docs: set[str] | None = None):
    """Documents with undecided items, one at a time (with their hand decisions as they stand)."""
    onto = load_ontology()
    reader = Reader(corpus_dir)  # layers checked as validate checks them, text hashes included
    decisions_reader = Reader(corpus_dir, level=2)
    for doc, files in align.collect([annotations_dir]).items():
        if len(files) < 2 or (docs is not None and doc not in docs):
            continue
        records = reader.read_layers(doc, files)
        document = reader.document(doc)
        folder = next(iter(files.values())).parent
        where = folder / "decisions.yaml"
        found, problems = adjudicate.read_decisions(where, decisions_reader) if where.is_file() else ({}, [])
        if problems:
            raise ProblemError(problems)
        ds = found.get(doc, [])
        out = gold.build_gold(doc, {a: align.index_layer(r) for a, r in records.items()}, ds, document, onto, str(where))
        if out.undecided:
            yield Pending(doc, folder, records, document, ds, out.undecided)


def describe(c: gold.Conflict) -> str:
    text = f" {c.text!r}" if c.text else ""
    return f"{c.key}{text}: " + "; ".join(f"{a}: {adjudicate._short(v)}" for a, v in c.versions.items())


@dataclass
class CurateReport:
    lines: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)


def push_curation(server: LabelStudio, title: str, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> CurateReport:
    """Create or update the curation project and add a task for each document with undecided items."""
    report = CurateReport()
    cfg = config()
    project = server.find_project(title)
    if project is None:
        project = server.create_project(title, cfg, "Curation of the annotators' disagreements (raidcorpus curate)")
        report.lines.append(f"project {title!r} (id {project.id}): created")
    else:
        if (project.label_config or "") != cfg:
            server.update_config(project.id, cfg)
        report.lines.append(f"project {title!r} (id {project.id})")
    there = {(t.get("data") or {}).get("doc_id"): t for t in server.tasks(project.id)}
    new = []
    for p in pending(annotations_dir, corpus_dir):
        if p.document in there:
            report.lines.append(f"{p.document}: already in the curation project (task {there[p.document]['id']}), "
                                f"{len(p.undecided)} undecided items")
            continue
        data = push.task_data(p.text) | {DISPUTED: "Undecided:\n" + "\n".join(describe(c) for c in p.undecided)}
        preds = [{"model_version": a, "result": convert.record_to_results(r)} for a, r in sorted(p.records.items())]
        new.append({"data": data, "predictions": preds})
        report.lines.append(f"{p.document}: {len(p.undecided)} undecided items, layers {', '.join(sorted(p.records))}")
    if new:
        server.import_tasks(project.id, new)
    report.lines.append(f"{len(new)} documents added for curation")
    return report


# --- the curator's annotation -> decisions ---------------------------------------------------


def _texts(results: list, control: str) -> dict[str, str]:
    out = {}
    for r in results:
        if isinstance(r, dict) and r.get("from_name") == control and r.get("type") == "textarea":
            lines = [t.strip() for t in (r.get("value") or {}).get("text") or () if isinstance(t, str) and t.strip()]
            if lines:
                out[str(r.get("id"))] = " ".join(lines)
    return out


def curator_record(task: dict, annotation: dict) -> tuple[dict, dict[str, str], str, list]:
    """(record, reason per region key, note, converter issues) of a curator's annotation."""
    data = task.get("data") or {}
    results = [r for r in annotation.get("result") or () if not (isinstance(r, dict) and r.get("from_name") in (REASON, NOTE))]
    conv = convert.results_to_record(results, data["text"], document=data["doc_id"], annotator="curator",
                                     task=task.get("id"), annotation=annotation.get("id"))
    reasons_by_region = _texts(annotation.get("result") or [], REASON)
    note = " ".join(_texts(annotation.get("result") or [], NOTE).values())
    keys = {}
    for e in conv.record["entities"]:
        keys[e["id"]] = align.entity_key(e)
    for ev in conv.record["events"]:
        keys[ev["id"]] = align.event_key(ev)
    by_key = {keys[convert.record_id(rid)]: text for rid, text in reasons_by_region.items() if convert.record_id(rid) in keys}
    return conv.record, by_key, note, conv.issues


def _item_of(key: str) -> tuple[str, ...]:
    """The mention keys an item key is about (for its reason)."""
    return tuple(str(m) for m in itemkey.key(key).mentions())


def _version(item: dict) -> dict:
    return gold._layer_version(item)


def decide(conflict: gold.Conflict, layers: dict[str, align.Layer], cur: align.Layer, onto) -> dict | None:
    """The decision (without id and reason) that makes gold agree with the curator on one item; None if it cannot."""
    key = conflict.key
    parsed = itemkey.key(key)
    names = sorted(layers)
    if parsed.kind == "attr":
        item, name = str(parsed.mention), parsed.name
        mine = cur.entities.get(item) or cur.events.get(item)
        if mine is None:
            return None
        attrs = (align.entity_attributes if parsed.mention.kind == "entity" else align.event_attributes)(onto, mine)
        value = attrs.get(name)
        same = [a for a in names if conflict.versions.get(a) == value]
        if same:
            return {"item": key, "action": "take", "layer": same[0]}
        if value is None and "reject" in conflict.actions:
            return {"item": key, "action": "reject"}
        return {"item": key, "action": "edit", "value": {name: value}}
    if parsed.kind in ("arg", "coref"):
        if parsed.kind == "arg":
            present = key in cur.arguments
            have = [a for a in names if key in layers[a].arguments]
        else:
            kind = parsed.mention.kind
            present = key in cur.links(kind)
            have = [a for a in names if key in layers[a].links(kind)]
        if present and have:
            return {"item": key, "action": "take", "layer": have[0]}
        return None if present else {"item": key, "action": "reject"}
    pool = "entities" if parsed.kind == "entity" else "events"
    mine = getattr(cur, pool).get(key)
    if mine is None:
        return {"item": key, "action": "reject"}
    have = [a for a in names if key in getattr(layers[a], pool)]
    version = _version(mine)
    same = [a for a in have if _version(getattr(layers[a], pool)[key]) == version]
    if same:
        return {"item": key, "action": "take", "layer": same[0]}
    value = {"attributes": dict(mine.get("attributes") or {})}
    if "normalized" in mine:
        value["normalized"] = mine.get("normalized")
    return {"item": key, "action": "edit", "layer": have[0], "value": value}


def contradicts(d: dict, cur: align.Layer) -> bool:
    """True when a hand decision says the opposite of the curator's annotation (presence of the item)."""
    key = d["item"]
    parsed = itemkey.key(key)
    if parsed.kind == "attr":
        return False  # values are compared only for undecided items
    if parsed.kind == "arg":
        present = key in cur.arguments
    elif parsed.kind == "coref":
        present = key in cur.links(parsed.mention.kind)
    else:
        present = key in cur.entities or key in cur.events
    return present != (d["action"] != "reject")


def _append(where: Path, doc: str, decisions: list[dict], version: str) -> None:
    """Append decisions to a decisions file, leaving every byte already there as it is."""
    block = yaml.safe_dump(decisions, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)
    if where.is_file():
        old = where.read_text(encoding="utf-8")
        new = old + ("" if old.endswith("\n") else "\n") + block
    else:
        head = (f"# Adjudication decisions for {doc}; one line of reason each.\n"
                + yaml.safe_dump({"kind": "decisions", "schema_version": version, "document": doc}, sort_keys=False)
                + "decisions:\n")
        new = head + block
    check = where.with_name(f".{where.name}.check")
    check.write_text(new, encoding="utf-8")
    try:
        found, problems = adjudicate.read_decisions(check)
    finally:
        check.unlink(missing_ok=True)
    if problems or [d["id"] for d in found.get(doc, [])][-len(decisions):] != [d["id"] for d in decisions]:
        raise UserError(f"{where}: the curator's decisions cannot be appended (is 'decisions:' the last key of the file?): "
                        + (problems[0].line() if problems else "the file reads back differently"))
    fileio.write_bytes_atomic(where, new.encode("utf-8"))


def pull_curation(server: LabelStudio, title: str, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> CurateReport:
    """Turn each curated task's latest annotation into decisions for that document's undecided items."""
    report = CurateReport()
    onto = load_ontology()
    project = server.project(title)
    curated = {}
    for task in fileio.loads_json(server.export(project.id)):
        live = [a for a in task.get("annotations") or () if not a.get("was_cancelled")]
        if live and isinstance((task.get("data") or {}).get("doc_id"), str):
            latest = max(live, key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
            curated[task["data"]["doc_id"]] = (task, latest)
    if not curated:
        report.lines.append(f"no curated tasks in {title!r} yet")
        return report
    for p in pending(annotations_dir, corpus_dir, set(curated)):
        task, ann = curated.pop(p.document)
        record, reasons, note, issues = curator_record(task, ann)
        where = f"task={task.get('id')} annotation={ann.get('id')}"
        for i in issues:
            report.conflicts.append(f"{p.document} {i.line()}: not used; fix it in Label Studio")
        cur = align.index_layer(record)
        layers = {a: align.index_layer(r) for a, r in p.records.items()}
        for d in p.decisions:
            if contradicts(d, cur):
                report.conflicts.append(f"{p.folder / 'decisions.yaml'} doc={p.document} decision {d['id']} ({d['item']}: {d['action']}) "
                                        f"differs from the curator's annotation ({where}); the hand decision is kept")
        taken = {d["id"] for d in p.decisions}
        new, seen, n = [], set(), 0

        def reason_for(key: str) -> str:
            reason = next((reasons[k] for k in _item_of(key) if k in reasons), None) or note or f"{DEFAULT_REASON} ({where})"
            return reason if len(reason) >= 3 else f"{DEFAULT_REASON}: {reason}"

        def record_decision(d: dict) -> None:
            nonlocal n
            n += 1
            while f"c{n}" in taken:
                n += 1
            taken.add(f"c{n}")
            new.append({"id": f"c{n}", **d, "reason": reason_for(d["item"])})

        # What the curator added that no layer has: mentions, then arguments (coreference is left
        # out: a chain joined from two layers' links has pairs neither layer has).
        decided = {d["item"] for d in p.decisions}
        for key in [*cur.entities, *cur.events, *cur.arguments]:
            if key in decided or any(key in lay.entities or key in lay.events or key in lay.arguments for lay in layers.values()):
                continue
            if key.startswith("arg:"):
                record_decision({"item": key, "action": "add"})
                continue
            mine = cur.entities.get(key) or cur.events.get(key)
            value = {"attributes": dict(mine.get("attributes") or {})}
            if mine.get("normalized") is not None:
                value["normalized"] = mine["normalized"]
            record_decision({"item": key, "action": "add", "value": value})
        undecided = p.undecided
        for _ in range(10):  # deciding a mention can bring up its attributes and links: repeat until settled
            fresh = [c for c in undecided if c.key not in seen]
            if not fresh:
                break
            for c in fresh:
                seen.add(c.key)
                d = decide(c, layers, cur, onto)
                if d is None:
                    report.conflicts.append(f"doc={p.document} item={c.key} {where}: the curator's annotation does not settle it; "
                                            "decide it by hand")
                    continue
                record_decision(d)
            out = gold.build_gold(p.document, layers, p.decisions + new, p.text, onto)
            undecided = out.undecided
        if new:
            path = p.folder / "decisions.yaml"
            _append(path, p.document, new, onto.version)
            report.written.append(str(path))
            report.lines.append(f"{p.document}: {len(new)} decisions from {where} appended to {path}")
    for doc in sorted(curated):
        report.lines.append(f"{doc}: nothing undecided any more; the curated task is not needed")
    return report
