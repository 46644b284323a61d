"""Shared by the agreement and adjudication tests: a private copy of tests/data/agree and its layers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

DATA = Path(__file__).parent / "data" / "agree"
DOC = "agree-verviers"


def copy_project(tmp_path: Path) -> Path:
    """A private copy of the fixture corpus and layers, to change without touching the originals."""
    shutil.copytree(DATA, tmp_path / "p")
    return tmp_path / "p"


def layer_path(project: Path, annotator: str, doc: str = DOC) -> Path:
    return project / "annotations" / doc / f"{annotator}.json"


def edit_layer(project: Path, annotator: str, change, new_name: str | None = None) -> dict:
    """Load a layer, let `change` modify it, and write it back (or as another annotator)."""
    record = json.loads(layer_path(project, annotator).read_text(encoding="utf-8"))
    change(record)
    if new_name:
        record["annotator"] = new_name
    layer_path(project, new_name or annotator).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return record
