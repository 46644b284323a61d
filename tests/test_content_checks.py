"""L3 content checks: TIME values are real dates and ordered intervals; spans keep to word edges."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from raidcorpus import isotime
from raidcorpus.checks import check_records

HERE = Path(__file__).parent
BASE = json.loads((HERE / "valid" / "annotations" / "tiny-doc" / "annotator-1.json").read_text(encoding="utf-8"))
CORPUS = HERE / "valid" / "corpus"


@pytest.mark.parametrize("value", ["2015", "2015-01", "2015-01-15", "2016-02-29", "2015-01-16T11:00",
                                   "2015-01-16T11:00:59", "2015-01-05/2015-01-11", "2009/2010", "2015-01-15/2015-01",
                                   "2015-01-15/2015-01-15"])
def test_real_times_pass(value):
    assert isotime.problem(value) is None


@pytest.mark.parametrize("value", ["2015-02-30", "2015-02-29", "2015-13-45", "2015-13", "2015-00",
                                   "2015-01-15T25:99", "2015-01-15T23:60", "2015-01-11/2015-01-05",
                                   "2016/2015-06", "2015-01-16T11:00/2015-01-16T10:59", "2015/2016/2017"])
def test_impossible_times_and_reversed_intervals_fail(value):
    assert isotime.problem(value)


def slugs(record) -> list[str]:
    return [p.slug for p in check_records([("x.json", record)], CORPUS)]


def time_entity(record) -> dict:
    return next(e for e in record["entities"] if e["type"] == "TIME")


def test_a_time_mention_with_a_day_february_lacks_is_bad_time():
    rec = copy.deepcopy(BASE)
    time_entity(rec)["normalized"] = "2015-02-30"
    assert slugs(rec) == ["bad-time"]
    time_entity(rec)["normalized"] = "2015-01-11/2015-01-05"
    assert slugs(rec) == ["bad-time"]
    time_entity(rec)["normalized"] = None
    assert slugs(rec) == []


def test_a_trigger_cut_out_of_a_word_fails_unless_marked_subword():
    rec = copy.deepcopy(BASE)
    trigger = rec["events"][0]["trigger"]
    assert trigger["text"] == "raided"
    trigger.update(end=trigger["start"] + 4, text="raid")
    assert slugs(rec) == ["span-inside-word"]
    trigger["subword"] = True
    assert slugs(rec) == []


def test_an_entity_starting_inside_a_word_fails_unless_marked_subword():
    rec = copy.deepcopy(BASE)
    ent = next(e for e in rec["entities"] if e["text"] == "Verviers")
    ent.update(start=ent["start"] + 1, text="erviers")
    assert slugs(rec) == ["span-inside-word"]
    ent["subword"] = True
    assert slugs(rec) == []


def test_spans_at_punctuation_and_hyphens_are_word_edges():
    text = "Franco-Belgian police's raid."
    from raidcorpus.checks import span_problems

    for start, end in ((0, 6), (7, 14), (15, 21), (24, 28)):
        span = {"start": start, "end": end, "text": text[start:end]}
        assert span_problems(text, span, ["s"], "x", None) == [], text[start:end]
