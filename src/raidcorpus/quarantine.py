"""Quarantine: an annotator's layer with problems, kept out of the gold path but not lost.

`pull` writes a layer that fails validation (or has results the converter could not take) to
annotations/<doc>/quarantine/<annotator>.json, with its problems beside it in
<annotator>.problems.txt, one line each (task, annotation, region, the region's text, the rule,
the Label Studio URL of the task). Every command that reads layers walks folders with
fileio.iter_files, which never enters a quarantine folder, so validate, agree, adjudicate and build
do not take such a layer as input; an older valid layer of the same annotator, if any, stays
where it was. When a later pull finds the layer clean, it is written to its ordinary place and
the quarantined copy and its problems are removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import fileio

FOLDER = "quarantine"  # fileio.iter_files skips folders of this name
PROBLEMS = ".problems.txt"


def paths(annotations_dir: str | Path, doc: str, annotator: str) -> tuple[Path, Path]:
    """(record, problems) paths of a quarantined layer."""
    # fileio.inside: a document id or a link below annotations/ never leads the write elsewhere
    return (fileio.inside(annotations_dir, doc, FOLDER, f"{annotator}.json"),
            fileio.inside(annotations_dir, doc, FOLDER, f"{annotator}{PROBLEMS}"))


def place(annotations_dir: str | Path, record: dict, lines: list[str]) -> tuple[Path, bool]:
    """Put a layer in quarantine with its problem lines; (record path, whether anything changed)."""
    rec_path, prob_path = paths(annotations_dir, record["document"], record["annotator"])
    changed = fileio.write_json(rec_path, record)
    changed |= fileio.write_bytes_atomic(prob_path, ("\n".join(lines) + "\n").encode("utf-8"))
    return rec_path, changed


def release(annotations_dir: str | Path, doc: str, annotator: str) -> bool:
    """Remove a layer's quarantined copy and problems (its clean version has been written); True if there was one."""
    if not os.path.lexists(os.path.join(annotations_dir, doc, FOLDER)):
        return False  # the usual case: no quarantine folder (nor a link of that name), nothing to check
    found = False
    for p in paths(annotations_dir, doc, annotator):
        if p.is_file():
            p.unlink()
            found = True
    folder = Path(annotations_dir) / doc / FOLDER
    if found and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
    return found


@dataclass(frozen=True)
class Quarantined:
    document: str
    annotator: str
    path: Path
    problems: int


def of_document(annotations_dir: str | Path, doc: str) -> list[Quarantined]:
    """The quarantined layers of one document."""
    folder = Path(annotations_dir) / doc / FOLDER
    out = []
    for rec in sorted(folder.glob("*.json")) if folder.is_dir() else ():
        try:
            text = rec.with_name(rec.stem + PROBLEMS).read_text(encoding="utf-8")
        except OSError:
            text = ""
        out.append(Quarantined(doc, rec.stem, rec, sum(1 for line in text.splitlines() if line.strip())))
    return out
