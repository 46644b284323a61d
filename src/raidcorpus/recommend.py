"""Predictions Label Studio asks for when a task opens: what the corpus already knows about its text.

A Label Studio ML backend is a small HTTP server: `GET /health`, `POST /setup` and
`POST /predict` (`{"tasks": [...]}` in, `{"results": [{"result": [...], "score": ...}]}` out, one
entry per task). Two sources feed the predictions, both pure functions tested without a network:

- the string matcher (as INCEpTION's): every entity and trigger string annotated in another
  document of the corpus, found again whole-word in the task's text, with the type (and the
  attributes) it was given most often. The task's own document is never a source, so an annotator
  is never shown the other annotator's work on the same article;
- the located fillers of a MUC-4 key template, when the message has one (`key_fillers`).

Retraining is `POST /webhook`: Label Studio calls it when an annotation is created, updated or
deleted (it makes that webhook itself when the backend is connected), and the annotation's strings
are learnt at once; `START_TRAINING` (the project's "Start training" button) re-reads the folder.
Predictions are only proposals: an item reaches a layer when an annotator submits it, and Label
Studio then marks its result with `origin` (`predicted_origins` reads it back).
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from . import convert, fileio, muckeys, ontology
from .errors import Problem, UserError, pointer
from .ls_config import ENTITY, EVENT
from .records import Reader
from .text import inside_word, sha256_text

MODEL_VERSION = "raidcorpus-recommender"  # the ML backend's title in Label Studio and its model version
KEY_FILE = muckeys.LAYER + ".json"  # annotations/<doc>/muc4-key.json: a MUC-4 message's key templates, located
KEY_SOURCE = muckeys.LAYER + ":"  # a suggestion's source when a key filler gave it: muc4-key:SLOT
MAX_BODY = 16 << 20  # bytes: a request body larger than this is refused unread
TRAIN_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED")
FORGET_ACTIONS = ("ANNOTATIONS_DELETED",)
# The entity type each MUC-4 string slot's fillers name. Which slots hold strings is the schema's
# (`$defs/MucSlot/x-string-slots`, read by muckeys); the types are checked against the ontology.
SLOT_TYPES = {
    "PERP: INDIVIDUAL ID": "PER",
    "PERP: ORGANIZATION ID": "ORG",
    "PHYS TGT: ID": "FAC",
    "HUM TGT: NAME": "PER",
    "HUM TGT: DESCRIPTION": "PER",
    "INCIDENT: INSTRUMENT ID": "WEA",
}

log = logging.getLogger("raidcorpus.recommend")

Filler = tuple[int, int, str, str]  # (start, end, entity type, slot)


# --- the MUC-4 key fillers ------------------------------------------------------------------


def key_fillers(doc: str, annotations_dir: str | Path = "annotations", text: str | None = None) -> list[Filler]:
    """[(start, end, type, slot)] of every located mention of every string filler in
    annotations/<doc>/muc4-key.json (schema kind `muc4_key`, made by `raidcorpus keys`).

    Only the schema's string slots (`$defs/MucSlot/x-string-slots`) hold text fillers; each one's
    entity type is SLOT_TYPES'. A span and type met twice (two templates, or one filler listed
    under two slots) is proposed once, under its first slot. A mention whose offsets do not slice
    to its text (with `text`) is left out with one addressed log line: the key was located in
    another version of the text.
    """
    path = Path(annotations_dir) / doc / KEY_FILE
    return record_fillers(fileio.read_json(path), str(path), doc, text) if path.is_file() else []


def record_fillers(key: dict, path: str, doc: str, text: str | None = None) -> list[Filler]:
    """key_fillers of a muc4-key record already read (`path` only names it in the log)."""
    entity_types = set(ontology.load().entity_names)
    string_slots = muckeys.string_slots()
    out: list[Filler] = []
    seen: set[tuple[int, int, str]] = set()
    for t, template in enumerate(key.get("templates") or ()):
        for slot, fills in sorted((template.get("slots") or {}).items()):
            label = SLOT_TYPES.get(slot)
            if slot not in string_slots or label not in entity_types:
                continue
            for f, fill in enumerate(fills):
                for v, value in enumerate(fill.get("values") or ()):
                    for m, mention in enumerate(value.get("mentions") or () if isinstance(value, dict) else ()):
                        start, end = mention.get("start"), mention.get("end")
                        if text is not None and (end > len(text) or text[start:end] != mention.get("text")):
                            where = pointer(["templates", t, "slots", slot, f, "values", v, "mentions", m])
                            problem = Problem(path, doc, where, "span-text-mismatch",
                                              f"filler {mention.get('text')!r} is not text[{start}:{end}], not proposed")
                            log.warning("%s", problem.line())
                        elif (start, end, label) not in seen:
                            seen.add((start, end, label))
                            out.append((start, end, label, slot))
    return sorted(out)


# --- the string matcher ---------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """One predicted span: control (`entity` or `event`), label, attributes, and why (`corpus` or the MUC slot)."""

    control: str
    start: int
    end: int
    label: str
    attributes: tuple = ()
    score: float = 1.0
    source: str = "corpus"
    arguments: tuple = ()  # (role, the filler's Suggestion) for a trigger


ROLE = "role"  # the matcher's facts about arguments: (ROLE, "event type|filler type|side", role, ())


def role_key(event_type: str, filler_type: str, filler_start: int, trigger_start: int) -> str:
    return f"{event_type}|{filler_type}|{'before' if filler_start < trigger_start else 'after'}"


def layer_items(record: dict) -> list[tuple[str, str, str, tuple]]:
    """(control, string, label, attributes) of each entity and trigger of an annotation record, and for
    each argument (ROLE, event type|filler type|side of the trigger, role, ())."""
    items = [(ENTITY, e["text"], e["type"], tuple(sorted(e.get("attributes", {}).items()))) for e in record.get("entities", ())]
    items += [(EVENT, v["trigger"]["text"], v["type"], tuple(sorted(v.get("attributes", {}).items()))) for v in record.get("events", ())]
    by_id = {e["id"]: e for e in record.get("entities", ())}
    for v in record.get("events", ()):
        for a in v.get("arguments", ()):
            if a["entity"] in by_id:
                filler = by_id[a["entity"]]
                items.append((ROLE, role_key(v["type"], filler["type"], filler["start"], v["trigger"]["start"]), a["role"], ()))
    return [i for i in items if i[1].strip()]


class StringMatcher:
    """Strings annotated in the corpus, counted per document, so that a document's own layers can be left out."""

    def __init__(self) -> None:
        self._layers: dict[tuple[str, str], list[tuple]] = {}  # (document, layer) -> its items
        self._total: dict[tuple[str, str], Counter] = {}  # (control, string) -> Counter((label, attributes))
        self._by_doc: dict[str, dict[tuple[str, str], Counter]] = {}
        self._patterns: dict[str, re.Pattern | None] = {}
        self._lock = threading.Lock()

    @property
    def size(self) -> tuple[int, int]:
        """(layers, distinct strings) learnt."""
        return len(self._layers), len(self._total)

    def learn(self, doc: str, layer: str, items: Iterable[tuple]) -> None:
        """Set what one layer of a document says (replacing what it said before)."""
        with self._lock:
            self._drop(doc, layer)
            kept = list(items)
            self._layers[(doc, layer)] = kept
            for control, string, label, attrs in kept:
                for counts in (self._total, self._by_doc.setdefault(doc, {})):
                    counts.setdefault((control, string), Counter())[(label, attrs)] += 1
            self._patterns.clear()

    def forget(self, doc: str, layer: str) -> None:
        with self._lock:
            self._drop(doc, layer)
            self._patterns.clear()

    def _drop(self, doc: str, layer: str) -> None:
        for control, string, label, attrs in self._layers.pop((doc, layer), ()):
            for counts in (self._total, self._by_doc[doc]):
                c = counts[(control, string)]
                c[(label, attrs)] -= 1
                if c[(label, attrs)] <= 0:
                    del c[(label, attrs)]
                if not c:
                    del counts[(control, string)]

    def _pattern(self, control: str) -> re.Pattern | None:
        """One alternation of every string of a control, longest first, not inside a word (letters and digits)."""
        if control not in self._patterns:
            strings = sorted({s for c, s in self._total if c == control}, key=lambda s: (-len(s), s))
            alts = "|".join(re.escape(s) for s in strings)
            self._patterns[control] = re.compile(rf"(?<![^\W_])(?:{alts})(?![^\W_])") if strings else None
        return self._patterns[control]

    def counts(self, doc: str, control: str, string: str) -> Counter:
        """What other documents say of (control, string): Counter of (label, attributes)."""
        with self._lock:
            return self._counts(doc, control, string)

    def _counts(self, doc: str, control: str, string: str) -> Counter:
        counts = Counter(self._total.get((control, string), ()))
        counts.subtract(self._by_doc.get(doc, {}).get((control, string), ()))
        return +counts

    def match(self, doc: str, text: str, order: dict[str, int]) -> list[Suggestion]:
        """Every whole-word occurrence in `text` of a string some other document annotated, per control
        leftmost-longest and not overlapping; the label most often given (ties: ontology order) and,
        for that label, the attributes most often given. Score: the label's share of the string's uses."""
        out: list[Suggestion] = []
        with self._lock:
            for control in (ENTITY, EVENT):
                pattern = self._pattern(control)
                for m in pattern.finditer(text) if pattern else ():
                    if inside_word(text, m.start()) or inside_word(text, m.end()):
                        continue
                    counts = self._counts(doc, control, m.group())
                    if not counts:
                        continue  # only this document's own layers know the string
                    by_label = Counter()
                    for (label, _), n in counts.items():
                        by_label[label] += n
                    label = min(by_label, key=lambda lb: (-by_label[lb], order.get(lb, len(order)), lb))
                    attrs = max(((a, n) for (lb, a), n in counts.items() if lb == label), key=lambda an: (an[1], an[0]))[0]
                    score = round(by_label[label] / sum(by_label.values()), 3)
                    out.append(Suggestion(control, m.start(), m.end(), label, attrs, score))
        return out


def read_layers(annotations_dir: str | Path, corpus_dir: str | Path, matcher: StringMatcher) -> int:
    """Learn every annotation layer (annotators' and gold) under annotations/<doc>/; returns how many.
    Each layer is checked as validate checks it: a broken one stops the command with its line."""
    reader = Reader(corpus_dir)
    count = 0
    root = Path(annotations_dir)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in fileio.SKIPPED_FOLDERS) if root.is_dir() else ():
        for path in sorted(folder.glob("*.json")):
            if path.name == KEY_FILE or path.name.startswith("."):
                continue
            record = reader.read(path, "annotation")
            matcher.learn(record["document"], "file:" + record["annotator"], layer_items(record))
            count += 1
    return count


# --- Label Studio results -------------------------------------------------------------------


def suggestions_for(doc: str, text: str, matcher: StringMatcher, fillers: list[Filler], onto: ontology.Ontology) -> list[Suggestion]:
    """The MUC key's fillers first, then the matcher's spans that no filler already covers."""
    order = {name: i for i, name in enumerate(onto.entity_names + onto.event_names)}
    seen: set[tuple[str, int, int]] = set()
    out: list[Suggestion] = []
    for start, end, label, slot in fillers:
        if (ENTITY, start, end) not in seen and end <= len(text):
            seen.add((ENTITY, start, end))
            out.append(Suggestion(ENTITY, start, end, label, (), 1.0, KEY_SOURCE + slot))
    for s in matcher.match(doc, text, order):
        if (s.control, s.start, s.end) not in seen:
            seen.add((s.control, s.start, s.end))
            out.append(s)
    out = [with_arguments(s, out, text, doc, matcher, onto) if s.control == EVENT else s for s in out]
    return sorted(out, key=lambda s: (s.start, s.end, s.control))


def sentence(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence around a span: from after the last '.', '!', '?' or line break before it to the next one."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    return left, min(rights) if rights else len(text)


def with_arguments(trigger: Suggestion, spans: list[Suggestion], text: str, doc: str, matcher: StringMatcher,
                   onto: ontology.Ontology, least: float = 0.5) -> Suggestion:
    """The trigger with arguments proposed from the entities proposed in its sentence: a filler gets the role
    other documents give most often to its type on its side of a trigger of this type (when that role has at
    least `least` of the uses and the schema allows it); each role goes to the nearest such filler only."""
    event = onto.event(trigger.label)
    left, right = sentence(text, trigger.start, trigger.end)
    best: dict[str, tuple[int, Suggestion]] = {}
    for e in spans:
        if e.control != ENTITY or e.start < left or e.end > right:
            continue
        counts = matcher.counts(doc, ROLE, role_key(trigger.label, e.label, e.start, trigger.start))
        if not counts:
            continue
        (role, _), n = counts.most_common(1)[0]
        allowed = event.role(role) if event else None
        if n / sum(counts.values()) < least or allowed is None or e.label not in allowed.fillers:
            continue
        distance = trigger.start - e.end if e.end <= trigger.start else e.start - trigger.end
        if role not in best or distance < best[role][0]:
            best[role] = (distance, e)
    args = tuple((role, e) for role, (_, e) in sorted(best.items()))
    return Suggestion(trigger.control, trigger.start, trigger.end, trigger.label, trigger.attributes, trigger.score, trigger.source, args)


def region_id(s: Suggestion) -> str:
    """A region id that names the span (fits the schema's Id, so an accepted region keeps it as a record id)."""
    return f"pred-{'en' if s.control == ENTITY else 'ev'}-{s.start}-{s.end}"


def prediction(text: str, suggestions: list[Suggestion]) -> dict:
    """One task's prediction in Label Studio's form, made by convert.record_to_results from a bare record
    (so predicted regions, choices and their ids are exactly what an annotation of ours would be)."""
    record = {"entities": [], "events": []}
    for s in suggestions:
        span = {"start": s.start, "end": s.end, "text": text[s.start:s.end]}
        if s.control == ENTITY:
            record["entities"].append({"id": region_id(s), "type": s.label, **span, "attributes": dict(s.attributes)})
        else:
            args = [{"role": role, "entity": region_id(e), "type": e.label} for role, e in s.arguments]
            record["events"].append({"id": region_id(s), "type": s.label, "trigger": span, "arguments": args, "attributes": dict(s.attributes)})
    results = convert.record_to_results(record)
    scores = {region_id(s): s.score for s in suggestions}
    slots = {region_id(s): s.source.removeprefix(KEY_SOURCE) for s in suggestions if s.source.startswith(KEY_SOURCE)}
    for r in results:
        if r["type"] == "labels":
            r["score"] = scores[r["id"]]
            if r["id"] in slots:
                r["meta"] = {"text": [f"MUC-4 key: {slots[r['id']]}"]}  # the region's meta text, shown when it is selected
    score = round(sum(scores.values()) / len(scores), 3) if scores else 0.0
    return {"result": results, "score": score, "model_version": MODEL_VERSION}


def key_prediction(text: str, fillers: list[Filler]) -> dict:
    """A MUC message's key fillers alone as one prediction (what `push --predictions muc4-key` attaches):
    an entity region at each occurrence, labelled with its slot's type, the slot in the region's meta text."""
    suggestions = [Suggestion(ENTITY, start, end, label, (), 1.0, KEY_SOURCE + slot) for start, end, label, slot in fillers]
    return prediction(text, suggestions) | {"model_version": muckeys.LAYER}


def predicted_origins(results: list[dict]) -> dict[str, str]:
    """Region id -> `prediction` or `prediction-changed`, for the regions of a submitted annotation that
    Label Studio says came from a prediction (its results' `origin`; hand-made ones say `manual`)."""
    return {str(r.get("id")): r["origin"] for r in results
            if r.get("type") == "labels" and r.get("origin") in ("prediction", "prediction-changed")}


# --- the backend ------------------------------------------------------------------------------


class Recommender:
    """The ML backend's state: the matcher, where the layers are, and where a message's key fillers come from."""

    def __init__(self, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus",
                 fillers: Callable[[str, str], list[Filler]] | None = None):
        self.annotations_dir = Path(annotations_dir)
        self.corpus_dir = Path(corpus_dir)
        self.fillers = fillers or (lambda doc, text: key_fillers(doc, self.annotations_dir, text))
        self.matcher = StringMatcher()
        self.onto = ontology.load()

    def reload(self) -> int:
        """Re-read every layer of the folder (the layers learnt from webhooks stay)."""
        for doc, layer in [k for k in self.matcher._layers if k[1].startswith("file:")]:
            self.matcher.forget(doc, layer)
        return read_layers(self.annotations_dir, self.corpus_dir, self.matcher)

    def predict(self, tasks: list) -> list[dict]:
        """One prediction per task, in order; a task without a doc_id and text gets an empty one."""
        out = []
        for task in tasks:
            data = task.get("data") if isinstance(task, dict) else None
            doc, text = (data or {}).get("doc_id"), (data or {}).get("text")
            if not isinstance(doc, str) or not isinstance(text, str):
                log.info("task %s: no doc_id and text, nothing predicted", task.get("id") if isinstance(task, dict) else "?")
                out.append({"result": [], "score": 0.0, "model_version": MODEL_VERSION})
                continue
            fillers = self.fillers(doc, text) if fileio.is_id(doc) else []
            out.append(prediction(text, suggestions_for(doc, text, self.matcher, fillers, self.onto)))
        return out

    def webhook(self, payload: dict) -> str:
        """Learn a created or updated annotation (forget deleted ones); START_TRAINING re-reads the folder.
        Returns what was done, for the log."""
        action = payload.get("action")
        if action == "START_TRAINING":
            return f"re-read {self.reload()} layers"
        if action in FORGET_ACTIONS:
            gone = {str(a.get("id")) for a in payload.get("annotations") or () if isinstance(a, dict)}
            for doc, layer in [k for k in self.matcher._layers if k[1].removeprefix("label-studio:") in gone]:
                self.matcher.forget(doc, layer)
            return f"forgot {len(gone)} annotations"
        if action not in TRAIN_ACTIONS:
            return f"{action}: nothing to learn"
        task, ann = payload.get("task") or {}, payload.get("annotation") or {}
        data = task.get("data") or {}
        doc, text = data.get("doc_id"), data.get("text")
        if not (isinstance(doc, str) and fileio.is_id(doc) and isinstance(text, str) and data.get("sha256") == sha256_text(text)):
            return f"task {task.get('id')}: not a corpus document, not learnt"
        if ann.get("was_cancelled"):
            return f"annotation {ann.get('id')}: skipped, not learnt"
        conv = convert.results_to_record(ann.get("result") or [], text, document=doc, annotator="label-studio",
                                         task=task.get("id"), annotation=ann.get("id"), onto=self.onto)
        self.matcher.learn(doc, f"label-studio:{ann.get('id')}", layer_items(conv.record))
        left = f", {len(conv.issues)} results not converted (pull names them)" if conv.issues else ""
        return f"learnt annotation {ann.get('id')} of {doc}{left}"


class _Handler(http.server.BaseHTTPRequestHandler):
    """The protocol's routes. Bodies are never logged: /setup carries the project owner's API token."""

    server_version = "raidcorpus-recommend"
    recommender: Recommender

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        log.info("%s %s", self.command, self.path.split("?", 1)[0])

    def _answer(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict | None:
        size = int(self.headers.get("Content-Length") or 0)
        if size > MAX_BODY:
            self._answer(413, {"error": f"body over {MAX_BODY} bytes"})
            return None
        try:
            body = json.loads(self.rfile.read(size) or b"{}")
        except ValueError:
            self._answer(400, {"error": "body is not JSON"})
            return None
        if not isinstance(body, dict):
            self._answer(400, {"error": "body is not a JSON object"})
            return None
        return body

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.split("?", 1)[0] in ("/health", "/"):
            layers, strings = self.recommender.matcher.size
            self._answer(200, {"status": "UP", "model_class": "StringMatcher", "model_version": MODEL_VERSION,
                               "layers": layers, "strings": strings})
        elif self.path.startswith("/versions"):
            self._answer(200, {"versions": [MODEL_VERSION]})
        else:
            self._answer(404, {"error": f"no route {self.path.split('?', 1)[0]}"})

    def do_POST(self):  # noqa: N802
        route = self.path.split("?", 1)[0]
        body = self._body()
        if body is None:
            return
        if route == "/setup":
            self._answer(200, {"model_version": MODEL_VERSION})
        elif route == "/predict":
            tasks = body.get("tasks")
            if not isinstance(tasks, list):
                self._answer(400, {"error": "predict needs {\"tasks\": [...]}"})
                return
            self._answer(200, {"results": self.recommender.predict(tasks)})
        elif route == "/webhook":
            log.info("webhook: %s", self.recommender.webhook(body))
            self._answer(200, {"status": "ok"})
        elif route == "/train":
            self._answer(200, {"status": "ok", "job": None, "layers": self.recommender.reload()})
        else:
            self._answer(404, {"error": f"no route {route}"})


def make_server(recommender: Recommender, port: int, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """The backend's HTTP server, bound and not yet serving (port 0: any free port)."""
    handler = type("Handler", (_Handler,), {"recommender": recommender})
    try:
        return http.server.ThreadingHTTPServer((host, port), handler)
    except OSError as e:
        raise UserError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None


# --- connecting a project ---------------------------------------------------------------------


def connect(server, project: int, backend_url: str, title: str = MODEL_VERSION) -> int:
    """Connect the backend at `backend_url` to a Label Studio project (POST /api/ml), once: an existing
    connection to the same URL is kept. Returns the ML backend's id. Label Studio checks /health and
    /setup before it saves, and from then on asks /predict when a task without predictions opens.
    `server` is a labelstudio.Server: its calls carry the token and turn a refusal into one line.

    The project is set to show predictions from this model (`show_collab_predictions`, which push
    turns off when a task has several annotators, and `model_version`): without both, Label Studio
    never asks. Both annotators of a task then start from the same proposals (see docs/label-studio.md)."""
    listed = server.rest("list the ML backends", "GET", "api/ml", params={"project": project}) or []
    found = [b["id"] for b in listed if isinstance(b, dict) and str(b.get("url", "")).rstrip("/") == backend_url.rstrip("/")]
    if not found:
        made = server.rest(f"connect the recommender at {backend_url}", "POST", "api/ml",
                           body={"url": backend_url, "project": project, "title": title, "is_interactive": False})
        found = [made["id"]]
    server.update_project(project, {"show_collab_predictions": True, "model_version": title})
    return found[0]
