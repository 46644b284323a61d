"""Exports, read by each format's own ecosystem and round-tripped back to our records."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
from datasets import load_dataset  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus import ontology  # noqa: E402
from raidcorpus.dataset import build, export, rows  # noqa: E402
from raidcorpus.cli import app  # noqa: E402
from raidcorpus.errors import UserError  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "build"
runner = CliRunner()


@pytest.fixture(scope="module")
def built(fixture_build):
    _, result = fixture_build
    records = {rec["document"]: rec for _, rec in export.read_folder(result.out)}
    return result.out, records


def run(folder: Path, fmt: str, out: Path) -> export.ExportReport:
    return export.export(folder, fmt, out)


def test_textee_loads_with_datasets_and_round_trips(built, tmp_path):
    folder, records = built
    result = run(folder, "textee", tmp_path)
    # TextEE's layout: train.json, dev.json, test.json, JSON lines; the fixture has no validation split
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.json", "test.json", "train.json"]
    assert (tmp_path / "dev.json").read_text() == ""
    assert result.notes == ["split validation: no documents in the dataset, dev.json written empty"]
    ds = load_dataset("json", data_files={s: str(tmp_path / f"{s}.json") for s in ("train", "test")})
    lines = [r for split in ds.values() for r in split]
    assert sum(len(r["event_mentions"]) for r in lines) == sum(len(r["events"]) for r in records.values())
    for line in lines:
        for v in line["event_mentions"]:
            t = v["trigger"]
            assert " ".join(line["tokens"][t["start"] : t["end"]]).replace(" ", "") == t["text"].replace(" ", "")
            ents = {e["id"] for e in line["entity_mentions"]}
            assert all(a["entity_id"] in ents for a in v["arguments"])
    # mention_type (the ACE mention level) and value (a TIME or NUM's normalized value) are kept
    by_id = {f"{d}:{e['id']}": e for d, r in records.items() for e in r["entities"]}
    mentions = [m for line in lines for m in line["entity_mentions"]]
    assert mentions and all(m["mention_type"] == by_id[m["id"]]["attributes"]["mention"] for m in mentions)
    valued = [m for m in mentions if by_id[m["id"]].get("normalized") is not None]
    assert valued and all(str(m["value"]) == str(by_id[m["id"]]["normalized"]) for m in valued)
    # gamma E1 ("exploded", first sentence) has its Attacker "ISIS" in a later sentence: TextEE cannot hold it
    assert result.lost["arguments"] == 1
    assert result.lost["entities"] == 0 and result.lost["events"] == 0
    approx = sum(1 for r in records.values() for e in r["entities"] if "approx" in e["attributes"])
    assert result.lost["entity attributes"] == approx  # mention and normalized come back, approx does not
    assert result.lost["event attributes"] == sum(len([x for x in v["attributes"].values() if x]) for r in records.values() for v in r["events"])
    assert result.lost["provenance"] == sum(len(r["entities"]) + len(r["events"]) for r in records.values())
    back = export.records_from_textee(export.read_jsonl(tmp_path / "train.json"), "train.json")
    rec = records["gamma-post-2016-03-22"]
    assert export.losses(rec, back["gamma-post-2016-03-22"])["arguments"] == 1


def test_textee_bad_lines_are_one_line_errors(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"doc_id": "d", "wnd_id": "d-0", "text": "A b", "tokens": ["A", "c"]}\n')
    with pytest.raises(UserError, match=r"bad.jsonl:1 doc=d /tokens/1 \[span-text-mismatch\] token 'c'"):
        export.records_from_textee(export.read_jsonl(path), str(path))
    path.write_text('{"doc_id": "d", "wnd_id": "d-0", "text": "A b", "tokens": ["A", "b"], "event_mentions": '
                    '[{"id": "v", "event_type": "Party", "trigger": {"start": 0, "end": 1}}]}\n')
    with pytest.raises(UserError, match=r"bad.jsonl:1 doc=d /event_mentions/0/event_type \[unknown-type\] 'Party'"):
        export.records_from_textee(export.read_jsonl(path), str(path))


def test_brat_files_follow_the_standoff_format(built, tmp_path):
    """Field by field, as brat's standoff format defines it, and with bratly, a maintained brat reader."""
    from bratly import EntityAnnotation, EquivalenceAnnotation, EventAnnotation, AttributeAnnotation, NoteAnnotation
    from bratly.io.file_read_src import parse_ann_file

    folder, records = built
    result = run(folder, "brat", tmp_path)
    # brat holds every mention, argument, attribute and link of the fixture, not provenance or cluster ids
    assert set(result.lost) == {"provenance", "cluster ids", "cross-document cluster ids"}
    assert result.lost["cluster ids"] == sum(len(r["entity_clusters"]) + len(r["event_clusters"]) for r in records.values())
    argless = sum(1 for r in records.values() for v in r["events"] if not v["arguments"])
    assert argless and result.notes == [f"{argless} events without arguments are written as brat writes them "
                                        "('E1<TAB>Attack:T1'); readers that want one argument or more (bratly) skip them"]
    conf = (tmp_path / "annotation.conf").read_text()
    onto = ontology.load()
    for section in ("[entities]", "[relations]", "[events]", "[attributes]"):
        assert section in conf
    for t in onto.event_types:
        assert f"\n{t.name}\t" in conf
    for split in ("train", "test"):
        for ann in sorted((tmp_path / split).glob("*.ann")):
            doc = ann.stem
            with open(tmp_path / split / f"{doc}.txt", encoding="utf-8", newline="") as f:
                text = f.read()
            assert text == records[doc]["text"]
            lines = ann.read_text(encoding="utf-8").splitlines()
            kinds = Counter(line[0] for line in lines)
            rec = records[doc]
            assert kinds["T"] == len(rec["entities"]) + len(rec["events"])
            assert kinds["E"] == len(rec["events"])
            for line in lines:
                fields = line.split("\t")
                if line[0] == "T":  # T<n> TAB TYPE START END[;START END] TAB TEXT
                    assert len(fields) == 3
                    label, locs = fields[1].split(" ", 1)
                    assert label in onto.entity_names or label in onto.event_names
                    frags = [tuple(map(int, f.split())) for f in locs.split(";")]
                    assert " ".join(text[a:b] for a, b in frags) == fields[2]
                elif line[0] == "E":  # E<n> TAB TYPE:T<n> ROLE:ID ...
                    etype, trig = fields[1].split(" ")[0].split(":")
                    assert etype in onto.event_names and trig.startswith("T")
            collection = parse_ann_file(ann.read_text(encoding="utf-8"), str(ann), no_duplicates=False, sorting=False, renumerotize=False)
            got = Counter(type(a).__name__ for a in collection.annotations)
            argless = sum(1 for v in rec["events"] if not v["arguments"])  # bratly's grammar wants one argument or more
            assert sum(1 for line in lines if re.fullmatch(r"E\d+\t\w+:T\d+", line)) == argless  # brat's own form
            assert got[EntityAnnotation.__name__] == kinds["T"]
            assert got[EventAnnotation.__name__] == kinds["E"] - argless
            parsed = {a.id for a in collection.annotations if not isinstance(a, EquivalenceAnnotation)}
            on_parsed = sum(1 for line in lines if line[0] == "A" and line.split("\t")[1].split(" ")[1] in parsed)
            assert on_parsed == kinds["A"] - sum(len([x for x in v["attributes"].values() if x]) for v in rec["events"] if not v["arguments"])
            assert got[AttributeAnnotation.__name__] == on_parsed
            assert got[NoteAnnotation.__name__] == kinds["#"]
            assert got[EquivalenceAnnotation.__name__] == kinds["*"]
            for a in collection.annotations:
                if isinstance(a, EntityAnnotation):
                    assert text[a.fragments[0].start : a.fragments[-1].end] == a.content


def _double_typed() -> dict:
    """A figure that is both NUM and the PER it counts (GUIDELINES: "31" in "killed 31"), and an event
    without arguments."""
    text = "Bombs killed 31 in Brussels.\nPolice raided a flat."
    return {
        "document": "d", "annotator": "gold", "text": text,
        "entities": [
            {"id": "T1", "type": "NUM", "start": 13, "end": 15, "text": "31", "normalized": 31,
             "attributes": {"mention": "NOM", "approx": "exact"}},
            {"id": "T2", "type": "PER", "start": 13, "end": 15, "text": "31", "attributes": {"mention": "NOM"}},
            {"id": "T3", "type": "GPE", "start": 19, "end": 27, "text": "Brussels", "attributes": {"mention": "NAM"}},
        ],
        "events": [
            {"id": "E1", "type": "Die", "trigger": {"start": 6, "end": 12, "text": "killed"},
             "arguments": [{"role": "Victim", "entity": "T2", "type": "PER"}, {"role": "Place", "entity": "T3", "type": "GPE"}],
             "attributes": {}},
            {"id": "E2", "type": "Raid", "trigger": {"start": 36, "end": 42, "text": "raided"}, "arguments": [], "attributes": {}},
        ],
        "entity_clusters": [{"id": "C1", "members": ["T1", "T2"]}], "event_clusters": [],
    }


def test_brat_writes_one_entity_per_span_and_events_without_arguments(tmp_path):
    """The rule for double-typed spans: one text-bound annotation, the type first in the schema (PER), the
    one the ner config keeps too; the NUM is counted lost. Checked with bratly and brat's standoff grammar."""
    from bratly import EntityAnnotation, EventAnnotation
    from bratly.io.file_read_src import parse_ann_file

    rec = _double_typed()
    ann = export.brat_ann(rec, rec["text"])
    lines = ann.splitlines()
    spans = [line.split("\t")[1].split(" ", 1)[1] for line in lines if line[0] == "T"]
    assert len(spans) == len(set(spans)) == 4  # 31, Brussels and two triggers: no identical span twice
    assert "T1\tPER 13 15\t31" in lines and "E1\tDie:T3 Victim:T1 Place:T2" in lines
    assert "E2\tRaid:T4" in lines  # brat's event without arguments
    assert not any(line.startswith("*") for line in lines)  # C1 linked the two types of one span: nothing left to link
    assert not any("approx" in line or "normalized=" in line for line in lines)
    collection = parse_ann_file(ann, "d.ann", no_duplicates=False, sorting=False, renumerotize=False)
    got = [a for a in collection.annotations if isinstance(a, EntityAnnotation)]
    assert len({(a.fragments[0].start, a.fragments[-1].end) for a in got}) == len(got) == 4
    assert [a.id for a in collection.annotations if isinstance(a, EventAnnotation)] == ["E1"]  # bratly skips E2
    back = export.read_brat(ann, rec["text"], "d", "d.ann")
    lost = export.losses(rec, back)
    assert lost["entities"] == 1 and lost["events"] == 0 and lost["arguments"] == 0
    assert lost["entity attributes"] >= 2  # the NUM's mention, approx and value


def test_ner_keeps_the_type_first_in_the_schema_on_a_shared_span():
    rec = _double_typed()
    kept = rows.outermost(rec["entities"])
    assert [e["id"] for e in kept] == ["T2", "T3"]
    assert [e["id"] for e in rows.outermost(list(reversed(rec["entities"])))] == ["T2", "T3"]  # not by order or id


def test_spacy_docbin_loads_with_spacy(built, tmp_path):
    import spacy
    from spacy.tokens import DocBin

    folder, records = built
    result = run(folder, "spacy", tmp_path)
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(tmp_path / "test.spacy").get_docs(nlp.vocab))
    docs += list(DocBin().from_disk(tmp_path / "train.spacy").get_docs(nlp.vocab))
    assert {d.user_data["document"] for d in docs} == set(records)
    for d in docs:
        rec = records[d.user_data["document"]]
        assert len(d.spans["entities"]) == len(rec["entities"])
        assert len(d.ents) == len(rows.outermost(rec["entities"]))
        assert [s.label_ for s in d.spans["triggers"]] == [v["type"] for v in rec["events"]]
        assert len(d.spans["arguments"]) == sum(len(v["arguments"]) for v in rec["events"])
        for v in rec["events"]:
            group = d.spans[f"event:{v['id']}"]
            assert group[0].text == v["trigger"]["text"]
            assert [s.label_ for s in list(group)[1:]] == [a["role"] for a in v["arguments"]]
    assert result.lost["entities"] == result.lost["events"] == result.lost["arguments"] == result.lost["event attributes"] == 0
    assert result.lost["entity coreference links"] > 0


def test_conll_is_split_into_documents_by_spacy_convert(built, tmp_path):
    """`spacy convert -c ner` (the real command) makes one Doc per document, every token a token of ours."""
    import spacy
    from spacy.tokens import DocBin

    folder, records = built
    result = run(folder, "conll", tmp_path / "conll")
    docs = []
    for split in ("train", "test"):
        path = tmp_path / "conll" / f"{split}.conll"
        out = tmp_path / "converted" / split
        out.mkdir(parents=True)
        proc = subprocess.run([sys.executable, "-m", "spacy", "convert", str(path), str(out), "--converter", "ner"],
                              capture_output=True, text=True, check=True)
        assert "Document delimiters found" in proc.stdout + proc.stderr
        lines = path.read_text(encoding="utf-8").splitlines()
        got = list(DocBin().from_disk(out / f"{split}.spacy").get_docs(spacy.blank("en").vocab))
        assert len(got) == sum(1 for line in lines if line == export.DOCSTART)
        tokens = [line.split(" ")[0] for line in lines if line and line != export.DOCSTART]
        assert [t.text for d in got for t in d] == tokens  # no delimiter read as a token
        docs += got
    assert len(docs) == len(records)
    got = Counter(e.label_ for d in docs for e in d.ents)
    want = Counter(e["type"] for r in records.values() for e in rows.outermost(r["entities"]))
    assert got == want
    nested = sum(len(r["entities"]) - len(rows.outermost(r["entities"])) for r in records.values())
    assert result.lost["entities"] == nested and result.lost["events"] == sum(len(r["events"]) for r in records.values())


def test_cli_export_and_its_errors(built, tmp_path):
    folder, _ = built
    res = runner.invoke(app, ["export", "--dataset", str(folder), "--format", "textee", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert "not carried by textee: arguments 1, cluster ids " in res.stdout
    assert "note: split validation: no documents in the dataset, dev.json written empty" in res.stdout
    res = runner.invoke(app, ["export", "--dataset", str(folder), "--format", "xml", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "unknown format 'xml'" in res.stderr
    res = runner.invoke(app, ["export", "--dataset", str(tmp_path), "--format", "brat", "--out", str(tmp_path / "b")])
    assert res.exit_code == 1 and "not a built dataset folder" in res.stderr and "Traceback" not in res.output


def test_the_repository_corpus_exports_without_identical_spans(tmp_path):
    """The release's own double-typed spans (a NUM and the PER it counts) and events without arguments."""
    from bratly.io.file_read_src import parse_ann_file

    root = Path(__file__).resolve().parents[1]
    version = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (root / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)
    folder = build.build(version, tmp_path / "full", root, standoff_out=tmp_path / "standoff").out
    records = [rec for _, rec in export.read_folder(folder)]
    doubled = sum(n - 1 for r in records for n in Counter((e["start"], e["end"]) for e in r["entities"]).values())
    assert doubled > 0
    result = run(folder, "brat", tmp_path / "brat")
    assert result.lost["entities"] == doubled
    for ann in (tmp_path / "brat").rglob("*.ann"):
        spans = [line.split("\t")[1].split(" ", 1)[1] for line in ann.read_text(encoding="utf-8").splitlines() if line[0] == "T"]
        assert len(spans) == len(set(spans)), f"{ann.name}: two entities on one span"
        parse_ann_file(ann.read_text(encoding="utf-8"), str(ann), no_duplicates=False, sorting=False, renumerotize=False)
    ner = run(folder, "conll", tmp_path / "conll")
    assert ner.lost["entities"] == sum(len(r["entities"]) - len(rows.outermost(r["entities"])) for r in records)
