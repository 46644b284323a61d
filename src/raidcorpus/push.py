"""Push the corpus into a Label Studio project: idempotent, one task per article.

A task carries the document id and the sha256 of its text. An article already in the
project with the same hash is skipped; with a different hash it is reported, never
imported twice. An annotation layer (e.g. gold) can ride along as predictions.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import orjson

from . import convert, fileio, ls_config, muckeys, ontology, recommend
from .labelstudio import Ambiguous, LabelStudio
from .errors import Problem, ProblemError, UserError
from .records import Reader
from .text import sha256_text

BATCH = 1000  # tasks per import request (1,000 tasks: 10.0 s in batches of 100, 7.1 s in one)


@dataclass
class PushReport:
    project: str
    project_id: int = 0
    created: bool = False
    config_updated: bool = False
    settings_updated: list[str] = field(default_factory=list)
    data_updated: int = 0
    imported: int = 0
    skipped: int = 0
    changed: list[tuple[str, int]] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    predictions_added: int = 0
    predictions_replaced: int = 0
    predictions_unchanged: int = 0
    predictions_missing: list[str] = field(default_factory=list)
    predictions_stale: list[str] = field(default_factory=list)
    recommender: int | None = None  # the id of the ML backend connected to the project

    def lines(self) -> list[str]:
        out = [f"project {self.project!r} (id {self.project_id}){': created' if self.created else ''}"]
        if self.config_updated:
            out.append("labelling config updated from the schema")
        if self.settings_updated:
            out.append(f"project settings updated: {', '.join(self.settings_updated)}")
        if self.data_updated:
            out.append(f"{self.data_updated} tasks' title, outlet and date brought up to date")
        out.append(f"{self.imported} tasks imported, {self.skipped} already there")
        for doc, task in self.changed:
            out.append(f"changed: {doc} has a different text than task {task}: not imported again (review it by hand)")
        for doc in self.duplicated:
            out.append(f"duplicate: {doc} is in more than one task of the project")
        if self.predictions_added or self.predictions_replaced or self.predictions_unchanged:
            out.append(f"predictions: {self.predictions_added} added, {self.predictions_replaced} replaced, {self.predictions_unchanged} unchanged")
        if self.predictions_missing:
            out.append(f"no prediction layer for {len(self.predictions_missing)} documents")
        for doc in self.predictions_stale:
            out.append(f"prediction skipped: {doc}: the layer's text_sha256 differs from the corpus")
        if self.recommender is not None:
            out.append(f"recommender connected (ML backend {self.recommender}): tasks ask it for predictions when they open")
        return out


def read_corpus(corpus_dir: str | Path) -> list[dict]:
    """Corpus records sorted by id; an unreadable record is an error, not a silent skip."""
    corpus_dir = Path(corpus_dir)
    if not corpus_dir.is_dir():
        raise UserError(f"no corpus folder at {corpus_dir}", 2)
    reader = Reader(corpus_dir)
    docs = [reader.read(path, "document") for path in sorted(corpus_dir.glob("*.json"))]
    if not docs:
        raise UserError(f"no corpus records in {corpus_dir}", 2)
    return sorted(docs, key=lambda d: d["id"])


def task_data(doc: dict) -> dict:
    """What a task carries: ids, the text, and what the labelling screen shows above it (the
    guidelines resolve every TIME against the publication date)."""
    title = doc.get("title") or "(no title)"
    outlet = doc.get("outlet") or "outlet unknown"
    published = doc.get("published") or "date unknown"
    return {"doc_id": doc["id"], "sha256": doc["sha256"], "title": doc.get("title") or "", "outlet": doc.get("outlet") or "",
            "published": doc.get("published") or "", "header": f"{title} | {outlet} | published {published}", "text": doc["text"]}


def project_settings(overlap: int, instructions: str | None = None) -> dict:
    """Project fields for `overlap` independent layers: every task goes to `overlap` different
    annotators (Label Studio never gives one annotator the same task twice), the label stream
    shows an annotator only their own annotation, and with overlap > 1 no prediction primes them."""
    if overlap < 1:
        raise UserError(f"--overlap must be at least 1, not {overlap}", 2)
    settings = {
        "maximum_annotations": overlap,
        "overlap_cohort_percentage": 100,
        "show_overlap_first": overlap > 1,
        "sampling": "Sequential sampling",
        "skip_queue": "REQUEUE_FOR_OTHERS",
        "show_collab_predictions": overlap == 1,
        "reveal_preannotations_interactively": False,
        "show_annotation_history": False,
        "show_skip_button": True,
    }
    if instructions is not None:
        settings |= {"expert_instruction": instructions, "show_instruction": True}
    return settings


def config_values(config: str) -> set[tuple[str, str]]:
    """(control, value) pairs a config offers: labels, choices, and ("relations", label)."""
    root = ET.fromstring(config)
    pairs = set()
    for parent in root.iter():
        for child in parent:
            if child.tag in ("Label", "Choice") and "value" in child.attrib:
                pairs.add((parent.get("name", ""), child.get("value")))
            elif child.tag == "Relation":
                pairs.add(("relations", child.get("value")))
    return pairs


def used_values(export: list[dict]) -> set[tuple[str, str]]:
    """(control, value) pairs used by the annotations in an export."""
    used = set()
    for task in export:
        for ann in task.get("annotations") or ():
            for r in ann.get("result") or ():
                value = r.get("value") or {}
                if r.get("type") == "relation":
                    used.update(("relations", label) for label in r.get("labels") or ())
                for key in ("labels", "choices"):
                    used.update((r.get("from_name", ""), v) for v in value.get(key) or () if isinstance(v, str))
    return used


def select(docs: list[dict], sets: list[str] | None = None, ids_file: Path | None = None) -> list[dict]:
    """The documents a push sends: those of the MUC sets named (`muc.set`, e.g. TST3) and/or those
    listed in `ids_file` (one document id a line, blank lines and '#' comments ignored); with both,
    a document must be in both. A listed id that is not in the corpus stops the push in one line."""
    chosen = docs
    if sets:
        wanted = {s.upper() for s in sets}
        chosen = [d for d in docs if str((d.get("muc") or {}).get("set", "")).upper() in wanted]
        if not chosen:
            raise UserError(f"no corpus document is in the set(s) {', '.join(sorted(wanted))}", 2)
    if ids_file is None:
        return chosen
    try:
        lines = Path(ids_file).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{ids_file}: cannot read the list of ids ({type(e).__name__})", 2) from None
    known = {d["id"] for d in docs}
    listed, problems = set(), []
    for n, line in enumerate(lines):
        doc_id = line.split("#", 1)[0].strip()
        if not doc_id:
            continue
        if not fileio.is_id(doc_id):
            problems.append(Problem(str(ids_file), doc_id, f"/{n}", "bad-id", f"line {n + 1} is not a document id"))
        elif doc_id not in known:
            problems.append(Problem(str(ids_file), doc_id, f"/{n}", "unknown-document", f"line {n + 1}: no such document in the corpus"))
        listed.add(doc_id)
    if problems:
        raise ProblemError(problems, exit_code=2)
    return [d for d in chosen if d["id"] in listed]


def _layer(annotations_dir: Path, doc: dict, layer: str, report: PushReport, reader: Reader) -> list[dict] | None:
    record = _layer_record(annotations_dir, doc, layer, report, reader)
    return None if record is None else _results(layer, doc, record)


def _results(layer: str, doc: dict, record: dict) -> list[dict]:
    """A layer's record as prediction results; the MUC-4 key's located fillers as entity regions."""
    if layer == muckeys.LAYER:
        fillers = recommend.record_fillers(record, f"{doc['id']}/{recommend.KEY_FILE}", doc["id"], doc["text"])
        return recommend.key_prediction(doc["text"], fillers)["result"]
    return convert.record_to_results(record)


def _layer_record(annotations_dir: Path, doc: dict, layer: str, report: PushReport, reader: Reader) -> dict | None:
    """A document's prediction layer (or its muc4-key record), read and checked (a broken one stops
    the push in one line)."""
    path = annotations_dir / doc["id"] / f"{layer}.json"
    if not path.exists():
        report.predictions_missing.append(doc["id"])
        return None
    record = reader.read(path, "muc4_key" if layer == muckeys.LAYER else "annotation")  # ids and references (levels 1-2); a stale text is reported below
    if record.get("text_sha256") != doc["sha256"]:
        report.predictions_stale.append(doc["id"])
        return None
    return record


def ensure_project(server: LabelStudio, title: str, config: str, report: PushReport, settings: dict | None = None):
    """Find or create the project; bring its config up to date unless that would orphan annotations,
    and its settings (overlap, what annotators see) to `settings`."""
    project = server.find_project(title)
    if project is None:
        project = server.create_project(title, config, ontology.load().title)
        report.created = True
    if settings:
        changed = {k: v for k, v in settings.items() if getattr(project, k, None) != v}
        if changed:
            server.update_project(project.id, changed)
            if not report.created:
                report.settings_updated = [k if k == "expert_instruction" else f"{k}={v}" for k, v in sorted(changed.items())]
    if not report.created and (project.label_config or "").strip() != config.strip():
        removed = config_values(project.label_config or "<View/>") - config_values(config)
        if removed:
            used = used_values(orjson.loads(server.export(project.id))) & removed
            if used:
                names = ", ".join(f"{c}={v}" for c, v in sorted(used)[:10])
                raise UserError(f"the new config drops labels that existing annotations use ({names}): "
                                "keep them in the schema or fix those annotations first")
        server.update_config(project.id, config)
        report.config_updated = True
    report.project_id = project.id
    return project


def push(
    server: LabelStudio,
    title: str,
    corpus_dir: str | Path = "corpus",
    annotations_dir: str | Path = "annotations",
    predictions: str | None = None,
    config: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    overlap: int = 2,
    sets: list[str] | None = None,
    ids_file: Path | None = None,
    recommender: str | None = None,
) -> PushReport:
    """Create or update the project (config, `overlap` independent layers per task, instructions)
    and import the articles it lacks (all, or those `select` chooses), with a prediction layer
    (`muc4-key`: the MUC-4 key's located fillers); then connect the ML backend at `recommender`.

    Runs for one server and project title are serialized by a lock (see push_lock)."""
    with push_lock(getattr(server, "url", ""), title):
        report = _push(server, title, corpus_dir, annotations_dir, predictions, config, progress, overlap,
                       lambda docs: select(docs, sets, ids_file), recommender)
        if recommender:
            report.recommender = recommend.connect(server, report.project_id, recommender)
        return report


LOCK_WAIT = 600.0  # seconds a push waits for another push of the same project


@contextmanager
def push_lock(url: str, title: str):
    """Hold a per-(server, project) lock in the user's cache folder, waiting up to LOCK_WAIT for it:
    two pushes at once would both see a document missing and both import it."""
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "raidcorpus" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{url}\n{title}".encode()).hexdigest()[:16]  # no URL (or password in it) in the name
    fd = os.open(folder / f"push-{key}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise UserError(f"another push into project {title!r} has been running for {LOCK_WAIT:.0f} s: try again later") from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)


def task_key(data: dict) -> tuple:
    """What marks a task as a corpus document: its doc_id and the sha256 of the text it carries."""
    return data.get("doc_id"), data.get("sha256")


def import_exactly_once(server: LabelStudio, project_id: int, batch: list[dict], what: str = "tasks", attempts: int = 4) -> None:
    """Import a batch so that each task arrives once: after a failed or ambiguous reply (the server
    may have committed it), read the project back and send only what did not arrive."""
    pending = batch
    for attempt in range(attempts):
        try:
            if what == "tasks":
                server.import_tasks(project_id, pending)
            else:
                server.import_predictions(project_id, pending)
            return
        except Ambiguous as e:
            problem = e.message
            time.sleep(getattr(server, "backoff", 0.5) * 2**attempt)
            tasks = server.tasks(project_id)
            if what == "tasks":
                present = {task_key(t.get("data") or {}) for t in tasks}
                pending = [t for t in pending if task_key(t["data"]) not in present]
            else:
                present = {(t["id"], p.get("model_version"), orjson.dumps(p.get("result"))) for t in tasks for p in t.get("predictions") or ()}
                pending = [p for p in pending if (p["task"], p["model_version"], orjson.dumps(p["result"])) not in present]
            if not pending:
                return
    raise UserError(f"{problem}; {len(pending)} of {len(batch)} {what} of the batch did not arrive after {attempts} tries: "
                    "run push again (it imports only what is missing)")


def _push(server, title, corpus_dir, annotations_dir, predictions, config, progress, overlap=2,
          choose=lambda docs: docs, recommender=None) -> PushReport:
    docs = choose(read_corpus(corpus_dir))
    layers = Reader(corpus_dir, level=2)
    annotations_dir = Path(annotations_dir)
    settings = project_settings(overlap, ls_config.instructions())
    if predictions == muckeys.LAYER or recommender:
        # annotators start from the keys (or the recommender's proposals, keys first): shown to both
        # annotators of a task alike, a deliberate exception to no priming (docs/label-studio.md)
        settings |= {"show_collab_predictions": True, "model_version": recommend.MODEL_VERSION if recommender else predictions}
    server.check()
    report = PushReport(project=title)
    project = ensure_project(server, title, config or ls_config.render(), report, settings)

    by_doc: dict[str, list[dict]] = {}
    for task in server.tasks(project.id):
        doc_id = (task.get("data") or {}).get("doc_id")
        if doc_id:
            by_doc.setdefault(doc_id, []).append(task)
    report.duplicated = sorted(d for d, ts in by_doc.items() if len(ts) > 1)

    new_docs, old_predictions = [], []
    for doc in docs:
        present = by_doc.get(doc["id"])
        if not present:
            # read and checked now, before anything is imported; converted batch by batch below
            new_docs.append((doc, _layer_record(annotations_dir, doc, predictions, report, layers) if predictions else None))
            continue
        results = _layer(annotations_dir, doc, predictions, report, layers) if predictions else None
        # the text itself, not only its stored hash: a task edited in Label Studio keeps the old hash field
        same = [t for t in present if task_key(t.get("data") or {}) == (doc["id"], doc["sha256"])
                and sha256_text(str((t.get("data") or {}).get("text"))) == doc["sha256"]]
        if not same:
            report.changed.append((doc["id"], present[0]["id"]))
            continue
        report.skipped += 1
        for t in same:
            data = t.get("data") or {}
            if any(data.get(k) != v for k, v in task_data(doc).items()):
                server.update_task_data(t["id"], data | task_data(doc))  # other fields (feedback) stay
                report.data_updated += 1
        if results is not None:
            old_predictions.append((same[0], results))

    total = len(new_docs)
    if progress:
        progress(0, total)
    for i in range(0, total, BATCH):
        batch = []
        for doc, record in new_docs[i:i + BATCH]:  # layers converted a batch at a time
            task = {"data": task_data(doc)}
            if record is not None:
                task["predictions"] = [{"model_version": predictions, "result": _results(predictions, doc, record)}]
            batch.append(task)
        import_exactly_once(server, project.id, batch)
        report.imported += len(batch)
        report.predictions_added += sum(1 for t in batch if "predictions" in t)
        if progress:
            progress(i + len(batch), total)

    fresh = []
    for task, results in old_predictions:
        mine = [p for p in task.get("predictions") or () if p.get("model_version") == predictions]
        if any(p.get("result") == results for p in mine):
            report.predictions_unchanged += 1
            continue
        for p in mine:
            server.delete_prediction(p["id"])
        report.predictions_replaced += 1 if mine else 0
        report.predictions_added += 0 if mine else 1
        fresh.append({"task": task["id"], "model_version": predictions, "result": results})
    for i in range(0, len(fresh), BATCH):
        import_exactly_once(server, project.id, fresh[i:i + BATCH], "predictions")
    return report


def submit(server: LabelStudio, title: str, record_path: str | Path, corpus_dir: str | Path = "corpus") -> str:
    """Submit an annotation record as the token owner's annotation of the matching task (create or update)."""
    record = Reader(corpus_dir).read(record_path, "annotation")
    me = server.check()
    project = server.project(title)
    tasks = [t for t in server.tasks(project.id) if (t.get("data") or {}).get("doc_id") == record["document"]]
    if not tasks:
        raise UserError(f"{record_path}: document {record['document']} is not in project {title!r}: push it first")
    task = tasks[0]
    if task["data"].get("sha256") != record.get("text_sha256"):
        raise UserError(f"{record_path}: text_sha256 differs from task {task['id']}'s text")
    results = convert.record_to_results(record)
    mine = [a for a in task.get("annotations") or () if _user_id(a.get("completed_by")) == me and not a.get("was_cancelled")]
    if mine:
        if mine[0].get("result") == results:
            return f"task {task['id']}: unchanged"
        server.update_annotation(mine[0]["id"], results)
        return f"task {task['id']}: annotation {mine[0]['id']} updated"
    created = server.create_annotation(task["id"], results)
    return f"task {task['id']}: annotation {created['id']} created"


def _user_id(who):
    return who.get("id") if isinstance(who, dict) else who
