"""ingest: the removal rules, idempotency, duplicates, and that the committed corpus is what ingest makes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from raidcorpus import fileio
from raidcorpus.cli import app
from raidcorpus.ingest import Article, guess_title, ingest, make_record
from raidcorpus.text import apply_removed, clean
from raidcorpus.validate import iter_problems

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


def test_site_boilerplate_is_removed_with_the_blank_lines_after_it():
    raw = "IE 11 is not supported. For an optimal experience visit our site on another browser.\n\nHeadline\n\nBody.\n"
    text, removed = clean(raw)
    assert text == "Headline\n\nBody.\n"
    assert removed == [{"start": 0, "end": raw.index("Headline"), "rule": "site-boilerplate"}]
    assert apply_removed(raw, removed) == text


def test_embedded_posts_are_removed_but_prose_mentioning_twitter_is_kept():
    raw = (
        "Police said so.\n"
        "??#Bruxelles Opération de police pic.twitter.com/RcOmKUCXFk\n"
        "— Geoffrey Henriot (@HenriotGeoffrey) 25 березня 2016 р.\n"
        "He wrote on Twitter that — in his words — it was over.\n"
    )
    text, removed = clean(raw)
    assert text == "Police said so.\nHe wrote on Twitter that — in his words — it was over.\n"
    assert [r["rule"] for r in removed] == ["social-embed", "social-embed"]


def test_crlf_text_keeps_its_line_breaks():
    raw = "Title\r\n\r\nA raid.\r\npic.twitter.com/abc\r\nEnd.\r\n"
    text, removed = clean(raw)
    assert text == "Title\r\n\r\nA raid.\r\nEnd.\r\n"
    assert apply_removed(raw, removed) == text


def test_title_is_guessed_only_from_a_standalone_first_line():
    assert guess_title("Two suspects dead\n\nBody text.") == "Two suspects dead"
    assert guess_title("A full sentence that ends.\n\nBody.") is None
    assert guess_title("One paragraph only") is None


def test_record_marks_what_was_inferred():
    rec = make_record(Article("a.txt", "Raid in Verviers\n\nPolice raided a flat.\n", {}))
    assert rec["id"] == "undated-raid-in-verviers"
    assert rec["title"] == "Raid in Verviers" and "title" in rec["inferred"]
    assert rec["language"] == "en" and "language" in rec["inferred"]
    assert rec["url"] is None and rec["outlet"] is None


def test_reingest_is_a_noop_and_duplicates_are_reported(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    body = " ".join(f"Sentence {i} says police raided flat number {i} and arrested {i} men." for i in range(40))
    (src / "a.txt").write_text("Raid in Verviers\n\n" + body, encoding="utf-8")
    out = tmp_path / "corpus"
    first = ingest([src], out)
    assert len(first.added) == 1
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = ingest([src], out)
    assert again.added == [] and len(again.unchanged) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # the same text under another name is a duplicate; a lightly edited copy is a near-duplicate
    (src / "b.txt").write_text((src / "a.txt").read_text(encoding="utf-8").replace("Raid in Verviers", "Raid in Liège"), encoding="utf-8")
    same = {"id": "another-id", "text": fileio.read_json(out / "undated-raid-in-verviers.json")["raw_text"]}
    (src / "c.jsonl").write_text(json.dumps(same) + "\n", encoding="utf-8")
    report = ingest([src], out)
    assert report.added == ["undated-raid-in-liege"]
    assert [line.split(":")[0] for line in report.near_duplicates] == ["near-duplicate undated-raid-in-liege ~ undated-raid-in-verviers"]
    assert report.duplicates == ["duplicate c.jsonl:1: same text as undated-raid-in-verviers; skipped"]


def test_changed_text_under_an_existing_id_is_refused(tmp_path):
    out = tmp_path / "corpus"
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "x.txt").write_text("Raid in Verviers\n\nFirst version.\n", encoding="utf-8")
    ingest([tmp_path / "one"], out)
    (tmp_path / "one" / "x.txt").write_text("Raid in Verviers\n\nSecond version.\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "one"), "--out", str(out)])
    assert result.exit_code == 1
    assert "conflict undated-raid-in-verviers" in result.stdout
    assert "First version" in (out / "undated-raid-in-verviers.json").read_text(encoding="utf-8")


def test_jsonl_input_and_bad_input_lines(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"text": "Police raided a flat.", "title": "Raid", "published": "2015-01-15"}) + "\n", encoding="utf-8")
    report = ingest([src], tmp_path / "c")
    assert report.added == ["2015-01-15-raid"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "no text"}\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(bad), "--out", str(tmp_path / "c")])
    assert result.exit_code == 1 and "[missing-field]" in result.stderr
    latin = tmp_path / "latin.txt"
    latin.write_bytes("Liège".encode("latin-1"))
    result = CliRunner().invoke(app, ["ingest", str(latin), "--out", str(tmp_path / "c")])
    assert result.exit_code == 1 and "[not-utf8]" in result.stderr


def test_committed_corpus_is_what_ingest_makes_of_the_seeds(tmp_path):
    """From the seed files beside a development checkout, or, in a clone without them, from the
    raw texts the records keep, each written back under its source file's name."""
    seeds = SEEDS
    if not seeds.is_dir():
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        for p in sorted((ROOT / "corpus").glob("*.json")):
            rec = fileio.read_json(p)
            if "muc" not in rec:
                (seeds / rec["source_file"]).write_text(rec["raw_text"], encoding="utf-8", newline="")
    out = tmp_path / "corpus"
    ingest([seeds], out, ROOT / "corpus" / "sources.yaml")
    tmp_path = out
    made = sorted(p.name for p in tmp_path.glob("*.json"))
    committed = sorted(p.name for p in (ROOT / "corpus").glob("*.json") if "muc" not in fileio.read_json(p))  # MUC: test_muc_text
    assert made == committed
    for name in made:
        assert (tmp_path / name).read_bytes() == (ROOT / "corpus" / name).read_bytes(), name
    assert not list(iter_problems([tmp_path], tmp_path))


def test_every_committed_text_is_its_raw_text_cleaned_by_the_rules():
    """Without the seed files at hand: nothing in corpus/ was rewritten by hand."""
    records = [fileio.read_json(p) for p in sorted((ROOT / "corpus").glob("*.json"))]
    assert records
    for rec in records:
        text, removed = clean(rec["raw_text"])
        assert (text, removed) == (rec["text"], rec["removed"]), rec["id"]
        assert make_record(Article(rec["source_file"], rec["raw_text"], {"id": rec["id"]}))["sha256"] == rec["sha256"]
