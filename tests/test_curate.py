"""Curation in Label Studio: disagreements pushed, a curator's annotation pulled back as decisions, gold reproduced."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import align, convert, curate, fileio
from raidcorpus.cli import app
from raidcorpus.labelstudio import Server
from raidcorpus.records import Reader

ROOT = Path(__file__).resolve().parents[1]
NBC = "2015-01-15-nbc-two-suspects-dead-in-belgium-raids"
VERVIERS = "2015-01-15-belgian-pre-emptive-operation-verviers"


def strip(obj):
    """A gold record without provenance and source (which name decision ids and file hashes)."""
    if isinstance(obj, dict):
        return {k: strip(v) for k, v in obj.items() if k not in ("provenance", "source")}
    if isinstance(obj, list):
        return [strip(v) for v in obj]
    return obj


def disputed_gold(doc: str) -> dict:
    """Gold from the layers and the committed decisions on disputed items only (not the overrides of
    agreed items or additions, which a curation of disagreements does not make)."""
    from raidcorpus import adjudicate, gold

    files = align.collect([ROOT / "annotations" / doc])[doc]
    reader = Reader(ROOT / "corpus")
    records = reader.read_layers(doc, files)
    layers = {a: align.index_layer(r) for a, r in records.items()}
    document = reader.document(doc)
    committed = adjudicate.read_decisions(ROOT / "annotations" / doc / "decisions.yaml")[0][doc]
    chosen: list[dict] = []
    for _ in range(10):
        out = gold.build_gold(doc, layers, chosen, document)
        keys = {c.key for c in out.undecided}
        more = [d for d in committed if d["item"] in keys and d not in chosen]
        if not more:
            break
        chosen += more
    assert out.gold is not None, out.undecided
    return out.gold


def test_the_curation_config_is_the_labelling_config_plus_reason_boxes():
    import xml.etree.ElementTree as ET

    from raidcorpus import ls_config

    cfg = curate.config()
    root = ET.fromstring(cfg)
    names = {e.get("name") for e in root.iter() if e.get("name")}
    assert names == {e.get("name") for e in ET.fromstring(ls_config.render()).iter() if e.get("name")} | {curate.REASON, curate.NOTE}
    for name in (curate.REASON, curate.NOTE):
        assert f'name="{name}"' in cfg
    assert f"${curate.DISPUTED}" in cfg


@pytest.mark.labelstudio
def test_curation_round_trip_writes_decisions_that_reproduce_gold(label_studio, tmp_path, monkeypatch):
    for name in ("corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw"))
    monkeypatch.chdir(tmp_path)
    # Verviers: no decisions at all. NBC: five hand decisions kept, one of them turned against gold.
    (tmp_path / "annotations" / VERVIERS / "decisions.yaml").unlink()
    nbc = tmp_path / "annotations" / NBC / "decisions.yaml"
    parts = re.split(r"(?m)^(?=- id: )", nbc.read_text())
    hand = "".join(parts[:6])
    layers = {a: align.index_layer(r) for a, r in Reader(tmp_path / "corpus").read_layers(NBC, align.collect([tmp_path / "annotations" / NBC])[NBC]).items()}
    holder = next(a for a, lay in layers.items() if "entity:PER:2537-2558" in lay.entities)
    hand = hand.replace("item: 'entity:PER:2537-2558'\n  action: reject\n", f"item: 'entity:PER:2537-2558'\n  action: take\n  layer: {holder}\n")
    assert f"layer: {holder}" in hand
    nbc.write_text(hand)

    env = label_studio.cli_env()
    runner = CliRunner()
    title = "curation round trip"
    first = runner.invoke(app, ["curate", "--push", "--project", title], env=env)
    assert first.exit_code == 0, first.output
    assert f"{VERVIERS}: 4 undecided items" in first.output and "2 documents added for curation" in first.output
    again = runner.invoke(app, ["curate", "--push", "--project", title], env=env)
    assert "0 documents added" in again.output and "already in the curation project" in again.output

    # The curator sees each annotator's version as a prediction named by pseudonym, and the disputed items.
    server = Server(label_studio.url, label_studio.token)
    tasks = {t["data"]["doc_id"]: t for t in server.tasks(server.project(title).id)}
    assert sorted(tasks) == [VERVIERS, NBC]
    assert sorted(p["model_version"] for p in tasks[VERVIERS]["predictions"]) == ["annotator-1", "annotator-2"]
    assert tasks[VERVIERS]["data"][curate.DISPUTED].startswith("Undecided:\n")

    # The curator settles each disputed item as the committed decisions do, with reasons; in NBC
    # they also mark a word no annotator marked (it comes back as an `add` decision).
    text = tasks[NBC]["data"]["text"]
    marked = {(e["start"], e["end"]) for lay in layers.values() for e in lay.entities.values()}
    marked |= {(v["trigger"]["start"], v["trigger"]["end"]) for lay in layers.values() for v in lay.events.values()}
    word = next(m for m in re.finditer(r"[A-Za-z]{6,}", text) if (m.start(), m.end()) not in marked)
    for doc, task in tasks.items():
        gold = disputed_gold(doc)
        if doc == NBC:
            gold["entities"].append({"id": "X1", "type": "LOC", "start": word.start(), "end": word.end(), "text": word.group(),
                                     "attributes": {"mention": "NOM"}})
        results = convert.record_to_results(gold)
        first_region = results[0]["id"]
        results.append({"id": first_region, "from_name": curate.REASON, "to_name": "text", "type": "textarea",
                        "value": {"start": results[0]["value"]["start"], "end": results[0]["value"]["end"], "text": ["GUIDELINES 2.3"]}})
        results.append({"id": "n1", "from_name": curate.NOTE, "to_name": "text", "type": "textarea", "value": {"text": ["GUIDELINES 7.1"]}})
        server.create_annotation(task["id"], results)

    pulled = runner.invoke(app, ["curate", "--pull", "--project", title], env=env)
    assert pulled.exit_code == 1, pulled.output  # the contradicted hand decision is reported
    assert "decision d3 (entity:PER:2537-2558: take) differs from the curator's annotation" in pulled.output
    assert "the hand decision is kept" in pulled.output
    assert nbc.read_text().startswith(hand), "hand decisions are kept byte for byte"
    written = fileio.read_yaml(tmp_path / "annotations" / VERVIERS / "decisions.yaml")
    assert written["kind"] == "decisions" and len(written["decisions"]) == 4
    assert all(d["reason"] in ("GUIDELINES 7.1", "GUIDELINES 2.3") for d in written["decisions"])
    assert {d["action"] for d in written["decisions"]} <= {"take", "reject", "edit"}

    made = runner.invoke(app, ["adjudicate"])
    assert made.exit_code == 0, made.output
    check = runner.invoke(app, ["adjudicate", "--check"])
    assert check.exit_code == 0 and "is up to date" in check.output, check.output
    # The curated gold is that gold, item for item; nbc keeps the hand decision's extra entity.
    assert strip(fileio.read_json(tmp_path / "annotations" / VERVIERS / "gold.json")) == strip(disputed_gold(VERVIERS))
    nbc_gold = fileio.read_json(tmp_path / "annotations" / NBC / "gold.json")
    assert any(e["start"] == 2537 and e["end"] == 2558 for e in nbc_gold["entities"])
    added = [d for d in fileio.read_yaml(nbc)["decisions"] if d["action"] == "add"]
    assert [d["item"] for d in added] == [f"entity:LOC:{word.start()}-{word.end()}"]
    assert any((e["type"], e["start"], e["end"]) == ("LOC", word.start(), word.end()) for e in nbc_gold["entities"])

    # Pulling again finds nothing undecided: nothing appended twice.
    before = (tmp_path / "annotations" / VERVIERS / "decisions.yaml").read_bytes()
    twice = runner.invoke(app, ["curate", "--pull", "--project", title], env=env)
    assert "nothing undecided any more" in twice.output
    assert (tmp_path / "annotations" / VERVIERS / "decisions.yaml").read_bytes() == before
