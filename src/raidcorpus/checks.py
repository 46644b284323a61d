"""The checks: records against the schema and the corpus, in levels, each problem with its address.

L1 the record matches the JSON Schema (compiled once per process); L2 ids are unique and
every reference resolves; L3 every span lies inside its document's text, slices to its
stated text, and the text hash matches the corpus. Only a small cache of document texts is
kept, so memory does not grow with the corpus. The `validate` verb streams files through
the Validator; records.Reader puts every command's input through the same checks.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Collection, Iterable, Iterator

import jsonschema_rs

from . import fileio, isotime
from .errors import Problem, pointer
from .ontology import current_path, load as load_ontology, load_schema
from .text import NEAR_DUPLICATE, SketchIndex, apply_removed, shingles, inside_word, sha256_text, span_fits, word_around

if TYPE_CHECKING:
    from .crosscheck import GoldFacts


def compiled(path: str | Path | None = None):
    """The schema (default: the one in use) compiled once per process (jsonschema-rs, Draft 2020-12)."""
    return _compiled(Path(path) if path else current_path())


@lru_cache(maxsize=4)
def _compiled(path: Path):
    return jsonschema_rs.validator_for(load_schema(path))


def _slug(schema_path: list, instance_path: list) -> str:
    sp = [str(p) for p in schema_path]
    last = sp[-1] if sp else ""
    if sp == ["required"]:
        return "missing-kind"
    if list(instance_path) == ["kind"] and sp[:2] == ["properties", "kind"]:
        return "unknown-kind"
    if "EntityType" in sp or "EventType" in sp:
        return "unknown-type"
    if any(p.startswith("roles_") for p in sp):
        return "role-not-allowed"
    if any(p.startswith("args_") for p in sp):
        return "filler-type-not-allowed"
    if "normalized" in sp or "IsoTime" in sp:
        return "bad-normalized-value"
    if any(p.startswith("attr_") for p in sp) or "EntityAttributes" in sp or "EventAttributes" in sp or (
        "attributes" in sp and last in ("not", "required")
    ):
        return "bad-attribute"
    if last == "additionalProperties":
        return "unknown-field"
    if last == "required":
        return "missing-field"
    if last == "type":
        return "wrong-type"
    if last == "pattern" and any(p in sp for p in ("Id", "DocumentId", "AnnotatorId", "Sha256")):
        return "bad-id"
    return "schema-mismatch"


def _at(record, parts):
    node = record
    for p in parts:
        try:
            node = node[p]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _message(slug: str, record, path: list, raw: str) -> str:
    """A message in the annotator's terms where we can say more than the schema library."""
    onto = load_ontology()
    if slug == "role-not-allowed" and len(path) >= 4:
        event = _at(record, path[:2]) or {}
        etype = onto.event(event.get("type", ""))
        allowed = ", ".join(r.name for r in etype.roles) if etype else "?"
        return f"role {_at(record, path)!r} is not allowed for {event.get('type')}; allowed: {allowed}"
    if slug == "filler-type-not-allowed" and len(path) >= 4:
        event = _at(record, path[:2]) or {}
        arg = _at(record, path[:-1]) or {}
        etype = onto.event(event.get("type", ""))
        role = etype.role(arg.get("role", "")) if etype else None
        allowed = ", ".join(role.fillers) if role else "?"
        return f"{arg.get('type')} may not fill {event.get('type')}.{arg.get('role')}; allowed: {allowed}"
    if slug == "unknown-type":
        names = onto.event_names if "events" in [str(p) for p in path[:1]] and path[-1] == "type" and len(path) == 3 else onto.entity_names
        return f"unknown type {_at(record, path)!r}; the ontology defines: {', '.join(names)}"
    return raw


def schema_problems(record, path: str, doc: str | None) -> list[Problem]:
    """L1: every JSON Schema violation, one Problem each (duplicates of one place and slug merged)."""
    return validator_problems(compiled(), record, path, doc)


def validator_problems(validator, record, path: str, doc: str | None) -> list[Problem]:
    """Every violation of a compiled schema (the whole one, or a part of it: see records.check_fields),
    one Problem each with the slug of its place in the schema."""
    if validator.is_valid(record):
        return []
    out: dict[tuple, Problem] = {}
    for e in validator.iter_errors(record):
        ipath = list(e.instance_path)
        slug = _slug(list(e.schema_path), ipath)
        key = (tuple(ipath), slug)
        if key not in out:
            out[key] = Problem(path, doc, pointer(ipath), slug, _message(slug, record, ipath, e.message))
    return list(out.values())


def _duplicates(items, where: str, path: str, doc) -> Iterator[Problem]:
    idents = [item.get("id") for item in items]
    if len(set(idents)) == len(idents):
        return  # the usual case, decided in one pass in C
    seen: set = set()
    for i, ident in enumerate(idents):
        if ident in seen:
            yield Problem(path, doc, pointer([where, i, "id"]), "duplicate-id", f"id {ident!r} is used more than once")
        seen.add(ident)


def structure_problems(record: dict, path: str) -> list[Problem]:
    """L2 within one annotation record: unique ids, resolving references, coherent clusters."""
    doc = record.get("document")
    problems: list[Problem] = []
    entities = record.get("entities", [])
    events = record.get("events", [])
    problems += _duplicates(entities + events, "entities", path, doc)  # one id space per record
    by_id: dict[str, dict] = {}
    event_ids: dict[str, dict] = {}
    for e in entities:
        by_id.setdefault(e["id"], e)
    for e in events:
        event_ids.setdefault(e["id"], e)
    dup_ids = set(by_id) & set(event_ids)
    for i, ev in enumerate(events):
        if ev["id"] in dup_ids:
            problems.append(Problem(path, doc, pointer(["events", i, "id"]), "duplicate-id", f"id {ev['id']!r} is also an entity id"))
        for j, arg in enumerate(ev.get("arguments", [])):
            target = by_id.get(arg["entity"])
            # Pointers are made only for problems: building them for every argument was a third of L2's time.
            if target is None:
                where = pointer(["events", i, "arguments", j, "entity"])
                problems.append(Problem(path, doc, where, "dangling-reference", f"argument refers to entity {arg['entity']!r}, which does not exist"))
            elif target["type"] != arg["type"]:
                problems.append(
                    Problem(path, doc, pointer(["events", i, "arguments", j, "type"]), "argument-type-mismatch",
                            f"argument says {arg['type']} but entity {arg['entity']!r} is {target['type']}")
                )
    for where, pool, what in (("entity_clusters", by_id, "entity"), ("event_clusters", event_ids, "event")):
        clusters = record.get(where, [])
        problems += _duplicates(clusters, where, path, doc)
        member_of: dict[str, str] = {}
        for i, cluster in enumerate(clusters):
            types = set()
            for j, member in enumerate(cluster["members"]):
                if member not in pool:
                    at = pointer([where, i, "members", j])
                    problems.append(Problem(path, doc, at, "dangling-reference", f"cluster member {member!r} is not an {what} id"))
                    continue
                types.add(pool[member]["type"])
                if member in member_of:
                    at = pointer([where, i, "members", j])
                    problems.append(Problem(path, doc, at, "cluster-overlap", f"{member!r} is also in cluster {member_of[member]!r}"))
                member_of[member] = cluster["id"]
            if len(types) > 1:
                problems.append(Problem(path, doc, pointer([where, i]), "cluster-mixed-types", f"cluster {cluster['id']!r} mixes {', '.join(sorted(types))}"))
    return problems


def span_problems(text: str, span: dict, at: list, path: str, doc) -> list[Problem]:
    start, end = span["start"], span["end"]
    # the common case first, in one expression: inside the text, the stated text, whole words
    if 0 <= start < end <= len(text) and text[start:end] == span["text"] and (
        span.get("subword")
        or not ((start and text[start - 1].isalnum() and text[start].isalnum())
                or (end < len(text) and text[end - 1].isalnum() and text[end].isalnum()))
    ):
        return []
    if end <= start:
        return [Problem(path, doc, pointer(at), "bad-span", f"end {end} is not after start {start}")]
    if not span_fits(start, end, len(text)):
        return [Problem(path, doc, pointer(at), "offset-out-of-range", f"span {start}-{end} is outside the text ({len(text)} characters)")]
    found = text[start:end]
    if found != span["text"]:
        return [Problem(path, doc, pointer(at + ["text"]), "span-text-mismatch", f"text[{start}:{end}] is {found!r}, record says {span['text']!r}")]
    if not span.get("subword"):
        cut = [side for side, inside in (("starts", inside_word(text, start)), ("ends", inside_word(text, end))) if inside]
        if cut:
            word = word_around(text, start, end)
            return [Problem(path, doc, pointer(at), "span-inside-word",
                            f"{span['text']!r} {' and '.join(cut)} inside the word {word!r}; mark a deliberate sub-word span with \"subword\": true")]
    return []


def time_problems(value, at: list, path: str, doc) -> list[Problem]:
    """L3: a TIME value the schema's pattern accepts must also be a real date or time, and an interval ordered."""
    if not isinstance(value, str):
        return []
    why = isotime.problem(value)
    return [Problem(path, doc, pointer(at), "bad-time", why)] if why else []


def content_problems(record: dict, text: str, sha256: str, path: str) -> list[Problem]:
    """L3 for one annotation record against its document's text."""
    doc = record.get("document")
    problems = []
    if record.get("text_sha256") != sha256:
        problems.append(Problem(path, doc, "/text_sha256", "text-hash-mismatch", "the record was made on a different text than the corpus has"))
    for i, ent in enumerate(record.get("entities", [])):
        problems += span_problems(text, ent, ["entities", i], path, doc)
        if ent["type"] == "TIME":
            problems += time_problems(ent.get("normalized"), ["entities", i, "normalized"], path, doc)
    for i, ev in enumerate(record.get("events", [])):
        problems += span_problems(text, ev["trigger"], ["events", i, "trigger"], path, doc)
    return problems


def document_problems(record: dict, path: str) -> list[Problem]:
    """L3 for a corpus record: hash of the text, and the text is the raw text less its removed ranges."""
    doc = record.get("id")
    problems = []
    if sha256_text(record["text"]) != record["sha256"]:
        problems.append(Problem(path, doc, "/sha256", "text-hash-mismatch", "sha256 does not match the text"))
    if sha256_text(record["raw_text"]) != record["raw_sha256"]:
        problems.append(Problem(path, doc, "/raw_sha256", "text-hash-mismatch", "raw_sha256 does not match the raw text"))
    last = 0
    for i, r in enumerate(record["removed"]):
        if r["start"] < last or r["end"] <= r["start"] or r["end"] > len(record["raw_text"]):
            problems.append(Problem(path, doc, pointer(["removed", i]), "bad-removed-range", f"range {r['start']}-{r['end']} is out of order or outside the raw text"))
            return problems
        last = r["end"]
    if apply_removed(record["raw_text"], record["removed"]) != record["text"]:
        problems.append(Problem(path, doc, "/text", "bad-removed-range", "the text is not the raw text less the removed ranges"))
    return problems


def check_record(record, path: str, level: int = 1) -> list[Problem]:
    """L1 (and L2 for self-contained checks) of one record; used by readers of hand-edited files."""
    doc = record.get("document") or record.get("id") if isinstance(record, dict) else None
    problems = schema_problems(record, path, doc if isinstance(doc, str) else None)
    if problems or level < 2:
        return problems
    if record.get("kind") == "annotation":
        problems += structure_problems(record, path)
    return problems


def stale_decisions(path: Path, record: dict, text: str, sha256: str, min_layers: int = 2) -> list[Problem]:
    """The stale decisions of a decisions record, against the annotator layers beside it (the
    annotation records in its folder for the same document); none when there are too few layers.
    Used by the Validator, so that a decisions file that went stale is caught without adjudicating."""
    # imported here, as crosscheck in _clusters: only decisions and clusters files need them, and
    # they were a twentieth of the start of `validate`
    from . import align
    from .gold import build_gold

    doc = record["document"]
    layers = {}
    for f in sorted(Path(path).parent.glob("*.json")):
        if f.name in align.NOT_LAYERS:
            continue
        try:
            rec = fileio.read_json(f)
        except fileio.ReadError:
            continue  # validate reports the file itself
        if check_record(rec, str(f), level=2) or rec.get("kind") != "annotation":  # what index_layer relies on
            continue  # likewise: only well-formed layers are compared with the decisions
        if rec.get("document") == doc and rec.get("text_sha256") == sha256:
            layers.setdefault(rec["annotator"], rec)
    if len(layers) < min_layers:
        return []
    out = build_gold(doc, {a: align.index_layer(r) for a, r in layers.items()}, record["decisions"],
                     {"text": text, "sha256": sha256}, where=str(path))
    return [Problem(str(path), doc, f"/decisions/{i}/item", "stale-decision", message) for i, message in out.stale]


def published_of(record) -> str | None:
    """A corpus record's publication date as the cluster checks read it (None when it has none)."""
    value = record.get("published") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def report_problems(text: str, report: dict, i: int, j: int, path: str) -> list[Problem]:
    """L3 of report j of cluster i: its evidence is a span of its document's text."""
    return span_problems(text, report["evidence"], ["clusters", i, "reports", j, "evidence"], path, report["document"])


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    """What the checks of clusters.yaml read of one document it names, for a caller that has its
    records at hand (build's workers, see Validator.take_facts): crosscheck.gold_facts of its gold
    layer, its publication date, and the problems of the report evidence in it, by (cluster, report)
    index (only reports with one)."""

    gold: GoldFacts | None
    published: str | None
    evidence: dict[tuple[int, int], list[Problem]]


class Clustered:
    """What a clusters record names in each document: the events that are members of its clusters,
    and the reports whose evidence is in it (cluster index, report index, report)."""

    def __init__(self, record: dict, path: str):
        self.path = path
        self.events: dict[str, set[str]] = {}
        self.reports: dict[str, list[tuple[int, int, dict]]] = {}
        for i, c in enumerate(record.get("clusters") or []):
            for m in c["members"]:
                self.events.setdefault(m["document"], set()).add(m["event"])
            for j, rep in enumerate(c.get("reports", [])):
                self.reports.setdefault(rep["document"], []).append((i, j, rep))

    def __contains__(self, doc: str) -> bool:
        return doc in self.events or doc in self.reports

    def facts(self, doc: str, record: dict, gold: dict) -> ClusterFacts:
        """A named document's facts from its corpus record and gold layer, both read and checked in full."""
        from . import crosscheck

        evidence = {}
        for i, j, rep in self.reports.get(doc, ()):
            found = report_problems(record["text"], rep, i, j, self.path)
            if found:
                evidence[(i, j)] = found
        return ClusterFacts(crosscheck.gold_facts(gold, self.events.get(doc, ())), published_of(record), evidence)


class Validator:
    """Validates a stream of files against the schema and the corpus, keeping little state."""

    def __init__(self, corpus_dir: Path | str = "corpus", level: int = 3, cache_size: int = 64,
                 near_duplicates: bool = False):
        self.corpus_dir = Path(corpus_dir)
        self.level = level
        # the splits' near-duplicate check reads every corpus text: `validate` asks for it, the
        # readers of other commands (build reads splits.yaml) do not pay for it
        self.near_duplicates = near_duplicates
        self.cache_size = cache_size
        self._docs: OrderedDict[str, tuple[str, str] | None] = OrderedDict()
        self._doc_ids: set[str] | None = None
        self._seen_docs: dict[str, str] = {}
        self._seen_layers: dict[tuple[str, str], str] = {}
        self._published: dict[str, str | None] = {}
        self._given: dict[str, ClusterFacts] = {}
        self._clusters_seen: tuple[str, dict] | None = None  # the repository's clusters file, once checked
        # when a list: each record kept to find duplicates is noted in it, (is a document, key, path)
        # (validate's workers tell the parent what they kept, see validate.py)
        self.noted: list[tuple[bool, object, str]] | None = None

    # -- the corpus, read lazily -------------------------------------------------------
    def doc_ids(self) -> set[str]:
        if self._doc_ids is None:
            # the names as glob("*.json") gives them, from one listing (a third of the time of glob's)
            names = os.listdir(self.corpus_dir) if self.corpus_dir.is_dir() else ()
            self._doc_ids = {name[:-5] for name in names if name.endswith(".json")}
        return self._doc_ids

    def document(self, doc: str) -> tuple[str, str] | None:
        """(text, sha256) of a corpus document, from a small LRU cache."""
        if doc in self._docs:
            self._docs.move_to_end(doc)
            return self._docs[doc]
        found = None
        path = self.corpus_dir / f"{doc}.json"
        if path.is_file():
            try:
                rec = fileio.read_json(path)
                if doc not in self._published and isinstance(rec, dict):  # read once for both
                    self._published[doc] = published_of(rec)
                # a malformed corpus record is reported where it is validated; offsets need a sound one
                found = None if schema_problems(rec, str(path), doc) else (rec["text"], rec["sha256"])
            except (fileio.ReadError, KeyError, TypeError):
                found = None
        self._docs[doc] = found
        if len(self._docs) > self.cache_size:
            self._docs.popitem(last=False)
        return found

    def remember_document(self, doc: str, text: str, sha256: str) -> None:
        """A corpus record the caller has read and checked in full (records.Reader.document): the
        offsets of its layers are checked against it without reading it a second time."""
        self._docs[doc] = (text, sha256)
        self._docs.move_to_end(doc)
        if len(self._docs) > self.cache_size:
            self._docs.popitem(last=False)

    def forget(self, doc: str, annotators) -> None:
        """Drop what was kept of a document's records to find a second record of them (a duplicate
        id or layer): for a caller that reads each document once, from paths that name it (one
        folder per document, one file per annotator), so that a duplicate cannot come later."""
        self._seen_docs.pop(doc, None)
        for annotator in annotators:
            self._seen_layers.pop((doc, annotator), None)

    def _earlier(self, seen: dict, key, path: str) -> str | None:
        """The path of an earlier record kept under `key` if it is another file (None if none),
        and this record kept in its place."""
        before = seen.get(key, path)
        seen[key] = path
        if self.noted is not None:
            self.noted.append((seen is self._seen_docs, key, path))
        return None if before == path else before

    def keep(self, is_document: bool, key, path: str) -> None:
        """Keep a record another process checked, as if it had been checked here (see `noted`)."""
        (self._seen_docs if is_document else self._seen_layers)[key] = path

    def kept(self, is_document: bool, key):
        """The path kept under `key`, or None."""
        return (self._seen_docs if is_document else self._seen_layers).get(key)

    def forget_seen(self) -> None:
        """Drop every record kept to find duplicates: what follows is checked as by a new validator
        (the corpus listing and the small document cache are kept)."""
        self._seen_docs.clear()
        self._seen_layers.clear()

    def take_facts(self, facts: dict[str, ClusterFacts]) -> None:
        """The facts of documents a clusters record names, from a caller that read and checked their
        records (build's workers): the cluster checks take them from here, not from the files."""
        self._given = facts

    def gold(self, doc: str, events: Collection[str]) -> GoldFacts | None:
        """crosscheck.gold_facts of a document's gold layer for `events`, or None when it has no sound one."""
        if doc in self._given:
            return self._given[doc].gold
        from . import crosscheck

        path = self.corpus_dir.parent / "annotations" / doc / "gold.json"
        try:
            rec = fileio.read_json(path)
            if check_record(rec, str(path), level=2):
                raise TypeError("a malformed gold layer")  # reported where it is validated
            return crosscheck.gold_facts(rec, events)
        except (fileio.ReadError, KeyError, TypeError):
            return None

    def published(self, doc: str) -> str | None:
        """A corpus document's publication date (YYYY-MM-DD), or None."""
        if doc in self._given:
            return self._given[doc].published
        if doc not in self._published:
            try:
                self._published[doc] = published_of(fileio.read_json(self.corpus_dir / f"{doc}.json"))
            except fileio.ReadError:
                self._published[doc] = None
        return self._published[doc]

    # -- checks ------------------------------------------------------------------------
    def check_file(self, path: Path) -> tuple[int, list[Problem]]:
        """(records read, problems) for one file."""
        name = str(path)
        try:
            if name.endswith(".jsonl"):
                problems, n = [], 0
                for lineno, record in fileio.iter_jsonl(path):
                    n += 1
                    problems += self.check(record, f"{name}:{lineno}")
                return n, problems
            record = fileio.read_record(path)
        except fileio.ReadError as e:
            return 0, [e.problem]
        return 1, self.check(record, name)

    def check(self, record, path: str) -> list[Problem]:
        if not isinstance(record, dict):
            return [Problem(path, None, "/", "schema-mismatch", f"a record must be an object, not {type(record).__name__}")]
        problems = check_record(record, path, level=1)
        if not problems and record["kind"] == "event_clusters":
            self._clusters_seen = (path, record)
        if problems or self.level < 2:
            return problems
        kind = record["kind"]
        if kind == "annotation":
            problems += self._annotation(record, path)
        elif kind == "document":
            problems += self._document(record, path)
        elif kind == "event_clusters":
            problems += self._clusters(record, path)
        elif kind in ("decisions",):
            problems += self._known(record["document"], path, "/document", record["document"])
            found = self.document(record["document"]) if self.level >= 3 and not problems else None
            if found:  # the decisions against the layers beside them
                problems += stale_decisions(Path(path), record, found[0], found[1])
        elif kind == "splits":
            problems += self._splits(record, path)
        elif kind == "muc4_key":
            problems += self._muc_key(record, path)
        elif kind == "sources" and self.level >= 3:
            for i, article in enumerate(record["articles"]):
                problems += time_problems(article.get("published"), ["articles", i, "published"], path, article.get("id"))
        return problems

    def _known(self, doc: str, path: str, at: str, shown) -> list[Problem]:
        if doc in self.doc_ids():
            return []
        return [Problem(path, shown, at, "unknown-document", f"document {doc!r} is not in {self.corpus_dir}/")]

    def _annotation(self, record: dict, path: str) -> list[Problem]:
        doc = record["document"]
        problems = structure_problems(record, path)
        before = self._earlier(self._seen_layers, (doc, record["annotator"]), path)
        if before is not None:
            problems.append(Problem(path, doc, "/annotator", "duplicate-annotation", f"{record['annotator']} already has a record for {doc} in {before}"))
        known = self._known(doc, path, "/document", doc)
        problems += known
        if self.level >= 3 and not known and not problems:
            found = self.document(doc)
            if found:
                problems += content_problems(record, found[0], found[1], path)
        return problems

    def _muc_key(self, record: dict, path: str) -> list[Problem]:
        """L2 the message is a corpus document named after it; L3 the text hash and every located mention."""
        doc = record["document"]
        if doc != record["message"].lower():
            return [Problem(path, doc, "/document", "bad-id", f"message {record['message']} is document {record['message'].lower()}, not {doc}")]
        problems = self._known(doc, path, "/document", doc)
        found = self.document(doc) if self.level >= 3 and not problems else None
        if found is None:
            return problems
        text, sha = found
        if record["text_sha256"] != sha:
            return [Problem(path, doc, "/text_sha256", "text-hash-mismatch", "the keys were located in another text than the corpus record's")]
        for i, template in enumerate(record["templates"]):
            for slot, fills in template["slots"].items():
                for j, fill in enumerate(fills):
                    for k, value in enumerate(fill.get("values", ())):
                        for m, span in enumerate(value.get("mentions", ()) if isinstance(value, dict) else ()):
                            at = ["templates", i, "slots", slot, j, "values", k, "mentions", m]
                            problems += span_problems(text, span, at, path, doc)
        return problems

    def _document(self, record: dict, path: str) -> list[Problem]:
        doc = record["id"]
        problems = []
        before = self._earlier(self._seen_docs, doc, path)
        if before is not None:
            problems.append(Problem(path, doc, "/id", "duplicate-id", f"document id already used by {before}"))
        if Path(path).suffix == ".json" and Path(path).stem != doc:
            problems.append(Problem(path, doc, "/id", "bad-id", f"a corpus file must be named after its id ({doc}.json)"))
        if self.level >= 3:
            problems += time_problems(record.get("published"), ["published"], path, doc)
            problems += document_problems(record, path)
        return problems

    def _clusters(self, record: dict, path: str) -> list[Problem]:
        named = Clustered(record, path)

        @lru_cache(maxsize=None)  # for this record only: another names other events
        def gold(doc: str) -> GoldFacts | None:
            return self.gold(doc, named.events.get(doc, ()))

        problems = list(_duplicates(record["clusters"], "clusters", path, None))
        for i, cluster in enumerate(record["clusters"]):
            if self.level >= 3:
                problems += time_problems(cluster.get("date"), ["clusters", i, "date"], path, None)
            for j, m in enumerate(cluster["members"]):
                at = pointer(["clusters", i, "members", j])
                unknown = self._known(m["document"], path, at + "/document", m["document"])
                problems += unknown
                if unknown:
                    continue
                found = gold(m["document"])
                if found is not None and m["event"] not in found.events:
                    problems.append(Problem(path, m["document"], at + "/event", "dangling-reference", f"event {m['event']!r} is not in the gold layer of {m['document']}"))
            for j, rep in enumerate(cluster.get("reports", [])):
                at = ["clusters", i, "reports", j]
                unknown = self._known(rep["document"], path, pointer(at + ["document"]), rep["document"])
                problems += unknown
                if not unknown and self.level >= 3:
                    if rep["document"] in self._given:
                        problems += self._given[rep["document"]].evidence.get((i, j), [])
                    elif found := self.document(rep["document"]):
                        problems += report_problems(found[0], rep, i, j, path)
        from . import crosscheck

        problems += crosscheck.cluster_problems(record, path, gold, self.published, self.level)
        return problems

    def _clusters_file(self, path: Path):
        """The repository's clusters file for the split-leak check: the record already checked in
        this run when it was that file (it is large: read once), else read now."""
        if self._clusters_seen is not None:
            try:
                if os.path.samefile(self._clusters_seen[0], path):
                    return self._clusters_seen[1]
            except OSError:  # a record checked in memory, not (yet) a file
                pass
        return fileio.read_record(path)

    def _splits(self, record: dict, path: str) -> list[Problem]:
        problems, where = [], {}
        for split, docs in record["splits"].items():
            for i, doc in enumerate(docs):
                at = pointer(["splits", split, i])
                problems += self._known(doc, path, at, doc)
                if doc in where:
                    problems.append(Problem(path, doc, at, "duplicate-id", f"{doc} is also in split {where[doc]!r}"))
                where[doc] = split
        clusters = self.corpus_dir.parent / "annotations" / "clusters.yaml"
        if clusters.is_file() and not problems:
            try:
                rec = self._clusters_file(clusters)
            except fileio.ReadError:
                return problems  # validating clusters.yaml itself reports it
            if schema_problems(rec, str(clusters), None):
                return problems  # likewise: a malformed clusters file is reported where it is read
            for leak in split_leaks(record["splits"], rec.get("clusters") or []):
                problems.append(Problem(path, leak["document"], pointer(["splits", leak["split"], leak["index"]]), "split-leak", leak["message"]))
        if self.level >= 3 and self.near_duplicates and not problems:
            problems += self._near_duplicates(record, path)
        return problems

    def _near_duplicates(self, record: dict, path: str) -> list[Problem]:
        """Near-duplicate texts in different splits that splits.yaml does not acknowledge: a model would be
        scored on a text it was trained on, nearly word for word. Candidates come from bottom-k sketches
        (little memory at any corpus size), each then measured exactly."""
        acknowledged = {frozenset(a["documents"]) for a in record.get("near_duplicates", [])}
        index, split_of, problems = SketchIndex(), {}, []
        for split, docs in record["splits"].items():
            for i, doc in enumerate(docs):
                found = self.document(doc)
                if found is None:
                    continue  # a malformed corpus record is reported where it is validated
                mine = shingles(found[0])
                for other in index.candidates(mine):
                    if split_of[other][0] == split or frozenset((doc, other)) in acknowledged:
                        continue
                    theirs = shingles(self.document(other)[0])
                    jaccard = len(mine & theirs) / max(1, len(mine | theirs))
                    if jaccard >= NEAR_DUPLICATE:
                        problems.append(Problem(path, doc, pointer(["splits", split, i]), "near-duplicate-across-splits",
                                                f"{doc} (split {split!r}) and {other} (split {split_of[other][0]!r}) share "
                                                f"{jaccard:.0%} of their 5-word shingles: move one, or acknowledge the pair "
                                                "under near_duplicates with the reason"))
                index.add(doc, mine)
                split_of[doc] = (split, i)
        return problems


def split_leaks(splits: dict[str, list[str]], clusters: list[dict]) -> list[dict]:
    """Documents that share a cross-document cluster but not a split: evaluation on one of them would
    score a model on an event it was trained on. One entry per document outside its cluster's first split."""
    split_of = {doc: (split, i) for split, docs in splits.items() for i, doc in enumerate(docs or [])}
    out, reported = [], set()
    for c in clusters:
        docs = [m.get("document") for m in c.get("members", []) if m.get("document") in split_of]
        if not docs:
            continue
        first = split_of[docs[0]][0]
        for doc in dict.fromkeys(docs):
            split, i = split_of[doc]
            if split != first and doc not in reported:
                reported.add(doc)
                out.append({"document": doc, "split": split, "index": i, "message":
                            f"{doc} is in split {split!r} but shares cross-document cluster {c.get('id')!r} with "
                            f"{docs[0]} in split {first!r}: documents about the same event must share a split"})
    return out


def check_records(records: Iterable[tuple[str, dict]], corpus_dir: Path | str = "corpus", level: int = 3) -> list[Problem]:
    """Problems of in-memory records given as (path, record) pairs: for commands that write records."""
    validator = Validator(corpus_dir, level)
    out = []
    for path, record in records:
        out += validator.check(record, path)
    return out


