"""Writing a pull's plan: clean records to annotations/<doc>/<annotator>.json, records with
problems to quarantine with their problem lines, stale records removed, orphans kept and named."""

from __future__ import annotations

from pathlib import Path

from . import convert, feedback, fileio, quarantine
from .pull_plan import Plan, PullReport
from .records import Reader


def apply_plan(plan: Plan, corpus_dir: str | Path, report: PullReport, url=None) -> PullReport:
    """Save the pseudonym table, write the planned records (those with problems to quarantine),
    remove the stale ones. `url(task_id)` gives the Label Studio URL of a task, if known."""
    report.invalid += plan.refused  # records whose ids could not become file names: not written
    if plan.records or plan.stale:
        fileio.write_bytes_atomic(plan.names.path, plan.names.dump())
    place_records(plan.records, corpus_dir, report, url)
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


def place_records(records: list[tuple[Path, dict]], corpus_dir: str | Path, report: PullReport, url=None) -> None:
    """Check every record, then write each clean one to annotations/<doc>/<annotator>.json (taking it
    out of quarantine) and each with problems or unconverted results to quarantine with its lines."""
    by_annotation: dict[tuple, list[convert.Issue]] = {}
    for issue in report.issues:
        by_annotation.setdefault((issue.task, issue.annotation), []).append(issue)
    reader = Reader(corpus_dir)
    checked = [(path, record, reader.problems(record, str(path), "annotation")) for path, record in records]
    for path, record, found in checked:
        task, ann = record["source"].get("label_studio_task"), record["source"].get("label_studio_annotation")
        issues = by_annotation.get((task, ann), [])
        if not issues and not found:
            if fileio.write_json(path, record):
                report.written.append(str(path))
            if quarantine.release(path.parent.parent, record["document"], record["annotator"]):
                report.released.append(str(path))
            continue
        words = feedback.findings(record, issues, found, feedback.record_texts(record), task, ann)
        link = url(task) if url and task is not None else None
        lines = [f.line(link) for f in words]
        where, _ = quarantine.place(path.parent.parent, record, lines)
        report.quarantined.append(str(where))
        report.invalid += [f"{where}: {line}" for line in lines]
