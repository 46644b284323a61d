"""Exports, read by each format's own ecosystem and round-tripped back to our records."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
from datasets import load_dataset  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus import ontology  # noqa: E402
from raidcorpus.dataset import export, rows  # noqa: E402
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
    ds = load_dataset("json", data_files={s: str(tmp_path / f"{s}.jsonl") for s in ("train", "test")})
    lines = [r for split in ds.values() for r in split]
    assert sum(len(r["event_mentions"]) for r in lines) == sum(len(r["events"]) for r in records.values())
    for line in lines:
        for v in line["event_mentions"]:
            t = v["trigger"]
            assert " ".join(line["tokens"][t["start"] : t["end"]]).replace(" ", "") == t["text"].replace(" ", "")
            ents = {e["id"] for e in line["entity_mentions"]}
            assert all(a["entity_id"] in ents for a in v["arguments"])
    # gamma E1 ("exploded", first sentence) has its Attacker "ISIS" in a later sentence: TextEE cannot hold it
    assert result.lost["arguments"] == 1
    assert result.lost["entities"] == 0 and result.lost["events"] == 0
    assert result.lost["event attributes"] == sum(len([x for x in v["attributes"].values() if x]) for r in records.values() for v in r["events"])
    back = export.records_from_textee(export.read_jsonl(tmp_path / "train.jsonl"), "train.jsonl")
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
    assert not result.lost  # brat holds everything the records hold
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
            argless = sum(1 for v in rec["events"] if not v["arguments"])  # bratly wants one argument or more
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


def test_conll_reads_with_spacy_converter(built, tmp_path):
    from spacy.training.converters import conll_ner_to_docs

    folder, records = built
    result = run(folder, "conll", tmp_path)
    docs = []
    for split in ("train", "test"):
        docs += list(conll_ner_to_docs((tmp_path / f"{split}.conll").read_text(encoding="utf-8"), n_sents=1, no_print=True))
    got = Counter(e.label_ for d in docs for e in d.ents)
    want = Counter(e["type"] for r in records.values() for e in rows.outermost(r["entities"]))
    assert got == want
    nested = sum(len(r["entities"]) - len(rows.outermost(r["entities"])) for r in records.values())
    assert result.lost["entities"] == nested and result.lost["events"] == sum(len(r["events"]) for r in records.values())


def test_cli_export_and_its_errors(built, tmp_path):
    folder, _ = built
    res = runner.invoke(app, ["export", "--dataset", str(folder), "--format", "textee", "--out", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    assert "not carried by textee: arguments 1," in res.stdout
    res = runner.invoke(app, ["export", "--dataset", str(folder), "--format", "xml", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "unknown format 'xml'" in res.stderr
    res = runner.invoke(app, ["export", "--dataset", str(tmp_path), "--format", "brat", "--out", str(tmp_path / "b")])
    assert res.exit_code == 1 and "not a built dataset folder" in res.stderr and "Traceback" not in res.output
