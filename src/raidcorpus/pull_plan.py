"""The plan of a pull: every record it will write or remove, worked out in memory first.

A refused pull then writes nothing: converting (convert.convert_export) and naming
(pseudonyms.name_annotators) happen here, writing in pull_write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from . import convert, fileio
from .errors import Problem
from .pseudonyms import Annotators


@dataclass
class PullReport:
    raw_file: str | None = None
    raw_unchanged: bool = False
    tasks: int = 0
    records: int = 0
    written: list[str] = field(default_factory=list)
    cancelled: int = 0
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


@dataclass
class Plan:
    """Everything a pull will write, worked out in memory first: a refused pull writes nothing."""

    names: Annotators
    records: list[tuple[Path, dict]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # records not written, one line each
    stale: list[tuple[Path, object, object]] = field(default_factory=list)  # (path, task, annotation)
    orphans: list[tuple[Path, object, object]] = field(default_factory=list)  # records whose task is not in the export


def plan_records(tasks: list[dict], annotations_dir: str | Path, named: tuple, report: PullReport) -> Plan:
    """Records and stale records for an export, named by `named` (pseudonyms.name_annotators),
    without writing anything; `report` gets the counts and what was not converted."""
    annotations_dir = Path(annotations_dir)
    names, existing, who = named
    result = convert.convert_export(tasks, lambda t, a: who[(t.get("id"), a.get("id"))])
    report.tasks = len(tasks)
    report.records = len(result.records)
    report.cancelled = len(result.cancelled)
    report.cancelled_ids = result.cancelled
    report.superseded = result.superseded
    report.issues = result.issues
    report.tasks_without_doc = result.tasks_without_doc

    plan = Plan(names)
    for record in result.records:
        doc, name, task = record["document"], record["annotator"], record["source"].get("label_studio_task")
        if not fileio.is_id(doc, "DocumentId") or not fileio.is_id(name, "AnnotatorId"):
            # checked before either becomes a file name: '../', '/' or a newline never reach the disk
            plan.refused.append(Problem(f"task={task}", None, "/data/doc_id", "bad-id",
                                        f"document {doc!r} / annotator {name!r} is not an id of the schema: not written").line())
            continue
        plan.records.append((fileio.inside(annotations_dir, doc, f"{name}.json"), record))
    fresh = {path for path, _ in plan.records}
    task_ids = {t.get("id") for t in tasks}
    for path, (task, ann) in sorted(existing.items()):
        if path not in fresh:
            (plan.stale if task in task_ids else plan.orphans).append((path, task, ann))
    return plan
