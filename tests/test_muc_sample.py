"""The MUC-4 test sample (annotations/muc-sample.txt) is what scripts/muc-sample.py makes, and keeps its rule."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "muc-sample.py"
SAMPLE = ROOT / "annotations" / "muc-sample.txt"


def load_script():
    spec = importlib.util.spec_from_file_location("muc_sample", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sample_ids() -> list[str]:
    return [line.split()[0] for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def test_committed_sample_is_the_scripts_output():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_sixty_test_messages_of_every_kind():
    ids = sample_ids()
    assert len(ids) == len(set(ids)) == 60
    assert all(re.fullmatch(r"tst[34]-muc4-\d{4}", i) for i in ids)
    assert "tst3-muc4-0087" not in ids  # near duplicate of a training message
    script = load_script()
    messages = script.load()
    chosen = [messages[i.upper()] for i in ids]
    every_type = {t for m in messages.values() for t in m["types"]}
    assert every_type == {"ARSON", "ATTACK", "BOMBING", "FORCED WORK STOPPAGE", "KIDNAPPING", "ROBBERY"}
    for kind in every_type:
        assert sum(kind in m["types"] for m in chosen) >= min(script.PER_TYPE, sum(kind in m["types"] for m in messages.values()))
    assert sum(not m["relevant"] for m in chosen) == script.IRRELEVANT
    assert {m["set"] for m in chosen} == {"TST3", "TST4"}


def test_shared_incident_groups_are_taken_whole():
    script = load_script()
    _, _, groups = script.pick(script.load())
    ids = set(sample_ids())
    assert len(groups) >= 3
    assert all(len(g) >= 2 and {m.lower() for m in g} <= ids for g in groups)


def test_date_spans_read_muc_date_forms():
    script = load_script()
    spans = script.date_spans({"INCIDENT: DATE": ["(- 12 NOV 89) / (30 OCT 89 - 31 OCT 89)"]})
    assert [(a.isoformat(), b.isoformat()) for a, b in spans] == [("0001-01-01", "1989-11-12"), ("1989-10-30", "1989-10-31")]
