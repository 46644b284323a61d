"""Pull annotations back: keep the full export (scrubbed), convert it to one record per (document, annotator).

The steps live in modules of their own: raw_export (the kept export), scrub (personal data out),
pseudonyms (who is annotator-N), pull_plan (the records, worked out in memory first, so a
refused pull writes nothing) and pull_write (records, quarantine, stale records).
"""

from __future__ import annotations

from pathlib import Path

import orjson

from . import feedback, fileio, raw_export, scrub
from .errors import UserError
from .labelstudio import LabelStudio
from .pseudonyms import name_annotators
from .pull_plan import PullReport, plan_records
from .pull_write import apply_plan
from .records import check_export

__all__ = ["PullReport", "convert_file", "download", "pull"]


def download(server: LabelStudio, project_id: int, title: str) -> list[dict]:
    """The project's full JSON export, parsed and checked to have the shape the converter reads."""
    data = server.export(project_id)
    try:
        tasks = fileio.loads_json(data)
    except orjson.JSONDecodeError:
        raise UserError(f"the export of {title!r} is not JSON") from None
    return check_export(tasks, f"the export of {title!r}")


def pull(server: LabelStudio, title: str, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus") -> PullReport:
    """Export the project, work out every record in memory, then keep the raw export if new and write."""
    server.check()
    project = server.project(title)
    identity = server.identity()
    report = PullReport()
    tasks = download(server, project.id, title)
    with fileio.gc_frozen():  # the parsed export out of the collector's passes (see fileio.gc_frozen)
        named = name_annotators(tasks, annotations_dir, identity)
        try:
            email_ids = {u["email"]: u["id"] for u in server.users() if u.get("email")}
        except UserError:
            email_ids = {}  # a token that may not list users: addresses still go, as unknown-user
        kept = scrub.scrub(tasks, lambda uid: named[0].lookup(str(uid)), email_ids)
        plan = plan_records(tasks, annotations_dir, named, report)
        path, written = raw_export.save_raw(kept, Path(annotations_dir) / "raw", title)  # before any record
        report.raw_file, report.raw_unchanged = str(path), not written
        return apply_plan(plan, corpus_dir, report, url=lambda task: feedback.task_url(server.shown, project.id, task))


def convert_file(export: str | Path, annotations_dir: str | Path = "annotations", corpus_dir: str | Path = "corpus",
                 server: str | None = None) -> PullReport:
    """Convert a saved full JSON export (.json or .json.gz) without a server. `server`: the key of the
    server it came from (default: the only one the pseudonym table knows)."""
    tasks = check_export(fileio.parse_json(export, fileio.read_bytes(export)), export)
    with fileio.gc_frozen():  # the parsed export out of the collector's passes (see fileio.gc_frozen)
        report = PullReport()
        named = name_annotators(tasks, annotations_dir, server)
        return apply_plan(plan_records(tasks, annotations_dir, named, report), corpus_dir, report)
