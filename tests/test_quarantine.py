"""Pull keeps a layer with problems out of the gold path, in quarantine, and brings it back when fixed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import convert, fileio, quarantine
from raidcorpus.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOC = "2015-01-15-nbc-two-suspects-dead-in-belgium-raids"



def held_layers(annotations):
    """Every quarantined layer under the annotations folder, in document order."""
    return [q for folder in sorted(annotations.glob(f"*/{quarantine.FOLDER}")) for q in quarantine.of_document(annotations, folder.parent.name)]

def spoil(record: dict) -> dict:
    """The layer with 'the suspects' as Victim of the Attack 'fire' and the first TIME normalized to 'next thursday'."""
    record = json.loads(json.dumps(record))
    ents = {e["id"]: e for e in record["entities"]}
    fire = next(ev for ev in record["events"] if ev["trigger"]["text"] == "fire")
    arg = next(a for a in fire["arguments"] if ents[a["entity"]]["text"] == "the suspects")
    arg["role"] = "Victim"
    next(e for e in record["entities"] if e["type"] == "TIME")["normalized"] = "next thursday"
    return record


def export(record: dict, task: int = 41, annotation: int = 77) -> list[dict]:
    doc = fileio.read_json(ROOT / "corpus" / f"{record['document']}.json")
    data = {"doc_id": doc["id"], "text": doc["text"], "sha256": doc["sha256"]}
    return [{"id": task, "data": data, "annotations": [
        {"id": annotation, "completed_by": 9, "updated_at": "2026-11-27T10:00:00Z", "result": convert.record_to_results(record)}]}]


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    for name in ("corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw"))
    for name in ("splits.yaml", "CHANGELOG.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def convert_cli(path: Path, tasks: list[dict]):
    path.write_text(json.dumps(tasks))
    return CliRunner().invoke(app, ["convert", str(path)])


def test_a_bad_layer_waits_in_quarantine_while_the_dataset_builds_and_comes_back_when_fixed(repo):
    good = fileio.read_json(repo / "annotations" / DOC / "annotator-1.json")
    got = convert_cli(repo / "bad.json", export(spoil(good)))
    assert got.exit_code == 1
    folder = repo / "annotations" / DOC
    new = sorted(p.name for p in folder.glob("annotator-*.json"))
    assert new == ["annotator-1.json", "annotator-2.json"], "the bad layer must not reach the gold path"
    held = list(held_layers(repo / "annotations"))
    assert [(q.document, q.problems) for q in held] == [(DOC, 2)]
    name = held[0].annotator
    problems = (folder / "quarantine" / f"{name}.problems.txt").read_text()
    # each line names task, annotation, region, the region's text and the rule
    role_line = next(line for line in problems.splitlines() if "[role-not-allowed]" in line)
    assert role_line.startswith("task=41 annotation=77 region=") and '"the suspects"' in role_line
    assert 'cannot be the Victim of Attack "fire": Attack takes Attacker, Target, Instrument, Place, Time' in role_line
    time_line = next(line for line in problems.splitlines() if "next thursday" in line)
    assert "[bad-normalized-value]" in time_line and '"Thursday"' in time_line
    assert f"invalid: annotations/{DOC}/quarantine/{name}.json: task=41" in got.output
    assert fileio.read_json(folder / "quarantine" / f"{name}.json")["annotator"] == name

    # The gold path is untouched: validate, adjudicate --check and build all pass.
    runner = CliRunner()
    for args in (["validate"], ["adjudicate", "--check"], ["build", "--version", "0.2.0", "--out", str(repo / "dist" / "x")]):
        done = runner.invoke(app, args)
        assert done.exit_code == 0, (args, done.output)
    assert "quarantine" not in runner.invoke(app, ["validate"]).output
    shown = runner.invoke(app, ["status"])
    assert shown.exit_code == 0, shown.output
    row = next(line for line in shown.output.splitlines() if line.startswith(DOC))
    assert f"quarantine {name} (2 problems)" in row and "gold current" in row
    assert "1 in quarantine (2 problems)" in shown.output
    rows = [json.loads(line) for line in runner.invoke(app, ["status", "--format", "json"]).output.splitlines()]
    assert rows[-1]["totals"]["quarantined_layers"] == 1
    held_row = next(r for r in rows[:-1] if r["document"] == DOC)
    assert held_row["quarantined"] == [{"annotator": name, "problems": 2, "path": f"annotations/{DOC}/quarantine/{name}.json"}]
    assert held_row["tasks"] == [2, 41] and held_row["gold"] == "current" and held_row["undecided"] == 0

    # Fixed in Label Studio and pulled again: the layer takes its place, the quarantine is emptied.
    fixed = export(good)
    fixed[0]["annotations"][0]["updated_at"] = "2026-11-27T11:00:00Z"
    again = convert_cli(repo / "fixed.json", fixed)
    assert again.exit_code == 0, again.output
    assert f"back from quarantine: annotations/{DOC}/{name}.json" in again.output
    assert (folder / f"{name}.json").is_file() and not (folder / "quarantine").exists()
    assert list(held_layers(repo / "annotations")) == []


def test_a_bad_time_value_is_reported_not_nulled(repo):
    good = fileio.read_json(repo / "annotations" / DOC / "annotator-1.json")
    record = json.loads(json.dumps(good))
    next(e for e in record["entities"] if e["type"] == "TIME")["normalized"] = "next thursday"
    got = convert_cli(repo / "bad.json", export(record))
    assert got.exit_code == 1 and "'next thursday' is not ISO 8601" in got.output
    held = list(held_layers(repo / "annotations"))
    assert len(held) == 1 and held[0].problems == 1


def test_status_counts_undecided_disagreements_and_a_stale_gold(repo):
    folder = repo / "annotations" / DOC
    (folder / "decisions.yaml").unlink()
    (repo / "annotations" / "2016-03-25-schaerbeek-raids-terror-suspect-shot" / "gold.json").write_text("{}\n")
    from raidcorpus import status

    totals = status.Totals()
    rows = {r["document"]: r for r in status.iter_status(repo, totals)}
    assert rows[DOC]["gold"] == "undecided" and rows[DOC]["undecided"] > 0
    assert rows["2016-03-25-schaerbeek-raids-terror-suspect-shot"]["gold"] == "stale"
    assert totals.as_dict()["undecided"] == rows[DOC]["undecided"] and totals.gold == {"current": 1, "stale": 1, "undecided": 1, "none": 1700}  # the MUC messages: no layers yet
