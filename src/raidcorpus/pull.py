"""Pull annotations back: keep the full export unchanged, convert it to one record per (document, annotator).

The raw export goes to annotations/raw/<project-slug>-<timestamp>.json.gz only when its
content differs from the latest one kept, so pulling twice changes nothing. Annotators are
pseudonymous: annotations/annotators.yaml maps salted digests of Label Studio users (never
their e-mail addresses) to annotator-N.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import orjson
import yaml

from . import convert, io, ontology
from .errors import UserError

VOLATILE = ("created_ago",)  # fields the server recomputes on every export
ANNOTATORS_FILE = "annotators.yaml"


@dataclass
class PullReport:
    raw_file: str | None = None
    raw_unchanged: bool = False
    tasks: int = 0
    records: int = 0
    written: list[str] = field(default_factory=list)
    cancelled: int = 0
    replaced: int = 0
    issues: list[convert.Issue] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    tasks_without_doc: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.raw_file:
            out.append(f"raw export: {self.raw_file}{' (unchanged, nothing new)' if self.raw_unchanged else ''}")
        out.append(f"{self.tasks} tasks, {self.records} annotation records, {len(self.written)} files written")
        out += [f"wrote {p}" for p in self.written]
        if self.cancelled:
            out.append(f"{self.cancelled} cancelled (skipped) annotations counted, not converted")
        if self.replaced:
            out.append(f"{self.replaced} older annotations by the same annotator on the same task ignored")
        if self.tasks_without_doc:
            out.append(f"tasks without doc_id/text ignored: {', '.join(map(str, self.tasks_without_doc))}")
        out += [f"unconverted: {i.line()}" for i in self.issues]
        out += [f"invalid: {line}" for line in self.invalid]
        return out


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "project"


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def latest_raw(raw_dir: Path, project_slug: str) -> Path | None:
    files = sorted(raw_dir.glob(f"{project_slug}-*.json.gz"))
    return files[-1] if files else None


def save_raw(data: bytes, tasks: list, raw_dir: str | Path, title: str, now: datetime | None = None) -> tuple[Path, bool]:
    """Keep the export (`data`, already parsed as `tasks`) gzip-compressed, unless it says what the
    latest kept one says. (path, written)."""
    raw_dir = Path(raw_dir)
    last = latest_raw(raw_dir, slug(title))
    if last is not None:
        try:
            if _strip(io.loads_json(gzip.decompress(last.read_bytes()))) == _strip(tasks):
                return last, False
        except (OSError, EOFError, orjson.JSONDecodeError, gzip.BadGzipFile):
            pass
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    path = raw_dir / f"{slug(title)}-{stamp}.json.gz"
    io.write_bytes_atomic(path, gzip.compress(data, compresslevel=6, mtime=0))  # level 9: 3x the time, 8% smaller
    return path, True


class Annotators:
    """The pseudonym table: salted sha256 digests of user e-mails or ids -> annotator-N.

    The salt is a local secret, never committed (RAIDCORPUS_PSEUDONYM_SALT, or the ignored file
    .label-studio/pseudonym-salt beside the annotations folder): with it public, anyone could
    confirm a guessed e-mail address against the committed digests.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.salt_file = self.path.parent.parent / ".label-studio" / "pseudonym-salt"
        data = (io.read_yaml(self.path) or {}) if self.path.exists() else {}
        self.table: dict[str, list[str]] = {k: list(v) for k, v in (data.get("annotators") or {}).items()}
        self.salt = os.environ.get("RAIDCORPUS_PSEUDONYM_SALT") or self._read_salt() or data.get("salt")
        if not self.salt:
            if self.table:
                raise UserError(
                    f"{self.path}: the pseudonym salt is missing: copy .label-studio/pseudonym-salt from the machine "
                    "that made this table, or set RAIDCORPUS_PSEUDONYM_SALT; without it every annotator would get a new pseudonym"
                )
            self.salt = secrets.token_hex(16)
        self._keep_salt()

    def _read_salt(self) -> str | None:
        try:
            return self.salt_file.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    def _keep_salt(self) -> None:
        if os.environ.get("RAIDCORPUS_PSEUDONYM_SALT") or self._read_salt() == self.salt:
            return
        self.salt_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.salt_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.salt + "\n")

    def _digest(self, kind: str, value) -> str:
        return hashlib.sha256(f"{self.salt}:{kind}:{value}".encode()).hexdigest()

    def pseudonym(self, user_id, email: str | None = None) -> str:
        keys = []
        if email:
            keys.append(self._digest("email", email.strip().lower()))
        if user_id is not None:
            keys.append(self._digest("id", user_id))
        name = next((n for n, ks in self.table.items() if any(k in ks for k in keys)), None)
        if name is None:
            taken = {int(n.rsplit("-", 1)[1]) for n in self.table if re.fullmatch(r"annotator-\d+", n)}
            name = f"annotator-{max(taken, default=0) + 1}"
            self.table[name] = []
        for k in keys:
            if k not in self.table[name]:
                self.table[name].append(k)
        return name

    def save(self) -> bool:
        head = ("# Label Studio users and their pseudonyms, written by `raidcorpus pull`.\n"
                "# Keys are sha256 digests of a user's e-mail address or server user id with a local secret salt\n"
                "# (never committed), so the addresses can be neither read nor confirmed from this file.\n")
        body = yaml.safe_dump({"kind": "annotators", "schema_version": ontology.load().version, "annotators": self.table}, sort_keys=True, allow_unicode=True)
        return io.write_bytes_atomic(self.path, (head + body).encode("utf-8"))


def write_records(tasks: list[dict], annotations_dir: str | Path, corpus_dir: str | Path, emails: dict | None = None,
                  report: PullReport | None = None) -> PullReport:
    """Convert an export into annotation records, write the changed ones, validate them all."""
    from . import validate

    annotations_dir = Path(annotations_dir)
    report = report or PullReport()
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise UserError("not a Label Studio JSON export: expected a list of task objects")
    names = Annotators(annotations_dir / ANNOTATORS_FILE)
    emails = emails or {}
    # New users get their pseudonym in order of their server id, not of the tasks they annotated.
    users = {convert.annotation_user(a) for t in tasks for a in t.get("annotations") or () if not a.get("was_cancelled")}
    for uid, email in sorted(users, key=lambda u: (u[0] is None, u[0] if isinstance(u[0], int) else 0, str(u))):
        names.pseudonym(uid, email or emails.get(uid))
    result = convert.convert_export(tasks, lambda uid, email: names.pseudonym(uid, email or emails.get(uid)))
    report.tasks = len(tasks)
    report.records = len(result.records)
    report.cancelled = result.cancelled
    report.replaced = result.replaced
    report.issues = result.issues
    report.tasks_without_doc = result.tasks_without_doc
    if result.records:
        names.save()
    pairs = []
    for record in result.records:
        path = annotations_dir / record["document"] / f"{record['annotator']}.json"
        pairs.append((str(path), record))
        if io.write_json(path, record):
            report.written.append(str(path))
    report.invalid = [p.line() for p in validate.check_records(pairs, corpus_dir)]
    return report


def pull(server, title: str, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> PullReport:
    """Export the project, keep the raw export if new, and convert it."""
    server.check()
    project = server.project(title)
    data = server.export(project.id)
    try:
        tasks = io.loads_json(data)
    except orjson.JSONDecodeError:
        raise UserError(f"the export of {title!r} is not JSON") from None
    path, written = save_raw(data, tasks, Path(annotations_dir) / "raw", title)
    report = PullReport(raw_file=str(path), raw_unchanged=not written)
    try:
        emails = {u["id"]: u["email"] for u in server.users()}
    except UserError:
        emails = {}  # a token that may not list users: fall back to user ids
    with io.gc_frozen():
        return write_records(tasks, annotations_dir, corpus_dir, emails, report)


def convert_file(export: str | Path, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> PullReport:
    """Convert a saved full JSON export (.json or .json.gz) without a server."""
    tasks = io.read_json(export)
    if not isinstance(tasks, list):
        raise UserError(f"{export}: not a Label Studio JSON export (expected a list of tasks)")
    with io.gc_frozen():
        return write_records(tasks, annotations_dir, corpus_dir)
