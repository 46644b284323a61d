"""Pull annotations back: keep the full export unchanged, convert it to one record per (document, annotator).

The raw export goes to annotations/raw/<project-slug>-<timestamp>.json.gz only when its
content differs from the latest one kept, so pulling twice changes nothing. Annotators are
pseudonymous: annotations/annotators.yaml maps (server, user id) to annotator-N, never an
e-mail address. Everything is worked out in memory first, so a refused pull writes nothing.
"""

from __future__ import annotations

import gc
import gzip
import os
import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import orjson
import yaml

from . import convert, feedback, io, ontology, quarantine, scrub, workers
from .errors import Problem, UserError
from .records import Reader, check_export

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
    cancelled_ids: list = field(default_factory=list)  # (task, annotation)
    superseded: list = field(default_factory=list)  # convert.Superseded
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # layers whose task is no longer in the project
    issues: list[convert.Issue] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)  # one line per problem of a quarantined layer
    quarantined: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    tasks_without_doc: list = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.raw_file:
            out.append(f"raw export: {self.raw_file}{' (unchanged, nothing new)' if self.raw_unchanged else ''}")
        out.append(f"{self.tasks} tasks, {self.records} annotation records, {len(self.written)} files written")
        out += [f"wrote {p}" for p in self.written]
        out += [f"removed {line}" for line in self.removed]
        out += [f"kept {line}" for line in self.kept]
        for task, ann in self.cancelled_ids:
            out.append(f"cancelled (skipped): task={task} annotation={ann}: not converted")
        out += [f"not converted: {s.line()}" for s in self.superseded]
        if self.tasks_without_doc:
            out.append(f"tasks without doc_id/text ignored: {', '.join(map(str, self.tasks_without_doc))}")
        out += [f"back from quarantine: {p}" for p in self.released]
        out += [f"invalid: {line}" for line in self.invalid]
        if self.quarantined:
            out.append(f"{len(self.quarantined)} layers with problems kept in quarantine, out of validate/agree/adjudicate/build "
                       "(fix them in Label Studio and pull again): " + ", ".join(self.quarantined))
        return out


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "project"


def _strip(obj):
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


# A volatile field as orjson writes it (compact, no spaces): `{` or `,`, the key, then a string,
# number or literal value. A bare `"` never occurs inside a JSON string (it is escaped there), so
# `,"created_ago":` or `{"created_ago":` is always a key of an object, never text.
_VOLATILE_BYTES = re.compile(rb'([{,])"(?:' + b"|".join(re.escape(k.encode()) for k in VOLATILE) +
                             rb')":(?:"(?:[^"\\]|\\.)*"|[-+0-9.eE]+|null|true|false)')


def _without_volatile(data: bytes) -> bytes:
    """Compact JSON bytes with every volatile key and its value cut out (the `{` or `,` before it kept):
    equal results mean equal exports once the volatile fields are dropped."""
    return _VOLATILE_BYTES.sub(rb"\1", data)


def latest_raw(raw_dir: Path, project_slug: str) -> Path | None:
    files = sorted(raw_dir.glob(f"{project_slug}-*.json.gz"))
    return files[-1] if files else None


def save_raw(data: bytes, tasks: list, raw_dir: str | Path, title: str, now: datetime | None = None) -> tuple[Path, bool]:
    """Keep the export (`data`, already parsed as `tasks`) gzip-compressed, unless it says what the
    latest kept one says. (path, written)."""
    path, packed = raw_to_keep(data, tasks, raw_dir, title, now)
    if packed is not None:
        io.write_bytes_atomic(path, packed)
    return path, packed is not None


def raw_to_keep(data: bytes, tasks: list, raw_dir: str | Path, title: str, now: datetime | None = None) -> tuple[Path, bytes | None]:
    """What save_raw writes, without writing it: (new path, gzip bytes), or (latest kept path, None)
    when the export says what that one says."""
    raw_dir = io.inside(Path(raw_dir).parent, Path(raw_dir).name)  # a symlinked raw/ is refused
    last = latest_raw(raw_dir, slug(title))
    if last is not None:
        try:
            kept = io.read_bytes(io.refuse_link(last))
            same, ours = _without_volatile(kept), _without_volatile(data)
            # Equal bytes once the volatile fields are cut: the same export (the usual case of pulling
            # again, decided without parsing). Same length: perhaps only keys in another order, so
            # compare the parsed exports. A different length is a different export.
            if same == ours or (len(same) == len(ours) and _strip(io.loads_json(kept)) == _strip(tasks)):
                return last, None
        except (io.ReadError, orjson.JSONDecodeError):
            pass
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    return io.inside(raw_dir, f"{slug(title)}-{stamp}.json.gz"), compress(data)


GZIP_PIECE = 16 << 20  # bytes of the export per gzip member
# Level 3: on 16 MB of a Label Studio export, level 6 took 0.18 s of CPU for 9.9% of the size,
# level 3 0.077 s for 11.4%, level 1 0.067 s for 12.7% (level 9 three times level 6 for 8% less).
# At level 3 a 140 MB export is compressed while pull plans its records beside it; at 6 pull waited.
GZIP_LEVEL = 3


def compress(data: bytes) -> bytes:
    """gzip of `data` at GZIP_LEVEL as members of GZIP_PIECE bytes each, compressed in threads
    (zlib lets go of the interpreter lock, so a 140 MB export takes the cores there are); every
    gzip reader reads the members as one stream. The bytes do not depend on the number of cores."""
    pieces = [data[i:i + GZIP_PIECE] for i in range(0, len(data), GZIP_PIECE)] or [b""]
    if len(pieces) == 1:
        return gzip.compress(pieces[0], compresslevel=GZIP_LEVEL, mtime=0)
    with ThreadPoolExecutor(min(len(pieces), os.cpu_count() or 1)) as pool:
        return b"".join(pool.map(lambda piece: gzip.compress(piece, compresslevel=GZIP_LEVEL, mtime=0), pieces))


class Annotators:
    """The pseudonym table, annotations/annotators.yaml: which Label Studio user is which annotator-N.

    A key is `SERVER/USER`: SERVER names the Label Studio server (see labelstudio.Server.identity:
    a digest of its organization's id and creation time, the same from every machine and token),
    USER is the server's user id, or `annotation-N` for an annotation whose user was deleted
    before it was first pulled. Nothing in it is secret or personal, so every maintainer with a
    token gets the same pseudonyms with no file copied by hand. New users are numbered in the
    order they first appear (by server user id within one pull). 64-hex keys are the salted
    digests of 0.1.0, whose salt is gone: they keep annotator-1 and annotator-2 taken.
    """

    def __init__(self, path: str | Path, server: str | None = None):
        self.path = Path(path)
        self.server = server
        data = Reader(level=1).read(self.path, "annotators") if self.path.exists() else {}
        table = data.get("annotators") if isinstance(data, dict) else None
        if not isinstance(table, dict) or not all(isinstance(v, list) for v in table.values()):
            table = {} if not self.path.exists() else None
        if table is None:
            raise UserError(f"{self.path}: not a pseudonym table (expected `annotators:` mapping names to lists of keys)")
        self.table: dict[str, list[str]] = {str(k): [str(x) for x in v] for k, v in table.items()}
        self.owner = {key: name for name, keys in self.table.items() for key in keys}

    def servers(self) -> list[str]:
        return sorted({k.split("/", 1)[0] for k in self.owner if "/" in k})

    def mine(self) -> set[str]:
        """Pseudonyms of users of this server."""
        prefix = f"{self.server}/"
        return {name for key, name in self.owner.items() if key.startswith(prefix)}

    def lookup(self, user: str) -> str | None:
        return self.owner.get(f"{self.server}/{user}")

    def pseudonym(self, user: str, name: str | None = None) -> str:
        """The pseudonym of `user` (a user id or `annotation-N`) on this server; a new one if unseen
        (or `name`, for a deleted user known from an earlier record)."""
        key = f"{self.server}/{user}"
        if key in self.owner:
            return self.owner[key]
        if name is None:
            taken = {int(n.rsplit("-", 1)[1]) for n in self.table if re.fullmatch(r"annotator-\d+", n)}
            name = f"annotator-{max(taken, default=0) + 1}"
        self.table.setdefault(name, []).append(key)
        self.owner[key] = name
        return name

    def dump(self) -> bytes:
        head = ("# Which Label Studio user is which annotator, written by `raidcorpus pull` (do not edit).\n"
                "# A key is SERVER/USER: SERVER names a Label Studio server (16 hex digits of the sha256 of its\n"
                "# organization's id and creation time), USER its user id, or annotation-N for an annotation whose\n"
                "# user was deleted before its first pull. No e-mail address, token or secret is stored.\n"
                "# The 64-hex keys are the salted digests of release 0.1.0 (salt gone); they keep those names taken.\n")
        body = yaml.safe_dump({"kind": "annotators", "schema_version": ontology.load().version, "annotators": self.table},
                              sort_keys=True, allow_unicode=True)
        return (head + body).encode("utf-8")


@dataclass
class Plan:
    """Everything a pull will write, worked out in memory first: a refused pull writes nothing."""

    names: Annotators
    records: list[tuple[Path, dict]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # records not written, one line each
    stale: list[tuple[Path, object, object]] = field(default_factory=list)  # (path, task, annotation)
    orphans: list[tuple[Path, object, object]] = field(default_factory=list)  # records whose task is not in the export
    clean: set[int] = field(default_factory=set)  # id() of records already checked and found clean (Staged)
    remote: dict[int, tuple] = field(default_factory=dict)  # id() of a clean record made in a worker -> (partner, slot) (Staged)


def _existing(annotations_dir: Path, names: Annotators) -> dict[Path, tuple]:
    """This server's annotators' records on disk: path -> (task id, annotation id)."""
    out = {}
    mine = names.mine()
    if not mine or not annotations_dir.is_dir():
        return out
    for path in annotations_dir.glob("*/*.json"):
        if path.stem not in mine or path.parent.name == "raw":
            continue
        path = io.inside(annotations_dir, path.parent.name, path.name)  # never read or remove through a link
        record = io.read_json(path)
        source = record.get("source") if isinstance(record, dict) else None
        if isinstance(source, dict):
            out[path] = (source.get("label_studio_task"), source.get("label_studio_annotation"))
    return out


def name_annotators(tasks: list[dict], annotations_dir: str | Path, server: str | None) -> tuple[Annotators, dict, dict]:
    """(pseudonym table, this server's records on disk, (task id, annotation id) -> pseudonym) for an export."""
    annotations_dir = Path(annotations_dir)
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise UserError("not a Label Studio JSON export: expected a list of task objects")
    names = Annotators(annotations_dir / ANNOTATORS_FILE, server)
    if names.server is None:
        known = names.servers()
        if len(known) > 1:
            raise UserError(f"{names.path} names {len(known)} servers ({', '.join(known)}): say which one the export "
                            "came from with --server", 2)
        names.server = known[0] if known else "unknown"
    existing = _existing(annotations_dir, names)
    by_ids = {ids: path.stem for path, ids in existing.items()}

    # New users get their pseudonym in order of their server id; annotations whose user was
    # deleted keep the pseudonym of the record they already made, else one of their own.
    live = [(t, a) for t in tasks for a in t.get("annotations") or () if isinstance(a, dict) and not a.get("was_cancelled")]
    who: dict[tuple, str] = {}
    users = sorted({u for _, a in live if isinstance(u := convert.annotation_user(a)[0], int)})
    for uid in users:
        names.pseudonym(str(uid))
    for t, a in sorted(live, key=lambda ta: (str(ta[1].get("id")),)):
        uid = convert.annotation_user(a)[0]
        ids = (t.get("id"), a.get("id"))
        if uid is None:
            who[ids] = names.pseudonym(f"annotation-{a.get('id')}", by_ids.get(ids))
        else:
            who[ids] = names.pseudonym(str(uid))
    return names, existing, who


def plan_records(tasks: list[dict], annotations_dir: str | Path, server: str | None, report: PullReport,
                 staged: "Staged | None" = None, named: tuple | None = None) -> Plan:
    """Pseudonyms, records and stale records for an export, without writing anything (taking the
    conversions `staged` made earlier, and the names of `named`, from name_annotators, if given)."""
    annotations_dir = Path(annotations_dir)
    names, existing, who = named or name_annotators(tasks, annotations_dir, server)
    result = convert.convert_export(tasks, lambda t, a: who[(t.get("id"), a.get("id"))],
                                    converted=staged.converted if staged else None)
    report.tasks = len(tasks)
    report.records = len(result.records)
    report.cancelled = len(result.cancelled)
    report.cancelled_ids = result.cancelled
    report.replaced = len(result.superseded)
    report.superseded = result.superseded
    report.issues = result.issues
    report.tasks_without_doc = result.tasks_without_doc

    plan = Plan(names, clean=staged.clean if staged else set(), remote=staged.remote if staged else {})
    for record in result.records:
        doc, who, task = record["document"], record["annotator"], record["source"].get("label_studio_task")
        if not io.is_id(doc, "DocumentId") or not io.is_id(who, "AnnotatorId"):
            # checked before either becomes a file name: '../', '/' or a newline never reach the disk
            plan.refused.append(Problem(f"task={task}", None, "/data/doc_id", "bad-id",
                                        f"document {doc!r} / annotator {who!r} is not an id of the schema: not written").line())
            continue
        plan.records.append((io.inside(annotations_dir, doc, f"{who}.json"), record))
    fresh = {path for path, _ in plan.records}
    task_ids = {t.get("id") for t in tasks}
    for path, (task, ann) in sorted(existing.items()):
        if path not in fresh:
            (plan.stale if task in task_ids else plan.orphans).append((path, task, ann))
    return plan


def apply_plan(plan: Plan, corpus_dir: str | Path, report: PullReport, url=None) -> PullReport:
    """Save the pseudonym table, write the planned records (those with problems to quarantine),
    remove the stale ones. `url(task_id)` gives the Label Studio URL of a task, if known."""
    report.invalid += plan.refused  # records whose ids could not become file names: not written
    if plan.records or plan.stale:
        io.write_bytes_atomic(plan.names.path, plan.names.dump())
    place_records(plan.records, corpus_dir, report, url, plan.clean, plan.remote)
    for path, task, ann in plan.stale:
        path.unlink(missing_ok=True)
        report.removed.append(f"{path}: task={task} annotation={ann} is no longer a submitted annotation in Label Studio "
                              "(deleted or cancelled); the earlier raw exports keep it")
    for path, task, ann in plan.orphans:
        # The task itself is gone (deleted in Label Studio, or the layer came from another project of
        # the server): the work is not thrown away on a guess; the maintainer decides.
        report.kept.append(f"{path}: doc={path.parent.name} task={task} annotation={ann}: the task is not in the project "
                           "(deleted in Label Studio, or pulled from another project); the layer is kept: delete it by hand "
                           "if it should go")
    return report


def place_records(records: list[tuple[Path, dict]], corpus_dir: str | Path, report: PullReport, url=None,
                  clean: set[int] = frozenset(), remote: dict[int, tuple] | None = None) -> None:
    """Write each clean record to annotations/<doc>/<annotator>.json (taking it out of quarantine), and
    each record with problems or unconverted results to quarantine with its problem lines. Records
    whose id() is in `clean` were checked before (Staged) and are not checked again; `remote` names
    those a worker process made and keeps (their record here is only its ids, see Staged.parted):
    each worker is told to write its own once every record has been checked here."""
    remote = remote or {}
    by_annotation: dict[tuple, list[convert.Issue]] = {}
    for issue in report.issues:
        by_annotation.setdefault((issue.task, issue.annotation), []).append(issue)
    problems: dict[str, list] = {}
    reader = Reader(corpus_dir)
    for path, r in records:
        if id(r) in clean:
            continue
        for p in reader.problems(r, str(path), "annotation"):
            problems.setdefault(p.path, []).append(p)

    def findings(path: Path, record: dict) -> tuple[list, list]:
        task, ann = record["source"].get("label_studio_task"), record["source"].get("label_studio_annotation")
        return by_annotation.get((task, ann), []), problems.get(str(path), [])

    # The workers write the clean records they made (told now: every check is done), this process
    # the others, one after another: a pool of writer threads was slower on a local disk (10,000
    # new records: 1.9 s with 1 to 4 threads, 1.1 s in a loop; the hand-over per file and the
    # folder's lock cost more than the overlap gained). The report lists them in record order;
    # the first error stops the writes. Quarantine folders are changed here only.
    theirs: dict[object, list] = {}
    for path, record in records:
        if id(record) in remote and not any(findings(path, record)):
            partner, slot = remote[id(record)]
            theirs.setdefault(partner, []).append((slot, str(path), record["annotator"]))
    for partner, files in theirs.items():
        partner.tell(files)
    puts = []
    for path, record in records:
        issues, found = findings(path, record)
        if not issues and not found:
            puts.append((path, record, io.write_json(path, record) if id(record) not in remote else None))
            continue
        task, ann = record["source"].get("label_studio_task"), record["source"].get("label_studio_annotation")
        words = feedback.findings(record, issues, found, feedback.record_texts(record), task, ann)
        link = url(task) if url and task is not None else None
        lines = [f.line(link) for f in words]
        where, _ = quarantine.place(path.parent.parent, record, lines)
        report.quarantined.append(str(where))
        report.invalid += [f"{where}: {line}" for line in lines]
    changed = {}
    for partner, files in theirs.items():
        changed.update(zip((path for _, path, _ in files), partner.answer()))
    for path, record, wrote in puts:
        if wrote if wrote is not None else changed[str(path)]:
            report.written.append(str(path))
        if quarantine.release(path.parent.parent, record["document"], record["annotator"]):
            report.released.append(str(path))


def write_records(tasks: list[dict], annotations_dir: str | Path, corpus_dir: str | Path, server: str | None = None,
                  report: PullReport | None = None) -> PullReport:
    """Convert an export into annotation records, write the changed ones, remove stale ones, validate them all."""
    report = report or PullReport()
    return apply_plan(plan_records(tasks, annotations_dir, server, report), corpus_dir, report)


class CorpusHashes:
    """doc id -> sha256 of its corpus text (None when the corpus has no such record)."""

    def __init__(self, corpus_dir: str | Path):
        self.corpus_dir = Path(corpus_dir)
        self.known: dict[str, str | None] = {}

    def get(self, doc: str) -> str | None:
        if doc not in self.known:
            path = io.inside(self.corpus_dir, f"{doc}.json")
            try:
                rec = io.read_json(path) if path.is_file() else None
            except io.ReadError:
                rec = None  # validation reports the broken corpus record
            self.known[doc] = rec.get("sha256") if isinstance(rec, dict) else None
        return self.known[doc]


class Staged:
    """An export's annotations converted and checked ahead of the plan: part by part as the parts
    arrive (pull, while the next part downloads), or a part in each process (convert).

    During a pull the pseudonyms are known only once every part is in, so each annotation is
    converted under a stand-in annotator name of its own and checked at a stand-in path; the plan
    then names the records (convert.convert_export) and skips the checks of those found clean. No
    check looks at the annotator beyond its form (an id of the schema), which both the stand-in and
    the pseudonym have (the plan refuses other names), so a clean record stays clean; a record with
    problems is checked again under its own name and path, for the lines to name them."""

    def __init__(self, annotations_dir: str | Path, corpus_dir: str | Path):
        self.annotations_dir = Path(annotations_dir)
        self.reader = Reader(corpus_dir)
        self.onto = ontology.load()
        self.converted: dict[int, convert.Converted] = {}  # id(annotation) -> its conversion
        self.clean: set[int] = set()  # id() of converted records without a problem
        self.remote: dict[int, tuple] = {}  # id() of a clean record made in a worker -> (workers.Partner, slot of its file)

    def _one(self, task, doc, text, ann, name) -> tuple[convert.Converted, bool]:
        conv = convert.convert_annotation(task, doc, text, ann, name, self.onto)
        clean = False
        if io.is_id(doc, "DocumentId") and io.is_id(name, "AnnotatorId") and not conv.issues:
            path = self.annotations_dir / doc / f"{name}.json"
            clean = not self.reader.problems(conv.record, str(path), "annotation")
        return conv, clean

    def add(self, tasks: list[dict], who: dict | None = None) -> None:
        """Convert and check the annotations of `tasks`, named by `who` ((task id, annotation id) ->
        pseudonym) or by stand-ins."""
        for task, doc, text, ann in convert.annotations_to_convert(tasks):
            name = who[(task.get("id"), ann.get("id"))] if who else f"pending-{len(self.converted)}"
            conv, clean = self._one(task, doc, text, ann, name)
            self.converted[id(ann)] = conv
            if clean:
                self.clean.add(id(conv.record))

    @contextmanager
    def parted(self, export: str | Path, jobs: int) -> Iterator[list]:
        """The export's tasks, checked (check_export), with their annotations converted and checked
        under stand-in names (see add) in `jobs` processes. The file's bytes are cut between two
        tasks (task_cuts) and each forked worker parses, checks and converts its part, sending back
        only what naming and the plan read of its tasks (slim_task) and, for a clean record, its
        ids: it keeps the record and writes it once told its name and path (place_records), so no
        process parses or frees the whole export. Yields the tasks, slim beyond the first part.

        A part that does not parse, or is not of the export's shape, and an export too small to
        share, are parsed whole here: a broken export gets the line one process gives. A worker
        that fails, dies or is not told to write by the end of the block writes nothing."""
        data = io.read_bytes(export)
        cuts = task_cuts(data, max(1, min(jobs, len(data) // FORK_MIN_BYTES)))
        if cuts:
            bounds = [0, *cuts, len(data)]
            runs = [(self, data, bounds[i], bounds[i + 1]) for i in range(1, len(bounds) - 1)]
            with workers.partners(_part_run, iter(runs), "convert: a worker process ended without its result (out of memory?): "
                                  "nothing was written") as partners:
                del runs
                tasks = parse_part(data, 0, cuts[0])
                del data  # the workers hold their own view of it
                if tasks is not None:
                    gc.freeze()  # the parsed part out of the collector's passes (io.gc_frozen)
                    self.add(tasks)
                    for partner in partners:
                        part = partner.answer()
                        if part is None:
                            tasks = None
                            break
                        slim, results = part
                        for (_, _, _, ann), (conv, clean, slot) in zip(convert.annotations_to_convert(slim), results):
                            self.converted[id(ann)] = conv
                            if clean:
                                self.clean.add(id(conv.record))
                                self.remote[id(conv.record)] = (partner, slot)
                        tasks += slim
                if tasks is not None:
                    yield tasks
                    return
            self.converted.clear()
            self.clean.clear()
            self.remote.clear()
            data = io.read_bytes(export)
        tasks = check_export(io.parse_json(export, data), export)
        del data
        gc.freeze()
        self.add(tasks)
        yield tasks


FORK_MIN_BYTES = 8 << 20  # export bytes per process below which convert works alone (about 600 tasks)


def task_cuts(data: bytes, parts: int) -> list[int]:
    """Offsets of commas that cut a JSON export into about `parts` equal parts between two tasks.

    Candidates only: a comma followed by a task's opening as the export writes every task (its
    id, then the key the first task has second). Parsing the parts proves them: a part closed
    with ']' parses only if its cut lay between two elements of the top-level list, not inside a
    task or a string (parse_part)."""
    first = _FIRST_TASK.match(data) if parts > 1 else None
    if first is None:
        return []
    opening = re.compile(rb',\s*\{\s*"id"\s*:\s*-?\d+\s*,\s*"' + re.escape(first.group(1)) + rb'"\s*:')
    cuts: list[int] = []
    for i in range(1, parts):
        lo = cuts[-1] + 1 if cuts else 0
        at = max(len(data) * i // parts, lo)
        found = opening.search(data, at)
        if found is None:  # the last one before, if any
            for found in opening.finditer(data, lo, at):
                pass
        if found is None:
            break
        cuts.append(found.start())
    return cuts


_FIRST_TASK = re.compile(rb'\s*\[\s*\{\s*"id"\s*:\s*-?\d+\s*,\s*"([^"\\]{1,64})"\s*:')


def parse_part(data: bytes, lo: int, hi: int) -> list | None:
    """The tasks of data[lo:hi] (cut at task_cuts offsets), checked to have the export's shape;
    None when the part does not parse as a list or has a problem (the whole is then parsed, for
    its line)."""
    text = (b"[" if lo else b"") + data[lo + (1 if lo else 0):hi] + (b"]" if hi < len(data) else b"")
    try:
        tasks = io.loads_json(text)
    except orjson.JSONDecodeError:
        return None
    del text
    try:
        return check_export(tasks, "") if isinstance(tasks, list) else None
    except UserError:
        return None


def slim_task(task: dict) -> dict:
    """What naming and the plan read of a task (convert.convert_export, name_annotators): its ids,
    whether it names a document and has a text, and its annotations' ids, users, times and
    cancellation; not the text nor the results, which stay in the worker that parsed them."""
    data = task.get("data")
    if isinstance(data, dict):
        data = {"doc_id": data.get("doc_id"), "text": "" if isinstance(data.get("text"), str) else None}
    anns = task.get("annotations")
    if isinstance(anns, list):
        anns = [{k: a[k] for k in _SLIM_ANNOTATION if k in a} if isinstance(a, dict) else a for a in anns]
    return {"id": task.get("id"), "data": data, "annotations": anns}


_SLIM_ANNOTATION = ("id", "completed_by", "was_cancelled", "created_at", "updated_at")


def _part_run(run: tuple) -> Iterator:
    """In a worker (see workers.Partner): parses and checks its part of the export and yields None
    when it cannot, else (slim tasks, [(conversion, clean, slot of a clean record)]), the
    conversion of a clean record only its ids; then, told [(slot, path, annotator)], names and
    writes those records and yields whether each changed."""
    staged, data, lo, hi = run
    tasks = parse_part(data, lo, hi)
    del data, run
    if tasks is None:
        yield None
        return
    gc.freeze()  # as in the parent: the parsed part out of the collector's passes
    staged.add(tasks)  # under stand-in names, as in the parent
    out, made = [], []
    for _, _, _, ann in convert.annotations_to_convert(tasks):
        conv = staged.converted[id(ann)]
        if id(conv.record) in staged.clean:
            record = conv.record
            ids = {"document": record["document"], "annotator": record["annotator"], "source": record["source"]}
            out.append((convert.Converted(ids, []), True, len(made)))
            made.append(record)
        else:
            out.append((conv, False, None))
    writes = yield [slim_task(t) for t in tasks], out
    del out, tasks
    # written one after another, as place_records writes this process's records
    yield [io.write_bytes_atomic(Path(path), io.dumps_json({**made[slot], "annotator": name})) for slot, path, name in writes]


def download(server, project_id: int, title: str, annotations_dir, corpus_dir) -> tuple[list, Staged]:
    """The project's full export, parsed and checked, with its annotations converted and checked
    while it downloads (Staged)."""
    staged = Staged(annotations_dir, corpus_dir)
    tasks: list = []
    whole = False  # whether a part failed the check: said of the whole export, once it is in
    for data in server.export_parts(project_id):
        try:
            part = io.loads_json(data)
        except orjson.JSONDecodeError:
            raise UserError(f"the export of {title!r} is not JSON") from None
        if not isinstance(part, list):
            check_export(part, f"the export of {title!r}")  # raises: not a list of tasks
        gc.freeze()  # the parsed part out of the collector's passes, as the whole export was (io.gc_frozen)
        tasks += part
        try:
            check_export(part, f"the export of {title!r}")
        except UserError:
            whole = True  # said below, of the whole export (its line points into the whole list)
            continue
        staged.add(part)
    if whole or not tasks:
        check_export(tasks, f"the export of {title!r}")
    return tasks, staged


def pull(server, title: str, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> PullReport:
    """Export the project, work out every record in memory, then keep the raw export if new and write."""
    server.check()
    project = server.project(title)
    identity = server.identity()
    report = PullReport()
    with io.gc_frozen():
        tasks, staged = download(server, project.id, title, annotations_dir, corpus_dir)
        named = name_annotators(tasks, annotations_dir, identity)
        try:
            email_ids = {u["email"]: u["id"] for u in server.users() if u.get("email")}
        except UserError:
            email_ids = {}  # a token that may not list users: addresses still go, as unknown-user
        kept = scrub.scrub(tasks, lambda uid: named[0].lookup(str(uid)), email_ids)
        # The raw export compared with the latest kept one (and compressed, if new) in a thread while
        # the records are planned here (zlib lets go of the interpreter lock); written once the plan
        # stands, before any record.
        with ThreadPoolExecutor(1, thread_name_prefix="raw-export") as pool:
            raw = pool.submit(raw_to_keep, orjson.dumps(kept), kept, Path(annotations_dir) / "raw", title)
            plan = plan_records(tasks, annotations_dir, identity, report, staged, named)
            path, packed = raw.result()
        if packed is not None:
            io.write_bytes_atomic(path, packed)
        report.raw_file, report.raw_unchanged = str(path), packed is None
        return apply_plan(plan, corpus_dir, report, url=lambda task: feedback.task_url(server.shown, project.id, task))


def convert_file(export: str | Path, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus",
                 server: str | None = None) -> PullReport:
    """Convert a saved full JSON export (.json or .json.gz) without a server. `server`: the key of the
    server it came from (default: the only one the pseudonym table knows)."""
    with io.gc_frozen():
        report = PullReport()
        staged = Staged(annotations_dir, corpus_dir)
        with staged.parted(export, os.cpu_count() or 1) as tasks:
            named = name_annotators(tasks, annotations_dir, server)
            return apply_plan(plan_records(tasks, annotations_dir, server, report, staged, named), corpus_dir, report)
