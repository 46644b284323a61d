"""muc: the MUC-3/4 message files read into corpus records, the committed records, and the splits."""

from __future__ import annotations

from pathlib import Path

import pytest

from raidcorpus import fileio, muc
from raidcorpus.dataset import rows
from raidcorpus.dataset.build import unannotated
from raidcorpus.ingest import ingest
from raidcorpus.records import Reader
from raidcorpus.text import apply_removed
from raidcorpus.validate import iter_problems

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT / "sources" / "muc34" / "TASK" / "CORPORA"
FILES = sorted(p for p in CORPORA.rglob("*") if p.is_file() and muc.is_muc_file(p))
SETS = {"DEV": 1300, "TST1": 100, "TST2": 100, "TST3": 100, "TST4": 100}


def test_the_distribution_files_are_cut_into_messages_that_put_back_make_the_file():
    assert len(FILES) == 13 + 4 + 1
    ids = []
    for path in FILES:
        raw = path.read_text(encoding="utf-8")
        messages = muc.split_messages(raw)
        assert len(messages) == 100 and messages[0].start == 0, path.name
        assert "".join(raw[m.start:m.end] for m in messages) == raw
        if not path.name.endswith(muc.MIXED_CASE):
            ids += [m.id for m in messages]
    assert len(ids) == len(set(ids)) == 1700


def test_text_before_the_first_message_is_refused_not_dropped():
    with pytest.raises(ValueError, match="before the first message id line"):
        muc.read_messages("a preamble\nDEV-MUC3-0001 (NOSC)\n\n   LIMA, 3 JAN 90 -- [TEXT] X.\n", "f")


@pytest.mark.parametrize("body, expected", [
    ("   SAN SALVADOR, 3 JAN 90 -- [REPORT] [ARMED FORCES PRESS COMMITTEE,\nCOPREFA] [TEXT] THE ARCE",
     {"place": "SAN SALVADOR", "city": "SAN SALVADOR", "country": None, "date": "1990-01-03", "source": None,
      "header_tags": ["REPORT", "ARMED FORCES PRESS COMMITTEE, COPREFA", "TEXT"]}),
    ("   PERTH (AUSTRALIA), JUNE 11 89 (AFP) -- [TEXT] DEPORTED",
     {"place": "PERTH (AUSTRALIA)", "city": "PERTH", "country": "AUSTRALIA", "date": "1989-06-11", "source": "AFP"}),
    ("   NO CITY (PERU), NO DATE -- [SPEECH] [GARCIA] [TEXT] [CONTINUED] [GARCIA] WE",
     {"city": None, "country": "PERU", "date": None, "date_missing": "the dateline says NO DATE",
      "header_tags": ["SPEECH", "GARCIA", "TEXT", "CONTINUED"]}),
    ("   TEGUCIGALPA, 7 FEB (REUTER) -- [TEXT] A BOMB",
     {"date": None, "date_precision": None, "date_missing": "the dateline's date '7 FEB' has no year", "source": "REUTER"}),
    ("   BOGOTA, 27 APR 90 [INRAVISION TELEVISION CADENA 1) -- [TEXT] X",
     {"date": "1990-04-27", "date_precision": "day", "source": "INRAVISION TELEVISION CADENA 1"}),
    ("   SAN SALVADOR, 17 NOV 89 (INTERPRESS AGENCY [IPS]) -- [TEXT] X", {"source": "INTERPRESS AGENCY [IPS]"}),
    ("   CLANDESTINE, NO DATE (RADIO VENCEREMOS) -- [COMMUNIQUE] [TEXT] [RODRIGUEZ] SAID",
     {"place": "CLANDESTINE", "city": None, "source": "RADIO VENCEREMOS", "header_tags": ["COMMUNIQUE", "TEXT"]}),
    ("   SAN SALVADOR, NO DATE (FBIS) -- [EDITORIAL REPORT] [CONTINUED] THE STATION",
     {"header_tags": ["EDITORIAL REPORT", "CONTINUED"]}),
    ("   Lima, 20 Aug 88 (EFE) -- [Excerpts] The prosecutor",
     {"city": "Lima", "date": "1988-08-20", "source": "EFE", "header_tags": ["Excerpts"]}),
    ("   THE BODY HAS NO DATELINE, AND NO DASHES.", {"written": None, "date": None, "header_tags": []}),
])
def test_dateline_rule(body, expected):
    got = muc.parse_dateline(body)
    assert {k: got[k] for k in expected} == expected


def test_a_year_outside_1988_1990_takes_the_year_of_its_neighbours_or_none():
    def meta(mid, date):
        return {"published": date, "inferred": {}, "muc": {"message_id": mid, "dateline": {
            "written": f"X, {date}", "date": date, "date_precision": "day", "date_missing": None}}}
    metas = [meta("DEV-MUC3-1165", "1990-03-11"), meta("DEV-MUC3-1166", "1911-03-11"), meta("DEV-MUC3-1167", "1990-03-14")]
    muc.infer_bad_years(metas)
    assert metas[1]["published"] == metas[1]["muc"]["dateline"]["date"] == "1990-03-11"
    assert "DEV-MUC3-1165 (1990-03-11) and DEV-MUC3-1167 (1990-03-14)" in metas[1]["inferred"]["published"]
    metas = [meta("A", "1989-12-30"), meta("B", "1911-03-11"), meta("C", "1990-01-02")]
    muc.infer_bad_years(metas)
    assert metas[1]["published"] is None and "do not agree" in metas[1]["muc"]["dateline"]["date_missing"]


def test_mixed_case_text_must_be_the_official_text_but_for_letter_case():
    upper = "TST4-MUC4-0001\n\n   LIMA, 20 AUG 88 (EFE) -- [TEXT] A BOMB.\n"
    ((_, raw, meta),) = muc.read_messages(upper.replace("A BOMB", "A bomb"), "t.mixed-case", upper)
    assert raw.endswith("A bomb.\n") and meta["muc"]["letter_case"] == "mixed"
    assert meta["muc"]["official_text"] == "   LIMA, 20 AUG 88 (EFE) -- [TEXT] A BOMB.\n"
    with pytest.raises(ValueError, match="not only in letter case"):
        muc.read_messages(upper.replace("A BOMB", "A mine"), "t.mixed-case", upper)


def test_the_upper_case_tst4_file_is_read_through_its_mixed_case_twin():
    found, others = muc.find_files([CORPORA / "tst4" / "tst4-muc4"])
    assert found == [(CORPORA / "tst4" / "tst4-muc4.mixed-case", CORPORA / "tst4" / "tst4-muc4")] and others == []
    found, others = muc.find_files([CORPORA])
    assert len(found) == 17 and others == [CORPORA]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    return out, ingest([CORPORA], out), ingest([CORPORA / "tst4" / "tst4-muc4", CORPORA / "dev"], out)


def test_ingest_makes_1700_records_reports_the_duplicates_and_again_is_a_noop(ingested):
    out, first, again = ingested
    assert len(first.added) == 1700 and first.conflicts == []
    assert first.duplicates == ["duplicate dev-muc3-0756 = dev-muc3-0752: the same text (white space aside); "
                                "added (each is a message of its distribution)"]
    pairs = {line.split(":")[0] for line in first.near_duplicates}
    assert "near-duplicate tst3-muc4-0087 ~ dev-muc3-1133" in pairs
    assert again.added == [] and len(again.unchanged) == 1400


def test_the_committed_muc_records_are_what_ingest_makes(ingested):
    out = ingested[0]
    made = sorted(p.name for p in out.glob("*.json"))
    committed = sorted(p.name for p in (ROOT / "corpus").glob("*.json") if "muc" in fileio.read_json(p))
    assert made == committed and len(made) == 1700
    for name in made:
        assert (out / name).read_bytes() == (ROOT / "corpus" / name).read_bytes(), name


def test_every_muc_record_keeps_its_message_and_says_where_it_comes_from():
    reader = Reader(ROOT / "corpus")
    by_set: dict[str, int] = {}
    for path in sorted((ROOT / "corpus").glob("*-muc*.json")):
        rec = reader.read(path, "document")
        m = rec["muc"]
        by_set[m["set"]] = by_set.get(m["set"], 0) + 1
        assert rec["id"] == m["message_id"].lower()
        assert apply_removed(rec["raw_text"], rec["removed"]) == rec["text"]
        assert [r["rule"] for r in rec["removed"]] == ["muc-message-id"]
        assert rec["raw_text"].lstrip("\n").startswith(m["message_id"]) and m["message_id"] not in rec["text"]
        assert rec["published"] == m["dateline"]["date"] and (rec["published"] is None) == bool(m["dateline"]["date_missing"])
        assert rec["outlet"] == m["dateline"]["source"]
        if m["set"] == "TST4":
            assert m["letter_case"] == "mixed" and m["official_text"] == rec["text"].upper() != rec["text"]
        else:
            assert m["letter_case"] == "upper" and m["official_text"] is None
    assert by_set == SETS
    bad = reader.read(ROOT / "corpus" / "dev-muc3-1166.json", "document")
    assert bad["published"] == "1990-03-11" and "11 MAR 11" in bad["inferred"]["published"]


def test_splits_are_the_standard_muc_split_with_the_seeds_in_train():
    splits = Reader(ROOT / "corpus").read(ROOT / "splits.yaml", "splits")
    want = {"train": {"DEV"}, "validation": {"TST1", "TST2"}, "test": {"TST3", "TST4"}}
    for split, docs in splits["splits"].items():
        sets = {fileio.read_json(ROOT / "corpus" / f"{d}.json").get("muc", {}).get("set", "seed") for d in docs}
        assert sets == want[split] | ({"seed"} if split == "train" else set()), split
    assert [len(splits["splits"][s]) for s in ("train", "validation", "test")] == [1303, 200, 200]
    assert splits["near_duplicates"][0]["documents"] == ["dev-muc3-1133", "tst3-muc4-0087"]


def test_an_unacknowledged_near_duplicate_across_splits_is_an_error(tmp_path):
    text = (ROOT / "splits.yaml").read_text(encoding="utf-8")
    start = text.index("near_duplicates:")
    cut = text[:start] + text[text.index("splits:", start):]
    (tmp_path / "splits.yaml").write_text(cut, encoding="utf-8")
    lines = [p.line() for p in iter_problems([tmp_path / "splits.yaml"], ROOT / "corpus")]
    assert len(lines) == 1 and "doc=tst3-muc4-0087 " in lines[0] and "[near-duplicate-across-splits]" in lines[0], lines


def test_a_document_without_layers_gets_a_documents_row_and_no_derived_rows():
    doc = fileio.read_json(ROOT / "corpus" / "dev-muc3-0001.json")
    row = rows.document_row(doc, unannotated(doc), [], {})
    assert row["text"] == doc["text"] and row["entities"] == row["events"] == [] and row["annotators"] == []
    assert rows.derived_rows(row, nlp=None) == {}
