"""adjudicate: agreed items pass, disagreements need written decisions, gold is rebuilt byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from raidcorpus import adjudicate, validate
from raidcorpus.cli import app
from agree_layers import DOC, copy_project, edit_layer, layer_path as layer

GPE, LOC = "entity:GPE:24-32", "entity:LOC:24-32"
MENTION = "attr:entity:ORG:0-6:mention"
LINK = "coref:entity:PER:100-112|entity:PER:46-58"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path)





def disagree(record: dict) -> None:
    """annotator-2's version: Verviers as LOC, 'Police' as a name, and no coreference cluster."""
    for ent in record["entities"]:
        if ent["text"] == "Verviers":
            ent["type"] = "LOC"
        if ent["text"] == "Police":
            ent["attributes"]["mention"] = "NAM"
    for ev in record["events"]:
        for arg in ev["arguments"]:
            if arg["role"] == "Place":
                arg["type"] = "LOC"
    record["entity_clusters"] = []


def decisions(project: Path, *entries: dict) -> Path:
    path = project / "annotations" / DOC / "decisions.yaml"
    record = {"kind": "decisions", "schema_version": "1.0", "document": DOC, "decisions": list(entries)}
    path.write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    return path


FULL = (
    {"id": "d1", "item": MENTION, "action": "edit", "value": {"mention": "NOM"}, "reason": "a common noun here"},
    {"id": "d2", "item": GPE, "action": "take", "layer": "annotator-1", "reason": "Verviers is a town"},
    {"id": "d3", "item": LOC, "action": "reject", "reason": "see d2"},
    {"id": "d4", "item": LINK, "action": "take", "layer": "annotator-1", "reason": "the same suspects"},
)


def build(project: Path, **kwargs) -> adjudicate.Result:
    return adjudicate.adjudicate([project / "annotations"], project / "corpus", **kwargs)


def gold(project: Path) -> dict:
    return json.loads((project / "annotations" / DOC / "gold.json").read_text(encoding="utf-8"))


def test_agreeing_layers_give_gold_without_decisions(project):
    result = build(project)
    assert result.ok, result.problems
    assert "agree-solo: skipped, 1 layer (annotator-1); adjudication needs 2" in result.lines
    g = gold(project)
    assert g["annotator"] == "gold" and g["source"]["layers"] == "annotator-1,annotator-2"
    assert [e["id"] for e in g["entities"]] == [f"T{i}" for i in range(1, 10)]
    assert [e["start"] for e in g["entities"]] == sorted(e["start"] for e in g["entities"])  # text order
    assert all(e["provenance"] == {"method": "agreed", "annotators": ["annotator-1", "annotator-2"]} for e in g["entities"] + g["events"])
    raid = g["events"][0]
    assert raid["type"] == "Raid" and [(a["role"], a["entity"]) for a in raid["arguments"]] == [
        ("Agent", "T1"), ("Target", "T2"), ("Place", "T3"), ("Time", "T4")]
    assert g["entity_clusters"][0]["members"] == ["T6", "T8"]
    path = str(project / "annotations" / DOC / "gold.json")
    assert validate.check_records([(path, g)], project / "corpus", level=3) == []
    # a single layer passes through only when asked for
    assert not (project / "annotations" / "agree-solo" / "gold.json").exists()
    assert build(project, min_layers=1).ok
    solo = json.loads((project / "annotations" / "agree-solo" / "gold.json").read_text(encoding="utf-8"))
    assert solo["entities"][0]["provenance"] == {"method": "agreed", "annotators": ["annotator-1"]}


def test_undecided_disagreements_stop_with_a_list(project):
    edit_layer(project, "annotator-2", disagree)
    result = CliRunner().invoke(app, ["adjudicate", str(project / "annotations"), "--corpus", str(project / "corpus")])
    assert result.exit_code == 1
    for key in (MENTION, GPE, LOC, LINK):
        assert f"doc={DOC} item={key}" in result.output
    assert "error: 4 undecided items" in result.output and "--report" in result.output
    assert "Traceback" not in result.output
    assert not (project / "annotations" / DOC / "gold.json").exists()


def test_decisions_are_applied_with_provenance(project):
    edit_layer(project, "annotator-2", disagree)
    decisions(project, *FULL)
    result = build(project)
    assert result.ok, result.problems + result.lines
    g = gold(project)
    by_text = {e["text"]: e for e in g["entities"]}
    assert by_text["Verviers"]["type"] == "GPE"
    assert by_text["Verviers"]["provenance"] == {"method": "decision", "decision": "d2"}
    assert by_text["Police"]["attributes"] == {"mention": "NOM"}
    place = next(a for a in g["events"][0]["arguments"] if a["role"] == "Place")
    # only annotator-1 has both ends of the GPE Place argument: it follows the decision on its filler
    assert place == {"role": "Place", "entity": by_text["Verviers"]["id"], "type": "GPE", "provenance": {"method": "decision", "decision": "d2"}}
    assert g["entity_clusters"] == [{"id": "C1", "members": ["T6", "T8"], "provenance": {"method": "decision", "decision": "d4"}}]
    items = [e for e in g["entities"]] + g["events"] + [a for ev in g["events"] for a in ev["arguments"]] + g["entity_clusters"]
    assert all("provenance" in i for i in items)
    assert validate.check_records([("gold.json", g)], project / "corpus", level=3) == []


def test_rebuild_is_byte_identical_and_check_catches_staleness(project):
    edit_layer(project, "annotator-2", disagree)
    decisions(project, *FULL)
    assert build(project).ok
    path = project / "annotations" / DOC / "gold.json"
    first = path.read_bytes()
    again = build(project)
    assert f"{DOC}: unchanged {path}" in again.lines[1]
    path.unlink()
    build(project)
    assert path.read_bytes() == first
    assert build(project, check=True).ok
    path.write_bytes(first.replace(b'"NOM"', b'"PRO"', 1))
    stale = CliRunner().invoke(app, ["adjudicate", str(project / "annotations"), "--corpus", str(project / "corpus"), "--check"])
    assert stale.exit_code == 1 and "gold.json doc=agree-verviers: stale" in stale.output
    assert path.read_bytes() != first  # --check writes nothing


def test_report_template_is_filled_in_and_used(project):
    edit_layer(project, "annotator-2", disagree)
    decisions(project, FULL[0])  # one decision already written: kept in the template
    report = project / "report.yaml"
    runner = CliRunner()
    args = ["adjudicate", str(project / "annotations"), "--corpus", str(project / "corpus")]
    first = runner.invoke(app, args + ["--report", str(report)])
    assert first.exit_code == 1 and "error: 3 undecided items" in first.output
    text = report.read_text(encoding="utf-8")
    assert "#   annotator-1: {attributes: {mention: NAM}}" in text and "#   annotator-2: absent" in text
    records = list(yaml.safe_load_all(text))
    assert len(records) == 1 and records[0]["document"] == DOC
    entries = records[0]["decisions"]
    assert [e["id"] for e in entries] == ["d1", "d2", "d3", "d4"]
    assert [e["item"] for e in entries] == [MENTION, GPE, LOC, LINK]
    # the unfilled template is a valid input: its empty entries stay undecided
    unfilled = runner.invoke(app, args + ["--decisions", str(report)])
    assert unfilled.exit_code == 1 and "error: 3 undecided items, 0 problems" in unfilled.output
    for entry, full in zip(entries, FULL):
        entry.clear()
        entry.update(full)
    report.write_text(yaml.safe_dump_all(records, sort_keys=False), encoding="utf-8")
    done = runner.invoke(app, args + ["--decisions", str(report)])
    assert done.exit_code == 0, done.output
    assert f"{DOC}: wrote" in done.output


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"id": "d9", "item": GPE, "action": "take", "layer": "annotator-2", "reason": "wrong layer"},
         "layer 'annotator-2' does not have this item; layers that do: annotator-1"),
        ({"id": "d9", "item": LINK, "action": "edit", "value": {}, "reason": "cannot edit a link"},
         "'edit' is not possible here; use take or reject"),
        ({"id": "d9", "item": MENTION, "action": "reject", "reason": "mention is required"},
         "'reject' is not possible here; use take or edit"),
        ({"id": "d9", "item": GPE, "action": "edit", "value": {"colour": "red"}, "reason": "unknown field"},
         "value has fields colour"),
    ],
)
def test_impossible_decisions_are_problems(project, entry, message):
    edit_layer(project, "annotator-2", disagree)
    decisions(project, *[d for d in FULL if d["item"] != entry["item"]], entry)
    result = build(project)
    assert not result.ok
    assert any(message in p and f"doc={DOC} decision d9" in p for p in result.problems), result.problems
    assert not (project / "annotations" / DOC / "gold.json").exists()


def test_decisions_file_is_checked_against_the_schema(project):
    edit_layer(project, "annotator-2", disagree)
    path = decisions(project, {"id": "d1", "item": GPE, "action": "take", "layer": "annotator-1"})  # no reason
    result = build(project)
    assert any(p.startswith(str(path)) and "[missing-field]" in p for p in result.problems), result.problems


def test_rejecting_an_entity_drops_what_hangs_on_it(project):
    edit_layer(project, "annotator-2", disagree)
    reject_both = [
        FULL[0], FULL[3],
        {"id": "d2", "item": GPE, "action": "reject", "reason": "not needed"},
        {"id": "d3", "item": LOC, "action": "reject", "reason": "not needed"},
    ]
    decisions(project, *reject_both)
    result = build(project)
    assert result.ok, result.problems
    g = gold(project)
    assert "Verviers" not in {e["text"] for e in g["entities"]}
    assert "Place" not in {a["role"] for a in g["events"][0]["arguments"]}
    assert "2 dropped with a rejected end" in result.lines[-1]


def test_unused_decisions_are_reported(project):
    decisions(project, {"id": "d1", "item": GPE, "action": "take", "layer": "annotator-1", "reason": "no longer disputed"})
    result = build(project)
    assert result.ok
    assert any("warning: decision d1 matches no disputed item" in line for line in result.lines)


def test_three_annotators_majority_is_not_agreement(project):
    edit_layer(project, "annotator-1", lambda r: None, new_name="annotator-3")
    edit_layer(project, "annotator-2", disagree)
    result = build(project)
    keys = [c.key for _, c in result.undecided]
    assert keys == [MENTION, GPE, LOC, LINK]
    versions = next(c for _, c in result.undecided if c.key == GPE).versions
    assert list(versions) == ["annotator-1", "annotator-2", "annotator-3"] and versions["annotator-2"] is None
    decisions(project, *FULL)
    assert build(project).ok
    assert gold(project)["source"]["layers"] == "annotator-1,annotator-2,annotator-3"


def test_an_edit_with_text_offsets_is_a_problem_not_a_crash(project):
    edit_layer(project, "annotator-2", disagree)
    entry = {"id": "d9", "item": GPE, "action": "edit", "value": {"start": "24"}, "reason": "offsets as text"}
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    result = build(project)
    assert any("decision d9" in p and "offsets must be integers" in p for p in result.problems), result.problems


def test_an_edit_is_validated_before_gold_is_written(project):
    edit_layer(project, "annotator-2", disagree)
    entry = {"id": "d9", "item": GPE, "action": "edit", "value": {"end": 31}, "reason": "shorter span"}
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    result = build(project)  # the span text is taken from the corpus: 'Vervier', cut out of a word
    assert any("[span-inside-word]" in p and "check the edit decisions" in p for p in result.problems), result.problems
    entry["value"] = {"end": 31, "subword": True}  # a deliberate sub-word span says so
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    assert build(project).ok
    assert "Vervier" in {e["text"] for e in gold(project)["entities"]}
    entry["value"] = {"attributes": {"mention": "XYZ"}}
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    result = build(project)
    assert any("[bad-attribute]" in p and "check the edit decisions" in p for p in result.problems), result.problems
