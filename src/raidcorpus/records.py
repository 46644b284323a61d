"""The one checked way in: every command reads the records it works on through this module.

A record is read (strict JSON or safe YAML), checked against the schema (compiled once per
process) and by the structure and content checks of `validate` that the commands rely on (unique
ids, resolving references, spans inside the text and slicing to their stated text, hashes), and
is returned only when it passes. Otherwise the command stops with the first problem as the one
addressed line (`path doc=ID /pointer [slug] message`) and a count of the others, before it has
written anything.
"""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import jsonschema_rs

from . import fileio
from .errors import Problem, ProblemError, UserError, pointer
from .checks import Validator, validator_problems
from .ontology import current_path, load_schema


class RecordError(ProblemError):
    """One or more problems in records a command was about to use."""


def _kinds(kind: str | Iterable[str] | None) -> tuple[str, ...]:
    if kind is None:
        return ()
    return (kind,) if isinstance(kind, str) else tuple(kind)


class Reader:
    """Reads and checks records for one command run; documents read for offsets are cached.

    `level` is validate's: 1 the schema, 2 ids and references (and documents named in the corpus),
    3 offsets, texts and hashes against the corpus. With `shown_root`, paths are shown relative to
    it and a record that is a symbolic link, or leads outside it, is refused.
    """

    def __init__(self, corpus_dir: str | Path = "corpus", level: int = 3, shown_root: str | Path | None = None):
        self.validator = Validator(corpus_dir, level)
        self.corpus_dir = Path(corpus_dir)
        self.shown_root = str(shown_root) if shown_root is not None else None
        self._root: str | None = None  # shown_root resolved, once
        self._prefix = ""
        self._folders: dict[str, str] = {}  # folder -> its resolved path (a few hundred recent ones)

    def problems(self, record, path: str, kind: str | Iterable[str] | None = None) -> list[Problem]:
        """Every problem of an in-memory record, as validate would report it, plus a kind the caller did not expect."""
        problems = self.validator.check(record, path)
        wanted = _kinds(kind)
        if wanted and isinstance(record, dict) and not problems and record.get("kind") not in wanted:
            doc = record.get("document") or record.get("id")
            problems.append(Problem(path, doc if isinstance(doc, str) else None, "/kind", "unknown-kind",
                                    f"expected a {' or '.join(wanted)} record, found {record.get('kind')!r}"))
        return problems

    def check(self, record, path: str | Path, kind: str | Iterable[str] | None = None) -> dict:
        """The record itself if it has no problem; RecordError otherwise."""
        problems = self.problems(record, str(path), kind)
        if problems:
            raise RecordError(problems, self.shown_root)
        return record

    def read(self, path: str | Path, kind: str | Iterable[str] | None = None, level: int | None = None) -> dict:
        """Read one record file and check it; a broken file or record stops the command with one line.
        With `level`, checked to that level only (the caller checks the rest later, see `problems`)."""
        try:
            if self.shown_root is not None:
                self._refuse_link(Path(path))  # a symlinked record could bring in anything from outside
            record = fileio.read_record(path)
        except fileio.ReadError as e:
            raise RecordError([e.problem], self.shown_root) from None
        if level is None:
            return self.check(record, path, kind)
        kept, self.validator.level = self.validator.level, level
        try:
            return self.check(record, path, kind)
        finally:
            self.validator.level = kept

    def _refuse_link(self, path: Path) -> None:
        """fileio.refuse_link(path, shown_root), cheaply: the file itself is opened without following a
        link (fileio.read_record), and its folder resolves inside the root (see `inside`)."""
        if path.name in ("", ".", "..") or not self.inside(str(path.parent)):
            fileio.refuse_link(path, self.shown_root)  # raises, with its message

    def inside(self, folder: str, link: bool | None = None) -> bool:
        """Whether a folder resolves inside shown_root. Resolved folders are remembered (a few
        hundred): a folder that is no link resolves to its resolved parent plus its name, one
        lstat instead of one per component of the path (none when the caller says `link`)."""
        if self._root is None:
            self._root = os.path.realpath(self.shown_root)
            self._prefix = self._root if self._root.endswith(os.sep) else self._root + os.sep
        resolved = self._resolved(folder, link)
        return resolved == self._root or resolved.startswith(self._prefix)

    def _resolved(self, folder: str, link: bool | None = None) -> str:
        got = self._folders.get(folder)
        if got is None:
            parent, name = os.path.split(folder)
            plain = bool(parent) and name not in ("", ".", "..") and parent != folder
            if plain and link is None:
                link = _is_link(folder)
            got = os.path.realpath(folder) if link or not plain else os.path.join(self._resolved(parent), name)
            if len(self._folders) >= 256:
                self._folders.clear()
            self._folders[folder] = got
        return got

    def refuse_linked_folder(self, folder: Path) -> None:
        """fileio.refuse_link(folder, shown_root) for a document's folder: a link is refused, and so is
        a folder that resolves outside the root."""
        link = _is_link(folder)
        if link or not self.inside(str(folder), link):  # the folder's lstat made once, here
            fileio.refuse_link(folder, self.shown_root)
            raise fileio.UnsafePath(folder, f"leads outside {self.shown_root}: refused")

    def document(self, doc: str) -> dict:
        """The corpus record of a document (its text is what offsets point into), checked."""
        path = self.corpus_dir / f"{doc}.json"
        if not os.path.isfile(path):
            raise UserError(f"{path} doc={doc}: no corpus record for this document (needed for its text)")
        record = self.read(path, "document")
        if record["id"] != doc:
            raise RecordError([Problem(str(path), record["id"], "/id", "bad-id", f"a corpus file must be named after its id ({record['id']}.json)")],
                              self.shown_root)
        self.validator.remember_document(doc, record["text"], record["sha256"])
        return record


    def read_layers(self, doc: str, files: dict[str, Path]) -> dict[str, dict]:
        """annotator -> annotation record for one document (files from align.collect), each checked and
        to be what its path says: comparing broken records would give figures no one can trust."""
        found = {}
        for annotator, path in files.items():
            rec = self.read(path, "annotation")
            if rec.get("document") != doc or rec.get("annotator") != annotator:
                raise RecordError([Problem(str(path), doc, "/annotator", "bad-id", f"the record says document {rec.get('document')!r}, "
                                           f"annotator {rec.get('annotator')!r}; its path says {doc!r}, {annotator!r}")], self.shown_root)
            found[annotator] = rec
        return found

    def done(self, doc: str, annotators) -> None:
        """The caller has read this document and its layers (read_layers, from align.collect) and will
        not come back to it: what the validator kept to find duplicates of them is dropped, so that
        memory does not grow with the corpus (collect gives one file per document and annotator)."""
        self.validator.forget(doc, annotators)

    def forget_seen(self) -> None:
        """Check what follows as a new Reader would (no duplicate found against earlier records), keeping
        the corpus listing and the cache of recent documents: for a command that looks at each
        document on its own."""
        self.validator.forget_seen()


def _is_link(path) -> bool:
    """Whether a path is a symbolic link (not one when it cannot be looked at: there is nothing there)."""
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def read(path: str | Path, kind: str | Iterable[str] | None = None, corpus_dir: str | Path = "corpus", level: int = 3) -> dict:
    """One record, checked (a Reader for a single file)."""
    return Reader(corpus_dir, level).read(path, kind)


# -- fields of a record in another format ----------------------------------------------------------


def check_fields(obj, path: str, definition: str, fields: Iterable[str], doc: str | None = None) -> list[Problem]:
    """An input in another format (a JSON Lines article) whose fields are some of a record's: each
    checked against the schema's definition of that field (null allowed where it has a type: the
    command fills it in), and any other field refused. Types are read from the schema, not listed here."""
    if not isinstance(obj, dict):
        return [Problem(path, doc, "/", "wrong-type", f"expected an object, found {type(obj).__name__}")]
    return validator_problems(_fields_validator(current_path(), definition, tuple(fields)), obj, path, doc)


def _nullable(spec: dict) -> dict:
    if "type" not in spec:
        return spec
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    return {**spec, "type": kinds + ([] if "null" in kinds else ["null"])}


@lru_cache(maxsize=8)
def _fields_validator(schema_path: Path, definition: str, fields: tuple[str, ...]):
    schema = load_schema(schema_path)
    props = schema["$defs"][definition]["properties"]
    part = {"$defs": schema["$defs"], "type": "object", "additionalProperties": False,
            "properties": {f: _nullable(props[f]) for f in fields}}
    return jsonschema_rs.validator_for(part)


# -- Label Studio exports --------------------------------------------------------------------------
# The parts of a full JSON export that the converter reads, with the types it relies on. Everything
# else in an export (and the meaning of each result) is the converter's to judge, result by result.

_ID = {"type": ["integer", "string", "null"]}
_NAMES = {"type": ["array", "null"], "items": {"type": "string"}}  # labels and choices: names the config gives
_RESULT = {
    "type": "object",
    "properties": {
        "id": _ID, "type": {"type": ["string", "null"]}, "from_name": {"type": ["string", "null"]},
        "to_name": {"type": ["string", "null"]}, "from_id": _ID, "to_id": _ID,
        "value": {"type": ["object", "null"], "properties": {
            "start": {}, "end": {}, "text": {},
            "labels": _NAMES, "choices": _NAMES, "text_area": {},
        }},
        "labels": _NAMES,
    },
}
EXPORT_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "id": _ID,
            "data": {"type": ["object", "null"]},
            "annotations": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "properties": {
                        "id": _ID,
                        "was_cancelled": {"type": ["boolean", "null"]},
                        "completed_by": {"type": ["integer", "string", "object", "null"]},
                        "created_at": {"type": ["string", "null"]},
                        "updated_at": {"type": ["string", "null"]},
                        "result": {"type": ["array", "null"], "items": _RESULT},
                    },
                },
            },
        },
    },
}


@lru_cache(maxsize=1)
def _export_validator():
    return jsonschema_rs.validator_for(EXPORT_SCHEMA)


def check_export(tasks, path: str | Path) -> list:
    """A Label Studio export, checked to have the shape the converter reads; RecordError naming the
    task (and annotation) of the first problem otherwise."""
    validator = _export_validator()
    if validator.is_valid(tasks):
        return tasks
    problems = []
    for e in validator.iter_errors(tasks):
        where = list(e.instance_path)
        task = tasks[where[0]] if where and isinstance(tasks, list) else None
        task_id = task.get("id") if isinstance(task, dict) else None
        slug = "wrong-type" if list(e.schema_path)[-1:] == ["type"] else "schema-mismatch"
        what = "not a Label Studio JSON export (expected a list of task objects)" if len(where) <= 1 else f"task={task_id}: {e.message}"
        problems.append(Problem(str(path), None, pointer(where), slug, what))
    raise RecordError(problems)
