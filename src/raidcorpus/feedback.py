"""Validation in the loop: an annotator sees the problems of their annotation in Label Studio.

Label Studio (Community) calls a webhook of ours when an annotation is created, updated or
deleted. The receiver answers at once and, on a worker thread, reads the task back from the
server (the payload is only a hint of which task changed: it is never trusted), converts each
live annotation with the project's converter, runs the validator's checks and writes the
problems, in words naming the region's text and the rule, into the task's `problems` field
(shown above the text in the labelling view, filterable in the data manager together with
`problem_count`). When the annotation is fixed the field is emptied.

The wording functions at the top are pure and shared with `pull`, whose problem lines name
the same task, annotation, region and text.
"""

from __future__ import annotations

import http.server
import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import checks, convert, ontology
from .ls_config import FEEDBACK
from .errors import Problem, UserError
from .labelstudio import LabelStudio

FIELD = FEEDBACK  # the task data field shown in the labelling view
COUNT_FIELD = "problem_count"  # its number, for the data manager's filters
ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")
PATH = "/raidcorpus-feedback"  # the webhook's path: how our webhooks are told from others
MAX_BODY = 16 << 20  # bytes: a webhook payload larger than this is refused unread

log = logging.getLogger("raidcorpus.feedback")


# --- words for problems (pure) ---------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem of one annotation, in the annotator's terms."""

    task: int | str | None
    annotation: int | str | None
    region: str | None
    text: str  # the region's text ("" when the problem is not about one region)
    slug: str
    words: str

    def line(self, url: str | None = None) -> str:
        where = f" {url}" if url else ""
        quoted = f" {json.dumps(self.text, ensure_ascii=False)}" if self.text else ""
        return f"task={self.task} annotation={self.annotation} region={self.region or '-'}{quoted} [{self.slug}] {self.words}{where}"


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def _q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _index(items, i):
    try:
        return items[int(i)]
    except (ValueError, IndexError, TypeError, KeyError):
        return None


def describe(problem: Problem, record: dict, onto: ontology.Ontology | None = None) -> tuple[str | None, str, str]:
    """(region id, region text, words) for a validator problem found in `record`."""
    onto = onto or ontology.load()
    parts = [_unescape(p) for p in problem.pointer.strip("/").split("/") if p]
    entities = {e.get("id"): e for e in record.get("entities") or () if isinstance(e, dict)}
    if len(parts) >= 2 and parts[0] == "entities":
        ent = _index(record.get("entities") or [], parts[1]) or {}
        text = str(ent.get("text") or "")
        return ent.get("id"), text, f"{ent.get('type')} {_q(text)}: {problem.message}"
    if len(parts) >= 2 and parts[0] == "events":
        ev = _index(record.get("events") or [], parts[1]) or {}
        etype = ev.get("type")
        trigger = str((ev.get("trigger") or {}).get("text") or "")
        if len(parts) >= 4 and parts[2] == "arguments":
            arg = _index(ev.get("arguments") or [], parts[3]) or {}
            ent = entities.get(arg.get("entity")) or {}
            text = str(ent.get("text") or "")
            role = arg.get("role")
            known = onto.event(etype or "")
            if problem.slug == "role-not-allowed" and known:
                roles = ", ".join(r.name for r in known.roles)
                return ent.get("id"), text, f"{_q(text)} cannot be the {role} of {etype} {_q(trigger)}: {etype} takes {roles}"
            if problem.slug == "filler-type-not-allowed" and known and known.role(role or ""):
                fillers = ", ".join(known.role(role).fillers)
                return ent.get("id"), text, (f"{_q(text)} is a {arg.get('type')} and cannot be the {role} of {etype} "
                                            f"{_q(trigger)}: its {role} is one of {fillers}")
            return ent.get("id") or ev.get("id"), text, f"{role} {_q(text)} of {etype} {_q(trigger)}: {problem.message}"
        return ev.get("id"), trigger, f"{etype} {_q(trigger)}: {problem.message}"
    if len(parts) >= 2 and parts[0] in ("entity_clusters", "event_clusters"):
        cluster = _index(record.get(parts[0]) or [], parts[1]) or {}
        members = cluster.get("members") or []
        first = entities.get(members[0]) if members else None
        text = str((first or {}).get("text") or "")
        return (members[0] if members else None), text, f"coreference chain of {_q(text)}: {problem.message}"
    return None, "", problem.message


def region_texts(results: list, text: str) -> dict[str, str]:
    """Region id -> its text, from the spans of a Label Studio annotation's results."""
    out: dict[str, str] = {}
    for r in results if isinstance(results, list) else ():
        if not isinstance(r, dict) or r.get("type") != "labels":
            continue
        value = r.get("value") if isinstance(r.get("value"), dict) else {}
        start, end = value.get("start"), value.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
            out.setdefault(str(r.get("id")), text[start:end])
    return out


def issue_words(issue: convert.Issue, texts: dict[str, str]) -> Finding:
    """A converter issue (a result that could not become part of the record) as a Finding."""
    region = issue.region
    text = texts.get(str(region), "") if region else ""
    if region and "->" in region:  # a relation: name both ends
        a, _, b = region.partition("->")
        ends = " and ".join(_q(texts[x]) for x in (a, b) if x in texts)
        words = f"link between {ends}: {issue.message}" if ends else issue.message
        return Finding(issue.task, issue.annotation, region, "", issue.slug, words)
    words = issue.message
    if issue.slug == "bad-normalized-value" and "TIME" in issue.message:
        words += " (write a date as 2015-01-15, a month as 2015-01, or an interval as 2015-01-12/2015-01-15)"
    if text:
        words = f"{_q(text)}: {words}"
    return Finding(issue.task, issue.annotation, region, text, issue.slug, words)


def record_texts(record: dict) -> dict[str, str]:
    """Region (record) id -> its text, from an annotation record."""
    out = {e.get("id"): e.get("text", "") for e in record.get("entities") or ()}
    out.update({v.get("id"): (v.get("trigger") or {}).get("text", "") for v in record.get("events") or ()})
    return out


def findings(record: dict, issues: list[convert.Issue], problems: list[Problem], texts: dict[str, str],
             task=None, annotation=None, onto: ontology.Ontology | None = None) -> list[Finding]:
    """Everything wrong with one converted annotation, in words (`texts`: region id -> its text)."""
    onto = onto or ontology.load()
    out = [issue_words(i, texts) for i in issues]
    for p in problems:
        region, rtext, words = describe(p, record, onto)
        out.append(Finding(task, annotation, region, rtext, p.slug, words))
    return out


def check_annotation(task: dict, annotation: dict, corpus_dir: str | Path = "corpus", name: str = "annotator") -> list[Finding]:
    """Convert one annotation of one exported task and check it as `validate` would."""
    data = task.get("data") if isinstance(task.get("data"), dict) else {}
    doc, text = data.get("doc_id"), data.get("text")
    if not isinstance(doc, str) or not isinstance(text, str):
        return []
    results = annotation.get("result") if isinstance(annotation.get("result"), list) else []
    conv = convert.results_to_record(results, text, document=doc, annotator=name,
                                     source={"label_studio_task": task.get("id"), "label_studio_annotation": annotation.get("id")},
                                     task=task.get("id"), annotation=annotation.get("id"))
    path = f"task {task.get('id')}"
    problems = checks.check_records([(path, conv.record)], corpus_dir)
    return findings(conv.record, conv.issues, problems, region_texts(results, text), task.get("id"), annotation.get("id"))


def feedback_text(found: dict) -> str:
    """The text of the task's problems field: annotation id -> findings, one line each."""
    lines = []
    for ann in sorted(found, key=str):
        for f in found[ann]:
            lines.append(f"annotation #{ann}: {f.words}")
    return "\n".join(lines)


def task_feedback(task: dict, corpus_dir: str | Path = "corpus") -> tuple[str, int]:
    """(text, count) of the problems of a task's live annotations."""
    found = {}
    for ann in task.get("annotations") or ():
        if not isinstance(ann, dict) or ann.get("was_cancelled"):
            continue
        f = check_annotation(task, ann, corpus_dir)
        if f:
            found[ann.get("id")] = f
    return feedback_text(found), sum(len(v) for v in found.values())


def task_url(base: str, project_id, task_id) -> str:
    return f"{base.rstrip('/')}/projects/{project_id}/data?task={task_id}"


# --- the receiver -------------------------------------------------------------------------------


def task_ids(payload) -> list[int]:
    """The ids of the tasks a webhook payload is about (an empty list for anything unexpected)."""
    if not isinstance(payload, dict):
        return []
    found = []
    task = payload.get("task")
    if isinstance(task, dict):
        found.append(task.get("id"))
    for key in ("annotation", "annotations"):
        items = payload.get(key)
        for a in items if isinstance(items, list) else [items]:
            if isinstance(a, dict):
                t = a.get("task")
                found.append(t.get("id") if isinstance(t, dict) else t)
    return sorted({t for t in found if isinstance(t, int) and not isinstance(t, bool) and t > 0})


class Receiver:
    """The webhook endpoint and its worker: one thread serves HTTP, one re-checks tasks."""

    def __init__(self, server, corpus_dir: str | Path = "corpus", host: str = "127.0.0.1", port: int = 0,
                 project_id: int | None = None, secret: str | None = None):
        self.server: LabelStudio = server
        self.corpus_dir = Path(corpus_dir)
        self.project_id = project_id
        self.secret = secret
        self.pending: queue.Queue = queue.Queue()
        self.done: dict[int, float] = {}  # task id -> time its feedback was last written or confirmed
        self.errors = 0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):  # the request line only; headers (and any token) never
                log.debug("%s %s", self.command, self.path.split("?")[0])

            def _reply(self, code: int, body: bytes = b"") -> None:
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._reply(200 if self.path == "/health" else 404, b"ok\n" if self.path == "/health" else b"")

            def do_POST(self):
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY:
                    self.close_connection = True
                    return self._reply(413 if length > MAX_BODY else 400, b"bad length\n")
                if receiver.secret and self.headers.get("X-Raidcorpus-Secret") != receiver.secret:
                    self.rfile.read(length)
                    return self._reply(403, b"forbidden\n")
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except (ValueError, UnicodeDecodeError):
                    return self._reply(400, b"not JSON\n")
                ids = task_ids(payload)
                for t in ids:
                    receiver.pending.put(t)
                self._reply(200, f"queued {len(ids)}\n".encode())

        self.http = http.server.ThreadingHTTPServer((host, port), Handler)
        self.http.daemon_threads = True
        self.port = self.http.server_address[1]
        self.url = f"http://{host}:{self.port}{PATH}"
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    # -- work ---------------------------------------------------------------------------------
    def refresh(self, task_id: int) -> bool:
        """Re-check one task and write its problems field if it changed. True if written."""
        task = self.server.task(task_id)
        if self.project_id is not None and task.get("project") not in (None, self.project_id):
            return False
        data = dict(task.get("data") or {})
        if not isinstance(data.get("doc_id"), str):
            return False
        text, count = task_feedback(task, self.corpus_dir)
        if data.get(FIELD, "") == text and data.get(COUNT_FIELD, 0) == count:
            return False
        data[FIELD] = text
        data[COUNT_FIELD] = count
        self.server.update_task_data(task_id, data)
        log.info("task %s: %d problem(s)", task_id, count)
        return True

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                first = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = {first}
            while True:  # several events for one task: check it once
                try:
                    batch.add(self.pending.get_nowait())
                except queue.Empty:
                    break
            for task_id in sorted(batch):
                try:
                    self.refresh(task_id)
                except UserError as e:
                    self.errors += 1
                    log.warning("task %s: %s", task_id, e.message)
                except Exception as e:  # noqa: BLE001 - the worker must outlive any one task
                    self.errors += 1
                    log.warning("task %s: %s", task_id, type(e).__name__)
                self.done[task_id] = time.monotonic()

    def start(self) -> "Receiver":
        for target in (self.http.serve_forever, self._work):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.http.shutdown()
        self.http.server_close()
        for t in self._threads:
            t.join(timeout=5)


def register(server: LabelStudio, project_id: int, url: str, secret: str | None = None) -> int:
    """Create (or update) the project's webhook pointing at `url`; returns its id. Idempotent."""
    headers = {"X-Raidcorpus-Secret": secret} if secret else {}
    body = {"project": project_id, "url": url, "send_payload": True, "send_for_all_actions": False,
            "actions": list(ACTIONS), "is_active": True, "headers": headers}
    for hook in server.webhooks(project_id):
        if hook.get("project") == project_id and str(hook.get("url", "")).endswith(PATH):
            server.update_webhook(hook["id"], body)
            return hook["id"]
    return server.create_webhook(body)["id"]


def serve(server: LabelStudio, title: str, corpus_dir: str | Path = "corpus", port: int = 0, stop: threading.Event | None = None,
          announce=print, wait: float = 5.0) -> None:
    """Run the receiver for the project `title` until `stop` is set: wait for the project, register the
    webhook, re-check every annotated task once (events missed while down), then serve."""
    import secrets

    stop = stop or threading.Event()
    server.check()
    secret = secrets.token_hex(16)
    receiver = Receiver(server, corpus_dir, port=port, secret=secret).start()
    try:
        project = server.find_project(title)
        while project is None:
            announce(f"no project {title!r} yet; waiting for it")
            if stop.wait(wait):
                return
            project = server.find_project(title)
        receiver.project_id = project.id
        register(server, project.id, receiver.url, secret)
        announce(f"feedback for project {title!r} (id {project.id}): webhook {receiver.url}")
        for t in server.tasks(project.id):
            if t.get("total_annotations") or t.get("annotations") or (t.get("data") or {}).get(COUNT_FIELD):
                receiver.pending.put(t["id"])
        stop.wait()
    finally:
        receiver.stop()
