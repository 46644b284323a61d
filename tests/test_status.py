"""status: the run with one Reader and worker processes says what a new Reader per document says."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import align, status
from raidcorpus.agree.figures import figures
from raidcorpus.agree.items import ALL, document_tally
from raidcorpus.ontology import load as load_ontology
from raidcorpus.records import Reader
from raidcorpus.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(p.parent.name for p in (ROOT / "annotations").glob("*/gold.json"))  # the annotated seeds


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """The seed documents in every state status tells apart: current, stale, missing and undecided
    gold, a broken layer, a layer filed under the wrong document, a folder without a corpus record."""
    for name in ("corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw", "*-muc*"))  # MUC: no layers
    ann = tmp_path / "annotations"
    current, stale, undecided = DOCS
    gold = json.loads((ann / stale / "gold.json").read_text(encoding="utf-8"))
    gold["entities"][0]["attributes"] = {**gold["entities"][0]["attributes"], "extra": "x"}
    (ann / stale / "gold.json").write_text(json.dumps(gold, indent=2) + "\n", encoding="utf-8")
    (ann / undecided / "decisions.yaml").unlink()
    # copies of the three documents: gold missing, a layer that does not parse, a layer of another document
    for suffix, source in (("-missing", current), ("-broken", stale), ("-foreign", undecided)):
        doc = source + suffix
        record = json.loads((tmp_path / "corpus" / f"{source}.json").read_text(encoding="utf-8"))
        record["id"] = doc
        (tmp_path / "corpus" / f"{doc}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        shutil.copytree(ann / source, ann / doc)
        for layer in (ann / doc).glob("annotator-*.json"):
            rec = json.loads(layer.read_text(encoding="utf-8"))
            rec["document"] = doc
            layer.write_text(json.dumps(rec, indent=2) + "\n", encoding="utf-8")
        if (ann / doc / "decisions.yaml").is_file():
            (ann / doc / "decisions.yaml").write_text((ann / doc / "decisions.yaml").read_text(encoding="utf-8").replace(source, doc))
    (ann / f"{current}-missing" / "gold.json").unlink()
    (ann / f"{stale}-broken" / "annotator-2.json").write_text("{not json\n", encoding="utf-8")
    shutil.copy(ann / current / "annotator-1.json", ann / f"{undecided}-foreign" / "annotator-3.json")
    (ann / "no-corpus-record").mkdir()
    shutil.copy(ann / current / "annotator-2.json", ann / "no-corpus-record" / "annotator-2.json")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _slow(root: Path) -> list[dict]:
    """The reference: every document looked at by a new Reader, one after the other."""
    return [status.document_status(root, doc) for doc in status.documents(root)]


def test_agreement_is_what_the_full_tally_and_figures_give(repo):
    onto = load_ontology()
    reader = Reader(repo / "corpus")
    checked = 0
    for row in _slow(repo):
        if not row["agreement"]:
            continue
        reader.forget_seen()
        records = {a: reader.read(repo / "annotations" / row["document"] / f"{a}.json", "annotation") for a in row["annotators"]}
        layers = {a: align.index_layer(r) for a, r in sorted(records.items())}
        tally = document_tally(layers, len(reader.document(row["document"])["text"]), sorted(layers), onto)
        full = {r["measure"]: r["value"] for r in figures(tally, sorted(layers), onto, len(layers))
                if r["label"] == ALL and r["measure"] in status.MEASURES}
        assert row["agreement"] == full and list(row["agreement"]) == list(status.MEASURES)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("jobs", [1, 2])
def test_one_reader_and_workers_give_what_a_reader_per_document_gives(repo, monkeypatch, jobs):
    monkeypatch.setattr(status, "CHUNK", 2)  # several runs of documents, across both workers
    expected = _slow(repo)
    assert {r["gold"] for r in expected} >= {"current", "stale", "missing", "undecided"}, "the fixture covers every state"
    assert any(r["problems"] for r in expected)
    totals = status.Totals()
    got = list(status.iter_status(repo, totals, jobs=jobs))
    assert got == expected
    assert totals.documents == len(expected)


def test_the_command_prints_the_same_with_one_job_and_two(repo, monkeypatch):
    monkeypatch.setattr(status, "CHUNK", 1)
    one = CliRunner().invoke(app, ["status", "--jobs", "1"])
    two = CliRunner().invoke(app, ["status", "--jobs", "2", "--format", "text"])
    assert one.exit_code == 0 and two.exit_code == 0
    assert one.output == two.output and "gold: current 1, missing 1, " in one.output.splitlines()[-1]
