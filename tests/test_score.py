"""The scorer: hand-computed cases, gold against itself, and agree's figures for two annotators."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus import agree, score  # noqa: E402
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


def row(report, measure, label="all"):
    return next(r for r in report["scores"] if r["measure"] == measure and r["label"] == label)


def test_hand_computed_case():
    report = score.score_records({"d": GOLD}, {"d": PRED})
    close = lambda r, p, rc, f: (  # noqa: E731
        math.isclose(r["precision"], p) and math.isclose(r["recall"], rc) and math.isclose(r["f1"], f))
    # triggers: both spans found; one of two types right
    assert close(row(report, "trigger_identification"), 1, 1, 1)
    assert close(row(report, "trigger_classification"), 0.5, 0.5, 0.5)
    die = row(report, "trigger_classification", "Die")
    assert (die["gold"], die["pred"], die["matched"], die["precision"], die["recall"], die["f1"]) == (1, 0, 0, None, 0.0, 0.0)
    # arguments: gold 3; predicted 4; identified 2 (Attacker, Place span) -> P 2/4, R 2/3, F1 4/7
    assert close(row(report, "argument_identification"), 0.5, 2 / 3, 4 / 7)
    # classified: only Attacker (Place's filler type is wrong, Victim hangs on a wrong event type) -> P 1/4, R 1/3, F1 2/7
    assert close(row(report, "argument_classification"), 0.25, 1 / 3, 2 / 7)
    assert close(row(report, "argument_classification", "Attacker"), 1, 1, 1)
    # entities: PER right, GPE given as LOC, TIME missed, ORG spurious -> 1/3 each
    assert close(row(report, "entity"), 1 / 3, 1 / 3, 1 / 3)
    attrs = {a["attribute"]: (a["correct"], a["total"]) for a in report["attributes"]}
    assert attrs == {"polarity": (1, 1), "status": (0, 1)}  # only the matched Attack counts


def test_nothing_predicted_and_nothing_to_find():
    report = score.score_records({"d": GOLD}, {})
    r = row(report, "trigger_classification")
    assert (r["precision"], r["recall"], r["f1"]) == (None, 0.0, 0.0)
    assert report["documents"]["only_gold"] == ["d"]
    empty = score.score_records({"d": rec("gold", [], [])}, {"d": rec("p", [], [])})
    assert row(empty, "trigger_classification")["f1"] is None  # n/a, never 1.0


def test_gold_against_itself_is_one():
    report = score.score(ROOT / "annotations", ROOT / "annotations", "gold", "gold", ROOT / "corpus")
    assert report["documents"]["scored"] == 3
    for r in report["scores"]:
        assert r["f1"] == 1.0, r
    assert report["attributes"] and all(a["accuracy"] == 1.0 for a in report["attributes"])


def test_annotators_reproduce_agree():
    """annotator-1 as gold, annotator-2 as predictions: the F1 figures are agree's, to the last digit."""
    report = score.score(ROOT / "annotations", ROOT / "annotations", "annotator-1", "annotator-2", ROOT / "corpus")
    agreed = agree.agree([ROOT / "annotations"], ROOT / "corpus", ["annotator-1", "annotator-2"])
    overall = {(r["measure"], r["label"]): r["value"] for r in agreed["overall"]}
    pairs = [("trigger_classification", "trigger"), ("argument_classification", "argument"), ("entity", "entity_exact")]
    for mine, theirs in pairs:
        assert row(report, mine)["f1"] == overall[(theirs, "all")], mine
        for r in report["scores"]:
            if r["measure"] == mine and r["label"] != "all" and overall.get((theirs, r["label"])) is not None:
                assert r["f1"] == overall[(theirs, r["label"])], (mine, r["label"])
    assert row(report, "argument_classification")["f1"] < 1.0  # the two layers do differ


@pytest.fixture(scope="module")
def textee(tmp_path_factory):
    root = tmp_path_factory.mktemp("score") / "repo"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    result = build.build("0.1.0", root / "dist" / "raid-attack-events", root)
    out = root / "textee"
    export.export(result.out, "textee", out)
    return root, out


def test_textee_against_itself_and_against_records(textee):
    root, out = textee
    report = score.score(out, out)
    assert report["compared_as"] == "textee"
    assert all(r["f1"] == 1.0 for r in report["scores"])
    # our gold records against the TextEE export of the same gold: equal in what TextEE carries
    mixed = score.score(root / "annotations", out / "test.json", "gold", None, root / "corpus")
    assert mixed["compared_as"] == "textee" and mixed["documents"]["only_gold"] == ["gamma-post-2016-03-22"]
    assert all(r["precision"] == 1.0 for r in mixed["scores"] if r["label"] == "all")
    assert row(mixed, "trigger_classification")["recall"] < 1.0  # gamma's events are in the train file only


def test_textee_prediction_with_a_missed_event(textee, tmp_path):
    _, out = textee
    lines = [json.loads(x) for x in (out / "test.json").read_text().splitlines()]
    total = sum(len(x["event_mentions"]) for x in lines)
    dropped = next(x for x in lines if x["event_mentions"])
    dropped["event_mentions"].pop(0)
    for x in lines:
        del x[export.CHAR_OFFSET]  # a system's output need not say where sentences start
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps(x) + "\n" for x in lines))
    report = score.score(out / "test.json", pred)
    r = row(report, "trigger_classification")
    assert (r["gold"], r["pred"], r["matched"]) == (total, total - 1, total - 1)
    assert math.isclose(r["recall"], (total - 1) / total) and r["precision"] == 1.0


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
    with pytest.raises(UserError, match="no annotation records of layer 'annotator-9'"):
        score.score(ROOT / "annotations", ROOT / "annotations", "annotator-9", "gold")
