"""The MUC-4 template score: key blocks against themselves and against changed copies, by hand."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus.cli import app
from raidcorpus.errors import UserError
from raidcorpus.score import templates

ROOT = Path(__file__).resolve().parents[1]
KEY = ROOT / "sources" / "muc34" / "TASK" / "CORPORA" / "tst3" / "key-tst3.v2"
runner = CliRunner()
STRING_SLOTS = {"6": "instrument_id", "9": "perp_individual_id", "10": "perp_organization_id",
                "12": "phys_tgt_id", "18": "hum_tgt_name", "19": "hum_tgt_description"}


def parse_keys(text: str, limit: int) -> list[dict]:
    """A minimal reading of key blocks (the project's key parser is elsewhere): id, type, stage and
    the string slots, each line a filler whose alternatives are separated by ' / '."""
    rows: dict[str, dict] = {}
    for block in text.split("\n\n"):
        slots, last = {}, None
        for line in block.splitlines():
            m = re.match(r"(\d+)\.\s+[A-Z :]+?\s{2,}(.*)$", line)
            num, value = (m.group(1), m.group(2)) if m else (last, line.strip())
            last = num
            slots.setdefault(num, []).append(value.strip())
        if "0" not in slots:
            continue
        doc, itype = slots["0"][0], slots.get("4", ["*"])[0]
        row = rows.setdefault(doc, {"message_id": doc, "templates": []})
        if itype in ("*", "-"):
            continue  # an irrelevant message: no template
        t = {"incident_type": itype.lstrip("? "), "stage": slots["5"][0], "slots": {}, "optional": slots["1"][0].startswith("(")}
        for num, name in STRING_SLOTS.items():
            fillers = [[a.strip().strip('"') for a in v.split(":")[-1].split(" / ")] for v in slots.get(num, []) if v not in ("-", "*")]
            t["slots"][name] = fillers
        row["templates"].append(t)
        if len(rows) > limit:
            break
    return list(rows.values())[:limit]


@pytest.fixture(scope="module")
def keys():
    return parse_keys(KEY.read_text(encoding="ascii"), 12)


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def by_slot(report):
    return {r["slot"]: r for r in report["scores"]}


def test_keys_against_themselves(keys, tmp_path):
    assert sum(len(r["templates"]) for r in keys) >= 10
    p = write(tmp_path / "k.jsonl", keys)
    report = templates.score(p, p)
    for r in report["scores"]:
        assert r["f1"] == 1.0 or (r["gold"] == 0 and r["f1"] is None), r


def test_changed_copy_by_hand(keys, tmp_path):
    gold = [r for r in keys if r["message_id"] == "TST3-MUC4-0002"]
    (key,) = gold[0]["templates"]
    resp = json.loads(json.dumps(key))
    resp["incident_type"] = "BOMBING"  # wrong type for ATTACK: incorrect, and then the pair may not be mapped
    report = templates.score_templates(*[templates.read_side(write(tmp_path / n, r), n, set()) for n, r in
                                         (("g", gold), ("p", [{"message_id": "TST3-MUC4-0002", "templates": [resp]}]))])
    rows = by_slot(report)
    assert rows["template"]["matched"] == 0  # no incident-type match: unmapped, key missing and response spurious
    assert rows["incident_type"]["mis"] == 1 and rows["incident_type"]["spu"] == 1
    resp["incident_type"] = "ATTACK"
    resp["stage"] = "ATTEMPTED"
    resp["slots"]["perp_individual_id"] = [["some military"], ["police"]]  # one alternative of the key, one spurious
    resp["slots"]["hum_tgt_description"] = [["jesuits"]]  # MAIDS missed
    pred = write(tmp_path / "p2", [{"message_id": "TST3-MUC4-0002", "templates": [resp]}])
    rows = by_slot(templates.score(write(tmp_path / "g2", gold), pred))
    assert rows["template"]["matched"] == 1
    assert (rows["stage"]["inc"], rows["stage"]["cor"]) == (1, 0)
    assert (rows["perp_individual_id"]["cor"], rows["perp_individual_id"]["spu"]) == (1, 1)
    assert (rows["hum_tgt_description"]["cor"], rows["hum_tgt_description"]["mis"]) == (1, 1)
    a = rows["all"]
    # type 1, org 1, perp 1, description 1 correct; stage wrong; one spurious, one missing
    assert (a["cor"], a["inc"], a["mis"], a["spu"]) == (4, 1, 1, 1)
    assert math.isclose(a["recall"], 4 / 6) and math.isclose(a["precision"], 4 / 6)


def test_attack_is_partly_right_for_another_type(tmp_path):
    key = {"incident_type": "BOMBING", "stage": "ACCOMPLISHED", "slots": {"phys_tgt_id": ["embassy"]}, "date": "12 JAN 90"}
    resp = {"incident_type": "ATTACK", "stage": "ACCOMPLISHED", "slots": {"phys_tgt_id": ["the embassy"]}}
    g = write(tmp_path / "g.jsonl", [{"message_id": "m", "templates": [key]}])
    p = write(tmp_path / "p.jsonl", [{"message_id": "m", "templates": [resp]}])
    report = templates.score(g, p)
    rows = by_slot(report)
    assert report["fields_not_scored"] == ["date"] and "template fields not scored: date" in templates.render_table(report)
    assert rows["incident_type"]["par"] == 1 and rows["incident_type"]["recall"] == 0.5
    assert rows["phys_tgt_id"]["cor"] == 1  # normalised as REE mentions are
    assert math.isclose(rows["all"]["f1"], 2.5 / 3)


def test_optimal_one_to_one_mapping_and_optional_keys(tmp_path):
    k1 = {"incident_type": "KIDNAPPING", "stage": "ACCOMPLISHED", "slots": {"hum_tgt_name": ["a"]}}
    k2 = {"incident_type": "KIDNAPPING", "stage": "ACCOMPLISHED", "slots": {"hum_tgt_name": ["b"]}}
    k3 = {"incident_type": "ARSON", "stage": "ACCOMPLISHED", "slots": {}, "optional": True}
    r1 = {"incident_type": "KIDNAPPING", "stage": "ACCOMPLISHED", "slots": {"hum_tgt_name": ["b"]}}
    r2 = {"incident_type": "KIDNAPPING", "stage": "ACCOMPLISHED", "slots": {"hum_tgt_name": ["a"]}}
    g = write(tmp_path / "g.jsonl", [{"message_id": "m", "templates": [k1, k2, k3]}])
    p = write(tmp_path / "p.jsonl", [{"message_id": "m", "templates": [r1, r2]}])
    rows = by_slot(templates.score(g, p))
    assert rows["template"]["matched"] == 2 and rows["template"]["gold"] == 2  # the unmatched optional key costs nothing
    assert rows["all"]["f1"] == 1.0


def test_bad_rows(tmp_path):
    g = write(tmp_path / "g.jsonl", [{"message_id": "m", "templates": [{"incident_type": 3}]}])
    with pytest.raises(UserError, match=r"g.jsonl:1 doc=m /templates/0/incident_type \[wrong-type\]"):
        templates.score(g, g)
    res = runner.invoke(app, ["score", "--metric", "templates", "--gold", str(g), "--pred", str(g)])
    assert res.exit_code == 1 and "[wrong-type]" in res.stderr and "Traceback" not in res.output


def test_mention_options_are_refused_for_other_metrics(tmp_path):
    g = write(tmp_path / "g.jsonl", [{"message_id": "m", "templates": []}])
    res = runner.invoke(app, ["score", "--metric", "templates", "--gold", str(g), "--pred", str(g), "--bootstrap", "10"])
    assert res.exit_code == 2 and "--bootstrap: not an option of --metric templates" in res.stderr


def test_fill_lines_as_the_config_renders_them():
    assert templates._fill_line('"MILITARY" / "SOME MILITARY"') == ['"MILITARY"', '"SOME MILITARY"']
    assert templates._fill_line('"FORMER DEFENSE MINISTER": "ENRIQUE LOPEZ ALBUJAR TRINT"') == ['"FORMER DEFENSE MINISTER"']
    assert templates._fill_line('CIVILIAN: "JESUIT PRIESTS"') == ["CIVILIAN"]
    assert templates._fill_line('? PERU: LIMA (CITY)') == ["PERU: LIMA (CITY)"]


def test_the_templates_configs_rows(tmp_path):
    """The dataset's templates config (one row per template, made by its own row maker from the TST3 keys)."""
    import hashlib

    from raidcorpus import muckeys
    from raidcorpus.dataset import muc_rows

    corpora = ROOT / "sources" / "muc34" / "TASK" / "CORPORA" / "tst3"
    keys = muckeys.by_message(KEY.read_text(encoding="ascii"))
    rows = []
    for message, text in muckeys.split_messages((corpora / "tst3-muc4").read_text(encoding="ascii"))[:40]:
        record = muckeys.key_record(message, keys.get(message, []), text, hashlib.sha256(text.encode()).hexdigest(), KEY.name, "0")
        rows += muc_rows.template_rows(record)
    gold = write(tmp_path / "templates.jsonl", rows)
    report = templates.score(gold, gold)
    assert report["fields_not_scored"] == [] and by_slot(report)["template"]["gold"] > 20
    assert all(r["f1"] == 1.0 for r in report["scores"] if r["gold"]), [r for r in report["scores"] if r["f1"] != 1.0]
    dropped = rows[1:]  # one template fewer: its fills missed, nothing spurious
    rows_ = by_slot(templates.score(gold, write(tmp_path / "fewer.jsonl", dropped)))
    assert rows_["all"]["precision"] == 1.0 and rows_["all"]["recall"] < 1.0 and rows_["all"]["spu"] == 0
