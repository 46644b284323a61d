"""The scorer: hand-computed cases, gold against itself, and agree's figures for two annotators."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus import agree  # noqa: E402
from raidcorpus.score import mentions as score  # noqa: E402
from raidcorpus.dataset import build, export  # noqa: E402
from raidcorpus.cli import app  # noqa: E402
from raidcorpus.errors import UserError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "data" / "build"
runner = CliRunner()


def ent(i, t, a, b):
    return {"id": i, "type": t, "start": a, "end": b, "text": "x" * (b - a), "attributes": {}}


def ev(i, t, a, b, args, **attrs):
    return {"id": i, "type": t, "trigger": {"start": a, "end": b, "text": "x" * (b - a)},
            "arguments": [{"role": r, "entity": e, "type": et} for r, e, et in args], "attributes": attrs}


def rec(annotator, entities, events):
    return {"document": "d", "annotator": annotator, "entities": entities, "events": events,
            "entity_clusters": [], "event_clusters": []}


GOLD = rec("gold", [ent("T1", "PER", 0, 5), ent("T2", "GPE", 10, 15), ent("T3", "TIME", 20, 25)], [
    ev("E1", "Attack", 30, 36, [("Attacker", "T1", "PER"), ("Place", "T2", "GPE")], status="actual", polarity="positive"),
    ev("E2", "Die", 40, 44, [("Victim", "T1", "PER")], status="actual"),
])
PRED = rec("pred", [ent("A", "PER", 0, 5), ent("B", "LOC", 10, 15), ent("C", "ORG", 50, 55)], [
    ev("X", "Attack", 30, 36, [("Attacker", "A", "PER"), ("Place", "B", "LOC"), ("Time", "C", "ORG")], status="planned", polarity="positive"),
    ev("Y", "Injure", 40, 44, [("Victim", "A", "PER")], status="actual"),
])


def score_records(gold: dict, pred: dict) -> dict:
    """The report for two sides given as document -> annotation record."""
    items = lambda side: {d: score.record_items(d, r, score.Labels()) for d, r in side.items()}  # noqa: E731
    return score.score_docs(items(gold), items(pred))


def row(report, measure, label="all"):
    return next(r for r in report["scores"] if r["measure"] == measure and r["label"] == label)


def prf_of(r):
    return r["precision"], r["recall"], r["f1"]


def close(r, p, rc, f):
    return math.isclose(r["precision"], p) and math.isclose(r["recall"], rc) and math.isclose(r["f1"], f)


def test_hand_computed_case():
    report = score_records({"d": GOLD}, {"d": PRED})
    # triggers: both spans found; one of two types right
    assert close(row(report, "trigger_identification"), 1, 1, 1)
    assert close(row(report, "trigger_classification"), 0.5, 0.5, 0.5)
    die = row(report, "trigger_classification", "Die")
    assert (die["gold"], die["pred"], die["matched"], die["precision"], die["recall"], die["f1"]) == (1, 0, 0, None, 0.0, 0.0)
    # Arg-I, (event type, span): gold {Attack 0-5, Attack 10-15, Die 0-5}; predicted 4, of which the two Attack ones
    assert close(row(report, "argument_identification"), 0.5, 2 / 3, 4 / 7)
    # Arg-C adds the role, not the filler's entity type: Place (GPE given as LOC) counts
    assert close(row(report, "argument_classification"), 0.5, 2 / 3, 4 / 7)
    assert close(row(report, "argument_classification", "Place"), 1, 1, 1)
    assert row(report, "argument_classification", "Victim")["matched"] == 0  # hangs on a wrong event type
    # the triggers agree in span, so the attached variants equal the plain ones here
    assert prf_of(row(report, "argument_classification_attached")) == prf_of(row(report, "argument_classification"))
    # entities: spans 0-5 and 10-15 found, 20-25 missed, 50-55 spurious; typed, only PER is right
    assert close(row(report, "entity_identification"), 2 / 3, 2 / 3, 2 / 3)
    assert close(row(report, "entity_classification"), 1 / 3, 1 / 3, 1 / 3)
    attrs = {a["attribute"]: (a["correct"], a["total"]) for a in report["attributes"]}
    assert attrs == {"polarity": (1, 1), "status": (0, 1)}  # only the matched Attack counts


def test_filler_entity_types_leave_arg_c_unchanged():
    retyped = copy.deepcopy(GOLD)
    for e in retyped["entities"]:
        e["type"] = {"PER": "ORG", "GPE": "LOC", "TIME": "NUM"}[e["type"]]
    for v in retyped["events"]:
        for a in v["arguments"]:
            a["type"] = next(e["type"] for e in retyped["entities"] if e["id"] == a["entity"])
    report = score_records({"d": GOLD}, {"d": retyped})
    for m in ("argument_identification", "argument_classification", "argument_identification_attached", "argument_classification_attached"):
        assert prf_of(row(report, m)) == (1.0, 1.0, 1.0), m
    assert row(report, "entity_identification")["f1"] == 1.0 and row(report, "entity_classification")["f1"] == 0.0


def test_shifted_trigger_costs_only_the_attached_arguments():
    shifted = copy.deepcopy(GOLD)
    shifted["events"][0]["trigger"] = {"start": 31, "end": 36, "text": "x" * 5}
    report = score_records({"d": GOLD}, {"d": shifted})
    assert row(report, "argument_classification")["f1"] == 1.0  # OneIE / TextEE: no trigger condition
    assert close(row(report, "argument_classification_attached"), 1 / 3, 1 / 3, 1 / 3)  # Attack's two arguments lost
    assert close(row(report, "trigger_identification"), 0.5, 0.5, 0.5)


def test_nothing_predicted_and_nothing_to_find():
    report = score_records({"d": GOLD}, {})
    r = row(report, "trigger_classification")
    assert (r["precision"], r["recall"], r["f1"]) == (None, 0.0, 0.0)
    assert report["documents"]["only_gold"] == ["d"]
    empty = score_records({"d": rec("gold", [], [])}, {"d": rec("p", [], [])})
    assert row(empty, "trigger_classification")["f1"] is None  # n/a, never 1.0


def test_gold_against_itself_is_one():
    report = score.score(ROOT / "annotations", ROOT / "annotations", "gold", "gold", ROOT / "corpus")
    assert report["documents"]["scored"] == 3
    assert {r["measure"] for r in report["scores"]} == {m for m, _ in score.MEASURES}
    for r in report["scores"]:
        assert r["f1"] == 1.0, r
    assert report["attributes"] and all(a["accuracy"] == 1.0 for a in report["attributes"])
    assert report["unmapped"] == []


def test_annotators_reproduce_agree():
    """annotator-1 as gold, annotator-2 as predictions: Tri-C and entity typing are agree's figures,
    to the last digit (agree's argument key keeps the filler type and trigger, so Arg-C differs by design)."""
    report = score.score(ROOT / "annotations", ROOT / "annotations", "annotator-1", "annotator-2", ROOT / "corpus")
    agreed = agree.agree([ROOT / "annotations"], ROOT / "corpus", ["annotator-1", "annotator-2"])
    overall = {(r["measure"], r["label"]): r["value"] for r in agreed["overall"]}
    pairs = [("trigger_classification", "trigger"), ("entity_classification", "entity_exact")]
    for mine, theirs in pairs:
        assert row(report, mine)["f1"] == overall[(theirs, "all")], mine
        for r in report["scores"]:
            if r["measure"] == mine and r["label"] != "all" and overall.get((theirs, r["label"])) is not None:
                assert r["f1"] == overall[(theirs, r["label"])], (mine, r["label"])
    assert row(report, "argument_classification")["f1"] < 1.0  # the two layers do differ


def test_bootstrap_is_seeded_and_brackets_the_figure():
    a = score.score(ROOT / "annotations", ROOT / "annotations", "annotator-1", "annotator-2", ROOT / "corpus", n_boot=200, seed=7)
    b = score.score(ROOT / "annotations", ROOT / "annotations", "annotator-1", "annotator-2", ROOT / "corpus", n_boot=200, seed=7)
    c = score.score(ROOT / "annotations", ROOT / "annotations", "annotator-1", "annotator-2", ROOT / "corpus", n_boot=200, seed=8)
    r = row(a, "argument_classification")
    lo, hi = r["f1_ci95"]
    assert lo < hi and lo <= r["f1"] <= hi
    assert r["f1_ci95"] == row(b, "argument_classification")["f1_ci95"]
    assert [x.get("f1_ci95") for x in a["scores"]] != [x.get("f1_ci95") for x in c["scores"]]
    assert "95% CI" in score.render_table(a)


@pytest.fixture(scope="module")
def textee(tmp_path_factory):
    root = tmp_path_factory.mktemp("score") / "repo"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    result = build.build("0.1.0", root / "dist" / "raid-attack-events", root)
    out = root / "textee"
    export.export(result.out, "textee", out)
    return root, out


def lines_of(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def write_lines(path, lines):
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_textee_against_itself_and_against_records(textee):
    root, out = textee
    report = score.score(out, out)
    assert report["compared_in"] == "characters"
    assert all(r["f1"] == 1.0 for r in report["scores"])
    # our gold records against the TextEE export of the same gold: equal in what TextEE carries
    mixed = score.score(root / "annotations", out / "test.json", "gold", None, root / "corpus")
    assert mixed["compared_in"] == "characters" and mixed["documents"]["only_gold"] == ["gamma-post-2016-03-22"]
    assert all(r["precision"] == 1.0 for r in mixed["scores"] if r["label"] == "all")
    assert row(mixed, "trigger_classification")["recall"] < 1.0  # gamma's events are in the train file only


def test_textee_prediction_with_a_missed_event_placed_by_window_not_line(textee, tmp_path):
    _, out = textee
    lines = lines_of(out / "test.json")
    total = sum(len(x["event_mentions"]) for x in lines)
    dropped = next(x for x in lines if x["event_mentions"])
    dropped["event_mentions"].pop(0)
    for x in lines:
        del x[export.CHAR_OFFSET]  # a system's output need not say where sentences start
    lines.reverse()  # nor keep the gold's line order
    pred = write_lines(tmp_path / "pred.json", lines)  # TextEE names its files .json
    report = score.score(out / "test.json", pred)
    assert report["compared_in"] == "characters"  # the gold windows lend their sentence starts
    r = row(report, "trigger_classification")
    assert (r["gold"], r["pred"], r["matched"]) == (total, total - 1, total - 1)
    assert math.isclose(r["recall"], (total - 1) / total) and r["precision"] == 1.0


def test_textee_without_offsets_on_either_side_is_placed_in_tokens(textee, tmp_path):
    """The issue's case: wnd_ids that do not end in -N, no char_offset anywhere, lines shuffled."""
    _, out = textee
    gold_lines = lines_of(out / "test.json")
    for x in gold_lines:
        del x[export.CHAR_OFFSET]
        x["wnd_id"] = f"{x['doc_id']}_s{x['wnd_id'].rsplit('-', 1)[1]}"
    gold = write_lines(tmp_path / "gold.jsonl", gold_lines)
    pred = write_lines(tmp_path / "pred.jsonl", list(reversed(gold_lines)))
    report = score.score(gold, pred)
    assert report["compared_in"] == "tokens"
    assert all(r["f1"] == 1.0 for r in report["scores"]), [r for r in report["scores"] if r["f1"] != 1.0]


def test_a_window_gold_does_not_have_is_one_addressed_line(textee, tmp_path):
    _, out = textee
    lines = lines_of(out / "test.json")
    for x in lines:
        del x[export.CHAR_OFFSET]
        x["wnd_id"] = "w" + x["wnd_id"]
    pred = write_lines(tmp_path / "pred.jsonl", lines)
    res = runner.invoke(app, ["score", "--gold", str(out / "test.json"), "--pred", str(pred)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert f"{pred}:1 doc={lines[0]['doc_id']} /wnd_id [unaligned-prediction] window 'w{lines[0]['doc_id']}-0'" in res.stderr


def test_argument_only_predictions_and_mapped_labels(textee, tmp_path):
    _, out = textee
    lines = lines_of(out / "test.json")
    for x in lines:
        for v in x["event_mentions"]:
            if v["event_type"] == "Attack":
                v["event_type"] = "Conflict:Attack"  # an ACE name
        x["entity_mentions"] = []  # a system that predicts arguments only
    pred = write_lines(tmp_path / "pred.jsonl", lines)
    plain = score.score(out / "test.json", pred)
    attacks = row(plain, "trigger_classification", "Attack")["gold"]
    assert attacks and len(plain["unmapped"]) == attacks  # one line per item, not fatal
    assert {u["label"] for u in plain["unmapped"]} == {"Conflict:Attack"} and plain["unmapped"][0]["pointer"].endswith("/event_type")
    assert row(plain, "trigger_classification", "Attack")["matched"] == 0
    mapping = tmp_path / "map.yaml"
    mapping.write_text("Conflict:Attack: Attack\n")
    mapped = score.score(out / "test.json", pred, label_map=mapping)
    assert mapped["unmapped"] == []
    for m in ("trigger_classification", "argument_classification", "argument_classification_attached"):
        assert row(mapped, m)["f1"] == 1.0, m
    assert row(mapped, "entity_classification")["recall"] == 0.0 and row(mapped, "entity_classification")["pred"] == 0
    res = runner.invoke(app, ["score", "--gold", str(out / "test.json"), "--pred", str(pred)])
    assert res.exit_code == 0 and "unmapped event type 'Conflict:Attack'" in res.stdout


def test_cli_json_and_errors(tmp_path):
    res = runner.invoke(app, ["score", "--gold", str(ROOT / "annotations"), "--gold-layer", "gold",
                              "--pred", str(ROOT / "annotations"), "--pred-layer", "gold", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["scores"][0]["f1"] == 1.0
    res = runner.invoke(app, ["score", "--gold", str(ROOT / "annotations"), "--gold-layer", "gold", "--pred", str(ROOT / "annotations")])
    assert res.exit_code == 1
    assert "layers (annotator-1, annotator-2, gold): choose one with --pred-layer" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["score", "--gold", str(tmp_path / "nope"), "--pred", str(tmp_path)])
    assert res.exit_code == 1 and "no such file or folder (--gold)" in res.stderr
    res = runner.invoke(app, ["score", "--metric", "nope", "--gold", str(tmp_path), "--pred", str(tmp_path)])
    assert res.exit_code == 2 and "use mentions, ree, templates" in res.stderr
    with pytest.raises(UserError, match="no annotation records of layer 'annotator-9'"):
        score.score(ROOT / "annotations", ROOT / "annotations", "annotator-9", "gold")


OK_LINE = b'{"doc_id": "d", "wnd_id": "d-0", "text": "a", "tokens": ["a"]}\n'
BAD_INPUTS = [
    # (file name, bytes, what the one line must say)
    ("latin1.jsonl", b'{"doc_id": "d", "wnd_id": "d-0", "text": "caf\xe9", "tokens": []}\n' + OK_LINE, ":1 doc=- / [not-utf8] invalid UTF-8"),
    ("latin1-record.json", b'{"kind": "annotation", "document": "caf\xe9"}\n', ":1 doc=- / [not-utf8] invalid UTF-8"),
    ("latin1-pretty.json", b'{\n  "kind": "annotation",\n  "document": "caf\xe9"\n}\n', ":3 doc=- / [not-utf8] invalid UTF-8 at byte 44"),
    ("broken.jsonl", b'{"doc_id": "d", "wnd_id": "d-0", "text": "a", "tokens": ["a"]}\n{"doc_id": \n', ":2 doc=- / [invalid-json]"),
    ("types.jsonl", b'{"doc_id": "d", "wnd_id": "d-0", "text": "a", "tokens": "a"}\n' + OK_LINE, ":1 doc=d /tokens [wrong-type] tokens must be a list"),
    ("span.jsonl", b'{"doc_id": "d", "wnd_id": "d-0", "text": "a", "tokens": ["a"], "event_mentions": [{"event_type": "Attack", "trigger": {"start": "0", "end": 1}}]}\n' + OK_LINE,
     ":1 doc=d /event_mentions/0/trigger/start [wrong-type] start must be an integer"),
    ("missing.jsonl", b'{"doc_id": "d", "text": "a", "tokens": ["a"]}\n' + OK_LINE, ":1 doc=d /wnd_id [missing-field]"),
]


@pytest.mark.parametrize("name,data,expected", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_textee_input_is_one_addressed_line(tmp_path, name, data, expected):
    bad = tmp_path / name
    bad.write_bytes(data)
    gold = write_lines(tmp_path / "gold.jsonl", [{"doc_id": "d", "wnd_id": "d-0", "text": "a", "tokens": ["a"]}])
    res = runner.invoke(app, ["score", "--gold", str(gold), "--pred", str(bad)])
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith(f"error: {bad}{expected}") or line.startswith(f"{bad}{expected}"), line


def test_a_label_that_is_not_a_string_is_one_line(tmp_path):
    gold = write_lines(tmp_path / "gold.jsonl", [{"doc_id": "d", "wnd_id": "d-0", "text": "a b", "tokens": ["a", "b"],
                                                  "event_mentions": [{"trigger": {"start": 0, "end": 1}}]}])
    with pytest.raises(UserError, match=r"gold.jsonl:1 doc=d /event_mentions/0/event_type \[missing-field\] an item needs its event type"):
        score.score(gold, gold)


def test_a_bad_map_file_is_one_line(tmp_path):
    mapping = tmp_path / "map.json"
    mapping.write_text('{"Conflict:Attack": ["Attack"]}')
    res = runner.invoke(app, ["score", "--gold", str(ROOT / "annotations"), "--gold-layer", "gold", "--pred", str(ROOT / "annotations"),
                              "--pred-layer", "gold", "--map", str(mapping)])
    assert res.exit_code == 1 and f"{mapping} doc=- /Conflict:Attack [wrong-type] a mapped label must be a string" in res.stderr


def test_oneie_field_names(textee, tmp_path):
    """OneIE names the window sent_id and its text sentence; the lines score the same."""
    _, out = textee
    lines = lines_of(out / "test.json")
    for x in lines:
        x["sent_id"], x["sentence"] = x.pop("wnd_id"), x.pop("text")
    oneie = write_lines(tmp_path / "oneie.jsonl", lines)
    report = score.score(out / "test.json", oneie)
    assert report["compared_in"] == "characters" and all(r["f1"] == 1.0 for r in report["scores"])


def test_textees_own_layout_of_json_files(textee, tmp_path):
    """TextEE's folders hold train.json, dev.json and test.json, each JSON Lines."""
    _, out = textee
    folder = tmp_path / "textee-layout"
    folder.mkdir()
    for split in ("train", "test"):  # a folder of its own, without the export's empty dev.json
        (folder / f"{split}.json").write_bytes((out / f"{split}.json").read_bytes())
    report = score.score(out, folder)
    assert report["documents"]["scored"] == 3 and all(r["f1"] == 1.0 for r in report["scores"])
