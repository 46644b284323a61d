"""The MUC-3/4 keys: every key block read and written back, fillers located, records validated, REE rows.

Runs on the real key files in sources/muc34 (no fixture stands in for them)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from raidcorpus import muckeys as mk
from raidcorpus.text import sha256_text

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "sources" / "muc34"
CORPORA = SOURCES / "TASK" / "CORPORA"


def _text_files():
    return [p for p in sorted(CORPORA.glob("*/*")) if not p.name.startswith(("key-", "README", "text-headers"))
            and not p.name.endswith("mixed-case")]


@pytest.fixture(scope="module")
def blocks():
    return [(path, b) for path in mk.key_files(SOURCES) for b in mk.read_blocks(path.read_text(encoding="ascii"))]


@pytest.fixture(scope="module")
def texts():
    return {m: t for p in _text_files() for m, t in mk.split_messages(p.read_text(encoding="ascii"))}


def test_every_block_read_with_the_published_counts(blocks):
    templates = [mk.template_of(b) for _, b in blocks]
    by_message = {}
    for t in templates:
        by_message.setdefault(mk.message_of(t), []).append(t)
    relevant = [m for m, ts in by_message.items() if any(t["template"] is not None for t in ts)]
    assert len(blocks) == 2275
    assert sum(t["template"] is not None for t in templates) == 1514
    assert sum(t["optional"] for t in templates) == 231
    assert (len(relevant), len(by_message) - len(relevant)) == (942, 758)


def test_round_trip_of_all_2275_blocks(blocks):
    """Written back from the records' structure, every block is the key's block, whitespace aside."""
    for path, b in blocks:
        t = mk.template_of(b)
        written = mk.render_block(json.loads(json.dumps(t)))  # through JSON, as the records are stored
        assert mk.same_modulo_whitespace(written, "\n".join(b.raw)), (path, b.raw[0], written)


def test_malformed_lines_are_few_and_kept_verbatim(blocks):
    bad = [(mk.message_of(t), slot, line) for _, b in blocks for t in [mk.template_of(b)] for slot, line in mk.malformed(t)]
    assert len(bad) == 9
    assert ("DEV-MUC3-1173", "HUM TGT: EFFECT OF INCIDENT", 'INJURY: "16 OTHERS / "OTHERS"') in bad
    for _, slot, line in bad:
        assert any(line in raw for _, b in blocks for raw in b.raw)


def test_the_notations_are_read():
    line = '? "THE GOVERNMENT" / "GOVERNMENT"'
    assert mk.read_fill("PERP: ORGANIZATION ID", line) == {
        "optional": True, "refs": [],
        "values": [{"string": "THE GOVERNMENT", "mentions": [], "ambiguous": False},
                   {"string": "GOVERNMENT", "mentions": [], "ambiguous": False}]}
    assert mk.read_fill("PERP: ORGANIZATION CONFIDENCE", 'SUSPECTED OR ACCUSED / REPORTED AS FACT: "ELN"') == {
        "optional": False, "values": ["SUSPECTED OR ACCUSED", "REPORTED AS FACT"], "refs": ["ELN"]}
    assert mk.read_fill("INCIDENT: DATE", "(- 29 MAR 89) / (28 MAR 89 - 29 MAR 89)")["values"] == [
        {"parenthesized": True, "from": None, "to": "29 MAR 89", "iso": "../1989-03-29"},
        {"parenthesized": True, "from": "28 MAR 89", "to": "29 MAR 89", "iso": "1989-03-28/1989-03-29"}]
    assert mk.read_fill("INCIDENT: LOCATION", "EL SALVADOR: SAN SALVADOR (CITY)")["values"] == [
        [{"name": "EL SALVADOR"}, {"name": "SAN SALVADOR", "type": "CITY"}]]
    assert mk.read_fill("PERP: INDIVIDUAL ID", '"\\"9 MAY\\" FPL"')["values"][0]["string"] == '"9 MAY" FPL'
    assert mk.read_fill("HUM TGT: NUMBER", '10: "UNION MEMBERS"') == {"optional": False, "values": ["10"], "refs": ["UNION MEMBERS"]}
    assert mk.read_fill("PERP: INDIVIDUAL ID", "GUERRILLAS") == {"verbatim": "GUERRILLAS"}


def test_locate_counts_line_breaks_as_spaces_and_whole_words_only():
    text = "THE ARMED\nMEN  FLED; ARMED MENACE. armed men"
    assert [(m["start"], m["end"]) for m in mk.locate("ARMED MEN", text)] == [(4, 13), (35, 44)]
    assert all(text[m["start"]:m["end"]] == m["text"] for m in mk.locate("ARMED MEN", text))
    assert mk.locate("MENACE", "NO") == []


def test_fillers_located_at_the_measured_rate(blocks, texts):
    lines = found = 0
    for _, b in blocks:
        t = mk.template_of(b)
        t = mk.locate_all(t, texts[mk.message_of(t)])
        for fills in t["slots"].values():
            for f in fills:
                strings = [v for v in f.get("values", ()) if isinstance(v, dict) and "string" in v]
                if strings:
                    lines += 1
                    found += any(v["mentions"] for v in strings)
    assert (lines, found) == (5821, 5742)  # 98.64%


def _corpus_record(message: str, raw: str) -> dict:
    """A corpus record as the contract with ingest has it: the text is the message less its id line."""
    first = raw.partition("\n")[0]
    text = raw[len(first) + 1:]
    return {"kind": "document", "schema_version": "1.0", "id": mk.doc_id(message), "title": None, "outlet": None,
            "published": None, "language": "en", "url": None, "text": text, "raw_text": raw,
            "sha256": sha256_text(text), "inferred": {}, "removed": [{"start": 0, "end": len(first) + 1, "rule": "id line"}],
            "raw_sha256": sha256_text(raw)}


@pytest.fixture(scope="module")
def project(tmp_path_factory, texts):
    """A project folder with the TST3 keys and corpus records of the TST3 messages."""
    root = tmp_path_factory.mktemp("muc")
    shutil.copytree(SOURCES / "TASK" / "CORPORA" / "tst3", root / "sources" / "TASK" / "CORPORA" / "tst3")
    (root / "corpus").mkdir()
    for message, text in texts.items():
        if message.startswith("TST3"):
            raw = f"{message} (NOSC)\n{text}"
            (root / "corpus" / f"{mk.doc_id(message)}.json").write_text(json.dumps(_corpus_record(message, raw)))
    return root


def _cli(root: Path, *args: str):
    return subprocess.run([sys.executable, "-m", "raidcorpus.cli", *args], cwd=root, capture_output=True, text=True)


def test_keys_command_writes_records_that_validate(project):
    done = _cli(project, "keys", "--sources", "sources")
    assert done.returncode == 0, done.stderr
    assert "100 key records (123 templates), 100 written" in done.stdout.splitlines()[-1]
    records = sorted((project / "annotations").glob("*/muc4-key.json"))
    assert len(records) == 100
    rec = json.loads(records[0].read_text())
    assert rec["provenance"]["gold"] is False and rec["layer"] == "muc4-key"
    checked = _cli(project, "validate", "annotations", "corpus")
    assert checked.returncode == 0, checked.stdout[-2000:]
    assert checked.stdout.strip().endswith("200 records in 200 files, no errors")
    again = _cli(project, "keys", "--sources", "sources")
    assert ", 0 written" in again.stdout.splitlines()[-1]  # idempotent


def test_a_shifted_mention_is_an_addressed_error(project):
    done = _cli(project, "keys", "--sources", "sources")
    assert done.returncode == 0
    path = project / "annotations" / "tst3-muc4-0001" / "muc4-key.json"
    rec = json.loads(path.read_text())
    slot, j, k, span = next((s, j, k, v["mentions"][0]) for t in rec["templates"] for s, fills in t["slots"].items()
                            for j, f in enumerate(fills) for k, v in enumerate(f.get("values", ()))
                            if isinstance(v, dict) and v.get("mentions"))
    span["start"] += 1
    bad = project / "bad.json"
    bad.write_text(json.dumps(rec))
    checked = _cli(project, "validate", "bad.json")
    assert checked.returncode == 1
    line = checked.stdout.splitlines()[0]
    assert line.startswith(f"bad.json doc=tst3-muc4-0001 /templates/0/slots/{slot.replace('/', '~1')}/{j}/values/{k}/mentions/0")
    assert "[span-text-mismatch]" in line or "[span-inside-word]" in line


def test_keys_without_corpus_records_is_one_line(tmp_path):
    shutil.copytree(CORPORA / "tst3", tmp_path / "sources" / "TASK" / "CORPORA" / "tst3")
    (tmp_path / "corpus").mkdir()
    done = _cli(tmp_path, "keys", "--sources", "sources")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: corpus/tst3-muc4-0001.json doc=tst3-muc4-0001: no corpus record")
    assert not (tmp_path / "annotations").exists()  # nothing half-written


def test_keys_without_sources_is_one_line(tmp_path):
    done = _cli(tmp_path, "keys", "--sources", "nowhere")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "error: nowhere: no key files (TASK/CORPORA/*/key-*) here (see --sources)"


def test_ree_test_split_holds_the_grit_test_mentions(blocks, texts):
    """Every mention of GRIT's test file is a name of an entity of the same role in our REE rows
    (compared lower-cased, spaces squeezed: GRIT lower-cases its text)."""
    from raidcorpus.dataset import muc_rows

    rows = {}
    for path, b in blocks:
        t = mk.template_of(b)
        m = mk.message_of(t)
        if m.startswith(("TST3", "TST4")):
            rows.setdefault(m, []).append(t)
    ree = {m: muc_rows.ree_row(mk.key_record(m, ts, texts[m], "0" * 64, "x", "1.0"), texts[m]) for m, ts in rows.items()}
    missing, counts = [], Counter()
    for line in (ROOT / "sources" / "grit" / "test.json").read_text().splitlines():
        doc = json.loads(line)
        ours = ree[doc["docid"]]
        for role in muc_rows.ROLES:
            names = {muc_rows._key(s) for e in ours[role] for s in e["strings"]}
            for entity in doc["extracts"][role]:
                for mention, _ in entity:
                    counts[role] += 1
                    if muc_rows._key(mention) not in names:
                        missing.append((doc["docid"], role, mention))
                    for e in ours[role]:
                        for x in e["mentions"]:
                            assert texts[doc["docid"]][x["start"]:x["end"]] == x["text"]
    assert len(ree) == 200
    assert counts == {"PerpInd": 279, "PerpOrg": 121, "Target": 220, "Victim": 96, "Weapon": 96}
    assert missing == []


def test_the_documented_grit_differences(blocks, texts):
    """The test split's row of the table in docs/dataset.md, recounted."""
    from raidcorpus.dataset import muc_rows

    by_message = {}
    for _, b in blocks:
        t = mk.template_of(b)
        by_message.setdefault(mk.message_of(t), []).append(t)
    records = {m: mk.key_record(m, ts, texts[m], "0" * 64, "x", "1.0") for m, ts in by_message.items()}
    grit = [json.loads(line) for line in (ROOT / "sources" / "grit" / "test.json").read_text().splitlines()]
    got = muc_rows.compare_grit(records, grit)
    table = {role: [c.get(k, 0) for k in ("grit entities", "grit mentions", "our entities", "our strings", "description",
                                           "unlocated", "optional template", "optional fill", "bracketed", "other", "grit not ours")]
             for role, c in got.items()}
    assert table == {
        "PerpInd": [138, 279, 147, 285, 0, 1, 1, 0, 4, 4, 0],
        "PerpOrg": [82, 121, 84, 120, 0, 0, 0, 0, 1, 0, 0],
        "Target": [136, 220, 145, 231, 0, 0, 3, 2, 9, 2, 0],
        "Victim": [95, 96, 304, 419, 322, 0, 0, 0, 1, 0, 0],
        "Weapon": [60, 96, 61, 97, 0, 0, 0, 0, 2, 0, 0],
    }
    assert all(c["grit first occurrence"] == c["grit mentions"] for c in got.values())


def test_templates_and_ree_configs_load_offline(tmp_path, texts, blocks):
    """A build with three MUC messages (keys, an empty gold layer each) beside the build fixture's
    articles: both configs load with the real `datasets`, rows as the keys say."""
    import yaml
    from datasets import load_dataset

    from raidcorpus.dataset import build

    root = tmp_path / "repo"
    shutil.copytree(ROOT / "tests" / "data" / "build", root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    chosen = {"DEV-MUC3-0001": "train", "TST3-MUC4-0001": "test", "TST3-MUC4-0002": "test"}
    templates = {}
    for path, b in blocks:
        t = mk.template_of(b)
        if mk.message_of(t) in chosen:
            templates.setdefault(mk.message_of(t), []).append(t)
    splits = yaml.safe_load((root / "splits.yaml").read_text())
    for message, split in chosen.items():
        doc = _corpus_record(message, f"{message} (NOSC)\n{texts[message]}")
        (root / "corpus" / f"{doc['id']}.json").write_text(json.dumps(doc))
        folder = root / "annotations" / doc["id"]
        folder.mkdir()
        (folder / "gold.json").write_text(json.dumps({
            "kind": "annotation", "schema_version": "1.0", "document": doc["id"], "annotator": "gold",
            "text_sha256": doc["sha256"], "entities": [], "events": [], "entity_clusters": [], "event_clusters": []}))
        record = mk.key_record(message, templates[message], doc["text"], doc["sha256"], "x", "1.0")
        (folder / mk.KEY_FILE).write_text(json.dumps(record))
        splits["splits"][split].append(doc["id"])
    (root / "splits.yaml").write_text(yaml.safe_dump(splits))
    out = root / "dist" / "raid-attack-events"
    build.build("0.2.0", out, root)
    rows = load_dataset(str(out), "templates", split="test")
    expected = sum(t["template"] is not None for m in ("TST3-MUC4-0001", "TST3-MUC4-0002") for t in templates[m])
    assert len(rows) == expected > 0
    first = next(t for t in templates["TST3-MUC4-0001"] if t["template"] is not None)
    assert rows[0]["message"] == "TST3-MUC4-0001"
    assert rows[0]["incident_type"] == [mk.render_fill(f) for f in first["slots"]["INCIDENT: TYPE"]]
    text = texts["TST3-MUC4-0001"]
    assert rows[0]["mentions"] and all(text[m["start"]:m["end"]] == m["text"] for m in rows[0]["mentions"])
    ree = load_dataset(str(out), "ree", split="train")
    assert ree["id"] == ["dev-muc3-0001"] and ree[0]["text"] == texts["DEV-MUC3-0001"]
    assert [e["strings"] for e in ree[0]["PerpOrg"]] == [["FARABUNDO MARTI NATIONAL LIBERATION FRONT", "FMLN"]]
    assert len(load_dataset(str(out), "documents", split="test")) == 4


def test_the_example_in_docs_schema_slices_its_message(texts):
    """The mentions quoted in docs/schema.md's muc4-key example are DEV-MUC3-0105's (written text
    first, so that the seed-text check of tests/test_docs.py does not read them)."""
    import re

    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    example = doc[doc.index('"message": "DEV-MUC3-0105"'):]
    found = re.findall(r'\{"text": "((?:[^"\\]|\\.)+)", "start": (\d+), "end": (\d+)\}', example)
    assert len(found) == 2
    for quoted, start, end in found:
        assert texts["DEV-MUC3-0105"][int(start):int(end)] == json.loads(f'"{quoted}"')
