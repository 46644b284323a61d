"""adjudicate: agreed items pass, disagreements need written decisions, gold is rebuilt byte for byte."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given, strategies as st
from typer.testing import CliRunner

from raidcorpus import adjudicate, align, checks, fileio, itemkey
from raidcorpus.cli import app
from agree_layers import DOC, copy_project, edit_layer

ROOT = Path(__file__).resolve().parents[1]
GPE, LOC = "entity:GPE:24-32", "entity:LOC:24-32"
MENTION = "attr:entity:ORG:0-6:mention"
LINK = "coref:entity:PER:100-112|entity:PER:46-58"


def lines(result) -> list[str]:
    """The problems of an adjudication, as the one-line form the command prints."""
    return [p.line() for p in result.problems]


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
    assert result.ok, lines(result)
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
    assert checks.check_records([(path, g)], project / "corpus", level=3) == []
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
        assert f"decisions.yaml doc={DOC} /decisions [undecided] item={key}" in result.output
    assert "error: 4 undecided items" in result.output and "--report" in result.output
    assert "Traceback" not in result.output
    assert not (project / "annotations" / DOC / "gold.json").exists()


def test_decisions_are_applied_with_provenance(project):
    edit_layer(project, "annotator-2", disagree)
    decisions(project, *FULL)
    result = build(project)
    assert result.ok, lines(result) + result.lines
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
    assert checks.check_records([("gold.json", g)], project / "corpus", level=3) == []


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
    "entry, where, message",
    [
        ({"id": "d9", "item": GPE, "action": "take", "layer": "annotator-2", "reason": "wrong layer"},
         "layer [decision-not-possible]", "layer 'annotator-2' does not have this item; layers that do: annotator-1"),
        ({"id": "d9", "item": LINK, "action": "edit", "value": {}, "reason": "cannot edit a link"},
         "action [decision-not-possible]", "'edit' is not possible here; use take or reject"),
        ({"id": "d9", "item": MENTION, "action": "reject", "reason": "mention is required"},
         "action [decision-not-possible]", "'reject' is not possible here; use take or edit"),
        ({"id": "d9", "item": GPE, "action": "edit", "value": {"colour": "red"}, "reason": "unknown field"},
         "value [bad-decision-value]", "value has fields colour"),
    ],
)
def test_impossible_decisions_are_problems(project, entry, where, message):
    edit_layer(project, "annotator-2", disagree)
    given = [d for d in FULL if d["item"] != entry["item"]]
    decisions(project, *given, entry)
    result = build(project)
    assert not result.ok
    at = f"doc={DOC} /decisions/{len(given)}/{where} decision d9"
    assert any(message in p and at in p for p in lines(result)), lines(result)
    assert not (project / "annotations" / DOC / "gold.json").exists()


def test_decisions_file_is_checked_against_the_schema(project):
    edit_layer(project, "annotator-2", disagree)
    path = decisions(project, {"id": "d1", "item": GPE, "action": "take", "layer": "annotator-1"})  # no reason
    result = build(project)
    assert any(p.startswith(str(path)) and "[missing-field]" in p for p in lines(result)), lines(result)


def test_rejecting_an_entity_drops_what_hangs_on_it(project):
    edit_layer(project, "annotator-2", disagree)
    reject_both = [
        FULL[0], FULL[3],
        {"id": "d2", "item": GPE, "action": "reject", "reason": "not needed"},
        {"id": "d3", "item": LOC, "action": "reject", "reason": "not needed"},
    ]
    decisions(project, *reject_both)
    result = build(project)
    assert result.ok, lines(result)
    g = gold(project)
    assert "Verviers" not in {e["text"] for e in g["entities"]}
    assert "Place" not in {a["role"] for a in g["events"][0]["arguments"]}
    assert "2 dropped with a rejected end" in result.lines[-1]


def test_a_decision_that_matches_nothing_is_an_error(project):
    decisions(project,
              {"id": "d1", "item": GPE, "action": "take", "layer": "annotator-1", "reason": "no longer disputed"},
              {"id": "d2", "item": "entity:PER:1-5", "action": "reject", "reason": "a key no layer has"})
    path = project / "annotations" / DOC / "decisions.yaml"
    result = build(project)
    assert not result.ok and not (project / "annotations" / DOC / "gold.json").exists()
    assert lines(result) == [
        f"{path} doc={DOC} /decisions/0/item [stale-decision] decision d1 ({GPE}) is stale: every layer agrees on this "
        "item, so there is nothing to take; remove it",
        f"{path} doc={DOC} /decisions/1/item [stale-decision] decision d2 (entity:PER:1-5) is stale: it matches no item "
        "of the layers (the layers changed, or the key is mistyped); use 'add' for an item no layer has; remove it",
    ]
    # a gold layer that was right before the decisions went stale: --check fails on it now
    path.unlink()
    assert build(project).ok
    decisions(project, {"id": "d1", "item": GPE, "action": "take", "layer": "annotator-1", "reason": "stale"})
    check = CliRunner().invoke(app, ["adjudicate", str(project / "annotations"), "--corpus", str(project / "corpus"), "--check"])
    assert check.exit_code == 1 and "[stale-decision] decision d1" in check.output and "Traceback" not in check.output


AGREED_ENTITY, AGREED_EVENT = "entity:PER:75-86", "event:Injure:91-98"
OVERRIDES = (
    {"id": "o1", "item": AGREED_ENTITY, "action": "edit", "value": {"start": 79}, "reason": "GUIDELINES 2: head noun only (test)"},
    {"id": "o2", "item": "event:Die:64-70", "action": "edit", "value": {"trigger": {"start": 59}}, "reason": "test: 'were killed'"},
    {"id": "o3", "item": "entity:GPE:131-136", "action": "reject", "reason": "test: Syria out"},
    {"id": "o4", "item": "arg:event:Raid:7-13:Time:entity:TIME:36-44", "action": "reject", "reason": "test: no Time"},
    {"id": "o5", "item": "attr:entity:ORG:0-6:mention", "action": "edit", "value": {"mention": "NAM"}, "reason": "test: a name"},
    {"id": "o6", "item": "attr:event:Movement:117-125:evidentiality", "action": "edit", "value": {"evidentiality": "asserted"},
     "reason": "test: asserted"},
    {"id": "o7", "item": LINK, "action": "reject", "reason": "test: cut the suspects apart"},
    {"id": "o8", "item": AGREED_EVENT, "action": "reject", "reason": "test: no injury"},
)
ADDITIONS = (
    {"id": "a1", "item": "entity:PER:95-98", "action": "add", "value": {"attributes": {"mention": "NOM"}, "subword": True},
     "reason": "test: a sub-word entity"},
    {"id": "a2", "item": "event:Attack:64-70", "action": "add",
     "value": {"attributes": {"status": "actual", "polarity": "positive", "genericity": "specific", "evidentiality": "asserted",
                              "attack_type": "unknown"}}, "reason": "test: an event no layer has"},
    {"id": "a3", "item": "arg:event:Die:64-70:Place:entity:GPE:24-32", "action": "add", "reason": "test: Place of the deaths"},
    {"id": "a4", "item": "coref:entity:PER:75-86|entity:PER:46-58", "action": "add", "reason": "test: a link no layer has"},
)


def test_agreed_items_are_overridden_by_decisions(project):
    decisions(project, *OVERRIDES)
    result = build(project)
    assert result.ok, lines(result)
    assert "8 overridden, 0 added" in result.lines[-1]
    g = gold(project)
    by_text = {e["text"]: e for e in g["entities"]}
    assert "Syria" not in by_text and "one officer" not in by_text
    assert by_text["officer"]["provenance"] == {"method": "decision", "decision": "o1"}
    assert by_text["Police"]["attributes"] == {"mention": "NAM"}
    assert by_text["Police"]["provenance"] == {"method": "decision", "decision": "o5"}
    assert by_text["Verviers"]["provenance"]["method"] == "agreed"
    events = {e["type"]: e for e in g["events"]}
    assert "Injure" not in events
    assert events["Die"]["trigger"]["text"] == "were killed" and events["Die"]["provenance"] == {"method": "decision", "decision": "o2"}
    assert [a["role"] for a in events["Die"]["arguments"]] == ["Victim"]  # arguments follow the edited event
    assert [a["role"] for a in events["Raid"]["arguments"]] == ["Agent", "Target", "Place"]
    assert events["Movement"]["attributes"]["evidentiality"] == "asserted"
    assert events["Movement"]["provenance"] == {"method": "decision", "decision": "o6"}
    assert [a["role"] for a in events["Movement"]["arguments"]] == ["Traveller"]  # its Origin was rejected
    assert g["entity_clusters"] == []
    assert checks.check_records([("gold.json", g)], project / "corpus", level=3) == []


def test_items_no_layer_has_are_added_by_decisions(project):
    decisions(project, *ADDITIONS)
    result = build(project)
    assert result.ok, lines(result)
    assert "0 overridden, 4 added" in result.lines[-1]
    g = gold(project)
    added = next(e for e in g["entities"] if e["start"] == 95)
    assert added == {"id": added["id"], "type": "PER", "start": 95, "end": 98, "text": "red", "attributes": {"mention": "NOM"},
                     "provenance": {"method": "decision", "decision": "a1"}, "subword": True}
    attack = next(e for e in g["events"] if e["type"] == "Attack")
    assert attack["provenance"] == {"method": "decision", "decision": "a2"} and attack["attributes"]["attack_type"] == "unknown"
    die = next(e for e in g["events"] if e["type"] == "Die")
    place = [a for a in die["arguments"] if a["role"] == "Place"]
    assert place == [{"role": "Place", "entity": next(e["id"] for e in g["entities"] if e["text"] == "Verviers"), "type": "GPE",
                      "provenance": {"method": "decision", "decision": "a3"}}]
    ids = {e["text"]: e["id"] for e in g["entities"]}
    assert g["entity_clusters"] == [{"id": "C1", "members": [ids["Two suspects"], ids["one officer"], ids["The suspects"]],
                                     "provenance": {"method": "decision", "decision": "a4"}}]
    assert checks.check_records([("gold.json", g)], project / "corpus", level=3) == []


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"id": "x1", "item": "entity:GPE:24-32", "action": "add", "reason": "every layer has it"},
         "'add' is not possible here, every layer has this item; to override it use reject or edit"),
        ({"id": "x1", "item": "attr:entity:ORG:0-6:mention", "action": "reject", "reason": "a required attribute"},
         "'reject' is not possible here, every layer has this item; to override it use edit"),
        ({"id": "x1", "item": "arg:event:Die:64-70:Place:entity:GPE:20-28", "action": "add", "reason": "no such filler"},
         "entity:GPE:20-28 not in gold, so the argument cannot be added"),
        ({"id": "x1", "item": "coref:entity:PER:75-86|entity:PER:1-9", "action": "add", "reason": "no such mention"},
         "entity:PER:1-9 not in gold, so the link cannot be added"),
        ({"id": "x1", "item": "attr:entity:ORG:0-6:mention", "action": "add", "value": {"mention": "NAM"}, "reason": "add an attr"},
         "'add' creates an entity, event, argument or coreference link"),
        ({"id": "x1", "item": "event:Bombing:1-5", "action": "add", "reason": "unknown type"},
         "'Bombing' is not an event type of the schema"),
        ({"id": "x1", "item": "entity:PER:79-86", "action": "add", "value": {"start": 70}, "reason": "span in the value"},
         "value may only give attributes, normalized, subword"),
        ({"id": "x1", "item": "entity:PER:75-86", "action": "edit", "value": {"start": 46, "end": 58}, "reason": "onto another"},
         "are the same item entity:PER:46-58 after the decisions"),
        ({"id": "x1", "item": "arg:event:Raid:7-13:Time:entity:TIME:36-44", "action": "edit", "value": {}, "reason": "edit an arg"},
         "'edit' is not possible here, every layer has this item; to override it use reject"),
    ],
)
def test_impossible_overrides_and_additions_are_problems(project, entry, message):
    decisions(project, entry)
    result = build(project)
    assert not result.ok
    assert any(message in p and f"doc={DOC} " in p for p in lines(result)), lines(result)
    assert not (project / "annotations" / DOC / "gold.json").exists()


def test_an_added_entity_without_its_required_attributes_is_not_written(project):
    decisions(project, {"id": "a1", "item": "entity:PER:79-86", "action": "add", "reason": "no mention given"})
    result = build(project)
    assert any("[bad-attribute]" in p and "mention" in p and "check the edit decisions" in p for p in lines(result)), lines(result)


def test_overrides_and_additions_are_deterministic(project):
    edit_layer(project, "annotator-2", disagree)
    entries = FULL + tuple(d for d in OVERRIDES if d["item"] not in (LINK, MENTION)) + ADDITIONS[:3]
    decisions(project, *entries)
    assert build(project).ok
    path = project / "annotations" / DOC / "gold.json"
    first = path.read_bytes()
    path.unlink()
    decisions(project, *reversed(entries))  # the order of the decisions does not matter
    assert build(project).ok
    assert path.read_bytes() == first
    assert build(project, check=True).ok
    # a coreference key may name its ends in either order
    swapped = dict(ADDITIONS[3], item="coref:entity:PER:46-58|entity:PER:75-86")
    decisions(project, *entries, swapped)
    assert build(project).ok
    assert len(gold(project)["entity_clusters"][0]["members"]) == 3


def test_decision_keys_and_the_add_action_are_checked_by_the_schema(project):
    decisions(project, ADDITIONS[0])
    assert build(project).ok
    for item, why in [("entity:PER:95", "is not START-END"), ("entity:PER:-5-95", "is not START-END"),
                      ("entity:PER:1-" + "9" * 5000, "more than 9 digits"),
                      ("arg:event:Raid:1-5:Place", "is not arg:<event key>:ROLE:<entity key>"), (17, "is text, not int"),
                      ("coref:entity:PER:1-5|event:Raid:6-9", "two different mentions of one kind"), ("thing:PER:1-5", "does not start")]:
        path = decisions(project, dict(ADDITIONS[0], item=item))
        result = build(project)
        assert [p for p in lines(result) if "/decisions/0/item" in p] == [p for p in lines(result) if p.startswith(
            f"{path} doc={DOC} /decisions/0/item [bad-item-key] ") and why in p], (item, lines(result))
        assert any("/decisions/0/item" in p for p in lines(result)), (item, lines(result))
        cli = CliRunner().invoke(app, ["adjudicate", str(project / "annotations"), "--corpus", str(project / "corpus"),
                                       "--decisions", str(path)])
        assert cli.exit_code == 1 and isinstance(cli.exception, (SystemExit, type(None))), cli.output
        assert "/decisions/0/item [bad-item-key] " in cli.output, cli.output
    path = decisions(project, dict(ADDITIONS[0], action="create"))
    assert any("/decisions/0/action" in p for p in lines(build(project)))


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
    assert any("decision d9" in p and "offsets must be integers" in p for p in lines(result)), lines(result)


def test_an_edit_is_validated_before_gold_is_written(project):
    edit_layer(project, "annotator-2", disagree)
    entry = {"id": "d9", "item": GPE, "action": "edit", "value": {"end": 31}, "reason": "shorter span"}
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    result = build(project)  # the span text is taken from the corpus: 'Vervier', cut out of a word
    assert any("[span-inside-word]" in p and "check the edit decisions" in p for p in lines(result)), lines(result)
    entry["value"] = {"end": 31, "subword": True}  # a deliberate sub-word span says so
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    assert build(project).ok
    assert "Vervier" in {e["text"] for e in gold(project)["entities"]}
    entry["value"] = {"attributes": {"mention": "XYZ"}}
    decisions(project, *[d for d in FULL if d["item"] != GPE], entry)
    result = build(project)
    assert any("[bad-attribute]" in p and "check the edit decisions" in p for p in lines(result)), lines(result)


# -- item keys: one parser, one text form ----------------------------------------------------------

_mention_st = st.builds(lambda kind, t, s, n: itemkey.Mention(kind, t, s, s + n), st.sampled_from(["entity", "event"]),
                        st.from_regex(r"[A-Za-z][A-Za-z-]{0,8}", fullmatch=True), st.integers(0, 10**7), st.integers(1, 10**6))


@st.composite
def _item_keys(draw):
    kind = draw(st.sampled_from(itemkey.KINDS))
    m = draw(_mention_st)
    if kind in ("entity", "event"):
        return itemkey.ItemKey(m.kind, m)
    name = draw(st.from_regex(r"[a-z_]{1,12}|[A-Z][a-z]{0,8}", fullmatch=True))
    if kind == "attr":
        return itemkey.ItemKey("attr", m, name)
    other = draw(_mention_st)
    if kind == "arg":
        return itemkey.ItemKey("arg", replace(m, kind="event"), name, replace(other, kind="entity"))
    other = replace(other, kind=m.kind)
    assume(str(m) != str(other))
    first, second = sorted((m, other), key=str)  # a link's text form has its ends in order
    return itemkey.ItemKey("coref", first, other=second)


@given(_item_keys())
def test_an_item_key_reads_back_as_written(key):
    text = str(key)
    assert itemkey.parse_key(text) == key
    assert str(itemkey.parse_key(text)) == text


def test_every_key_of_the_committed_layers_reads_back_as_written():
    keys = []
    for path in sorted((ROOT / "annotations").glob("*/annotator-*.json")):
        layer = align.index_layer(fileio.read_json(path))
        keys += [*layer.entities, *layer.events, *layer.arguments, *layer.links("entity"), *layer.links("event")]
    assert len(keys) > 1000
    assert [str(itemkey.parse_key(k)) for k in keys] == keys


def test_validate_of_decisions_beside_a_layer_with_an_empty_span(project):
    """The decisions are compared with layers checked to L2 only: an empty span (L3) must not break the key parser."""
    edit_layer(project, "annotator-2", disagree)
    decisions(project, *FULL)

    def empty(record: dict) -> None:
        entity = next(e for e in record["entities"] if e["start"] > 0)
        entity["end"] = entity["start"]

    edit_layer(project, "annotator-1", empty)
    result = CliRunner().invoke(app, ["validate", str(project / "annotations"), "--corpus", str(project / "corpus")])
    assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None))), result.output
    assert "Traceback" not in result.output and "[bad-span]" in result.output, result.output
