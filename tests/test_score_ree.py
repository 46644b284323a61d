"""The MUC-4 REE scorer: GRIT's published figures reproduced, and the cases around them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus.cli import app
from raidcorpus.errors import UserError
from raidcorpus.score import ree

ROOT = Path(__file__).resolve().parents[1]
GRIT = ROOT / "sources" / "grit"
runner = CliRunner()

# Du, Rush and Cardie (EACL 2021), test set: per-role F1 and micro P / R / F1
PUBLISHED_F1 = {"PerpInd": 49.55, "PerpOrg": 51.85, "Target": 48.98, "Victim": 67.84, "Weapon": 59.13}
PUBLISHED_MICRO = (64.19, 47.36, 54.50)


def by_role(report):
    return {r["role"]: r for r in report["scores"]}


def test_grit_published_figures_to_two_decimals():
    report = ree.score(GRIT / "test.json", GRIT / "preds_s_t.out")
    rows = by_role(report)
    for role, f1 in PUBLISHED_F1.items():
        assert round(100 * rows[role]["f1"], 2) == f1, role
    micro = rows[ree.MICRO]
    assert tuple(round(100 * micro[k], 2) for k in ("precision", "recall", "f1")) == PUBLISHED_MICRO
    assert report["documents"] == {"gold": 200, "pred": 200, "only_gold": []}


def test_cli_prints_the_figures():
    res = runner.invoke(app, ["score", "--metric", "ree", "--gold", str(GRIT / "test.json"), "--pred", str(GRIT / "preds_s_t.out")])
    assert res.exit_code == 0, res.output
    assert "micro     64.19  47.36  54.50  511/377/242" in res.stdout
    res = runner.invoke(app, ["score", "--metric", "ree", "--gold", str(GRIT / "test.json"), "--pred", str(GRIT / "preds_s_t.out"), "--format", "json"])
    assert round(100 * by_role(json.loads(res.stdout))["Victim"]["f1"], 2) == 67.84


def test_gold_against_itself_and_our_rows(tmp_path):
    """GRIT's gold as our REE rows (message_id, text, roles of {text, start, end} mentions), both ways."""
    rows = []
    for line in (GRIT / "test.json").read_text().splitlines():
        g = json.loads(line)
        row = {"message_id": g["docid"], "text": g["doctext"]}
        for role, ents in g["extracts"].items():
            row[role] = [[{"text": m, "start": o, "end": o + len(m)} for m, o in ent] for ent in ents]
        rows.append(row)
    ours = tmp_path / "ree.jsonl"
    ours.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for gold, pred in ((GRIT / "test.json", ours), (ours, GRIT / "test.json"), (ours, ours)):
        report = ree.score(gold, pred)
        assert all(r["f1"] == 1.0 for r in report["scores"]), (gold, pred)
    assert by_role(ree.score(ours, GRIT / "preds_s_t.out"))[ree.MICRO]["matched"] == 242


def test_phi_strict_and_the_optimal_assignment():
    gold = [["shining path", "sendero luminoso"], ["fmln"]]
    # each prediction fits one gold entity: the optimal assignment matches both
    assert ree.matched_entities(gold, [["fmln"], ["shining path"]]) == 2
    assert ree.matched_entities(gold, [["shining path", "fmln"]]) == 0  # a mention outside the gold entity
    assert ree.matched_entities(gold, [["sendero luminoso"], ["shining path"]]) == 1  # one to one
    assert ree.matched_entities([], [["x"]]) == 0 and ree.matched_entities(gold, []) == 0


def test_normalisation_is_grits():
    assert ree.normalize("The  F.M.L.N.'s  urban commandos") == "fmlns urban commandos"
    assert ree.normalize("an attack on THE embassy") == "attack on embassy"
    assert ree.normalize("theater") == "theater"  # articles only as words


def test_counts_by_hand(tmp_path):
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps({"docid": "TST3-MUC4-0001", "extracts": {"PerpInd": [[["the guerrillas", 1]], [["two men", 9]]], "Victim": [[["x", 3]]]}}) + "\n"
                    + json.dumps({"docid": "TST4-MUC4-0002", "extracts": {"Weapon": [[["bomb", 2]]]}}) + "\n")
    pred = tmp_path / "p.out"
    pred.write_text(json.dumps({"30001": {"pred_extracts": {"PerpInd": [["guerrillas"], ["police"], []], "Victim": []}},
                                "40002": {"pred_extracts": {"Weapon": []}}}))
    report = ree.score(gold, pred)
    rows = by_role(report)
    assert (rows["PerpInd"]["gold"], rows["PerpInd"]["pred"], rows["PerpInd"]["matched"]) == (2, 2, 1)
    assert report["empty_entities_dropped"] == {"gold": 0, "pred": 1}  # said, and not counted
    assert "entities without mentions, not counted: gold 0, predicted 1" in ree.render_table(report)
    assert rows["Weapon"]["recall"] == 0.0 and rows["Weapon"]["precision"] is None  # 40002 is TST4-MUC4-0002: its bomb missed
    micro = rows[ree.MICRO]
    assert (micro["gold"], micro["pred"], micro["matched"]) == (4, 2, 1) and math.isclose(micro["f1"], 2 / 6)


@pytest.mark.parametrize("pred,expected", [
    ({"30099": {"pred_extracts": {}}}, "doc=30099 / [unaligned-prediction]"),
    ({"30001": {"pred_extracts": {"Victim": "x"}}}, "doc=30001 /30001/pred_extracts/Victim [wrong-type] Victim must be a list of entities"),
    ({"30001": {"pred_extracts": {"Victim": [[3]]}}}, "doc=30001 /30001/pred_extracts/Victim/0/0 [wrong-type] a mention must be"),
    ({"30001": {"gold_extracts": {}}}, "doc=30001 /30001/pred_extracts [wrong-type] pred_extracts must be an object"),
    ({"30001": {"pred_extracts": {"Perpetrator": []}}}, "doc=30001 /30001/pred_extracts/Perpetrator [unknown-field] not a role"),
])
def test_bad_predictions_are_one_addressed_line(tmp_path, pred, expected):
    gold = tmp_path / "g.jsonl"
    gold.write_text(json.dumps({"docid": "TST3-MUC4-0001", "extracts": {}}) + "\n")
    p = tmp_path / "p.out"
    p.write_text(json.dumps(pred))
    with pytest.raises(UserError) as caught:
        ree.score(gold, p)
    assert caught.value.message.startswith(f"{p} {expected}"), caught.value.message
    res = runner.invoke(app, ["score", "--metric", "ree", "--gold", str(gold), "--pred", str(p)])
    assert res.exit_code == 1 and "Traceback" not in res.output and expected in res.stderr


def test_non_utf8_and_broken_lines(tmp_path):
    gold = tmp_path / "g.json"
    gold.write_bytes(json.dumps({"docid": "TST3-MUC4-0001", "extracts": {}}).encode() + b"\n{\"docid\": \"caf\xe9\"}\n")
    res = runner.invoke(app, ["score", "--metric", "ree", "--gold", str(gold), "--pred", str(gold)])
    assert res.exit_code == 1 and f"{gold}:2 doc=- / [not-utf8]" in res.stderr and "Traceback" not in res.output
    gold.write_text(json.dumps({"docid": "TST3-MUC4-0001", "extracts": {}}) + "\n{\"docid\": \n")
    res = runner.invoke(app, ["score", "--metric", "ree", "--gold", str(gold), "--pred", str(gold)])
    assert res.exit_code == 1 and f"{gold}:2 doc=- / [invalid-json]" in res.stderr


def test_a_built_folders_ree_split(tmp_path):
    """The dataset's REE rows in Parquet, as a built folder holds them (ree/test-00000-of-00001.parquet)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for line in (GRIT / "test.json").read_text().splitlines():
        g = json.loads(line)
        row = {"message_id": g["docid"], "text": g["doctext"]}
        for role in ree.ROLES:
            row[role] = [[{"text": m, "start": o, "end": o + len(m)} for m, o in ent] for ent in g["extracts"][role]]
        rows.append(row)
    (tmp_path / "ree").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "ree" / "test-00000-of-00001.parquet")
    micro = by_role(ree.score(tmp_path, GRIT / "preds_s_t.out"))[ree.MICRO]
    assert tuple(round(100 * micro[k], 2) for k in ("precision", "recall", "f1")) == PUBLISHED_MICRO
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(UserError, match=r"bad.parquet doc=- / \[unreadable-file\] not a readable Parquet file"):
        ree.score(tmp_path / "bad.parquet", GRIT / "preds_s_t.out")


def test_an_empty_file_is_said(tmp_path):
    empty = tmp_path / "g.jsonl"
    empty.write_text("\n")
    res = runner.invoke(app, ["score", "--metric", "ree", "--gold", str(empty), "--pred", str(GRIT / "preds_s_t.out")])
    assert res.exit_code == 1 and f"{empty} doc=- / [empty-file]" in res.stderr


def test_bootstrap_intervals_bracket_the_published_figure():
    a = ree.score(GRIT / "test.json", GRIT / "preds_s_t.out", n_boot=300, seed=1)
    b = ree.score(GRIT / "test.json", GRIT / "preds_s_t.out", n_boot=300, seed=1)
    micro = by_role(a)[ree.MICRO]
    lo, hi = micro["f1_ci95"]
    assert lo < micro["f1"] < hi and 0.40 < lo and hi < 0.65  # 200 messages: a few points either side
    assert micro["f1_ci95"] == by_role(b)[ree.MICRO]["f1_ci95"]
    assert round(100 * micro["f1"], 2) == 54.50  # the point figure is untouched
    assert "95% CI" in ree.render_table(a)


def config_rows(tmp_path) -> Path:
    """The ree config's rows of the 200 test messages, made from the MUC keys by the dataset's own row maker."""
    import hashlib

    from raidcorpus import muckeys
    from raidcorpus.dataset import muc_rows

    corpora = ROOT / "sources" / "muc34" / "TASK" / "CORPORA"
    rows = []
    for part in ("tst3", "tst4"):
        key = next((corpora / part).glob("key-*"))
        keys = muckeys.by_message(key.read_text(encoding="ascii"))
        for message, text in muckeys.split_messages((corpora / part / f"{part}-muc4").read_text(encoding="ascii")):
            record = muckeys.key_record(message, keys.get(message, []), text, hashlib.sha256(text.encode()).hexdigest(), key.name, "0")
            rows.append(muc_rows.ree_row(record, text))
    out = tmp_path / "ree-test.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return out


def test_the_ree_configs_rows(tmp_path):
    """Our ree view (entities as {name, strings, mentions}, keyed by message) scores as gold and as predictions."""
    ours = config_rows(tmp_path)
    assert all(r["f1"] == 1.0 for r in ree.score(ours, ours)["scores"])
    # GRIT's gold as predictions: every GRIT entity lies within one of ours (precision 1), ours has more (descriptions)
    micro = by_role(ree.score(ours, GRIT / "test.json"))[ree.MICRO]
    assert micro["precision"] == 1.0 and micro["recall"] < 1.0
    grit = by_role(ree.score(ours, GRIT / "preds_s_t.out"))[ree.MICRO]
    assert (round(100 * grit["precision"], 2), round(100 * grit["recall"], 2), round(100 * grit["f1"], 2)) == (65.52, 33.33, 44.19)
