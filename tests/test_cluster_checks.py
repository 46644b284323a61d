"""validate on cross-document clusters (GUIDELINES 12): the cases the golden fixtures do not cover,
and the repository's own clusters.yaml broken by hand."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from raidcorpus.checks import check_records

HERE = Path(__file__).parent
ROOT = HERE.parent
INVALID = HERE / "invalid"
BASE = {
    "kind": "event_clusters",
    "schema_version": "1.0",
    "clusters": [
        {"id": "tiny-raid-2015-01-15", "type": "Raid", "name": "Raid", "date": "2015-01-15", "date_precision": "day",
         "place": "a flat, Verviers", "place_precision": "site", "part_of": "tiny-searches-2015",
         "members": [{"document": "tiny-clusters", "event": "E1"}, {"document": "tiny-clusters", "event": "E2"}]},
        {"id": "tiny-searches-2015", "type": "Raid", "name": "Searches", "date": "2015-01-12/2015-01-15",
         "date_precision": "interval", "place": "Verviers", "place_precision": "town",
         "members": [{"document": "tiny-clusters", "event": "E3"}]},
    ],
}


def problems(record, corpus=INVALID / "corpus"):
    return [(p.slug, p.pointer) for p in check_records([("clusters.yaml", record)], corpus)]


def test_the_base_record_is_valid():
    assert problems(BASE) == []


def edited(change):
    rec = copy.deepcopy(BASE)
    change(rec)
    return problems(rec)


def test_a_gold_event_in_two_clusters_is_an_overlap():
    def twice(r):
        r["clusters"][1]["members"].append({"document": "tiny-clusters", "event": "E1"})
    assert ("cluster-overlap", "/clusters/1/members/1") in edited(twice)


def test_member_of_another_type_and_set_of_another_type():
    def arrest(r):
        r["clusters"][1]["members"] = [{"document": "tiny-clusters", "event": "E6"}, {"document": "tiny-clusters", "event": "E3"}]
    assert ("cluster-mixed-types", "/clusters/1/members/0") in edited(arrest)

    def set_type(r):
        r["clusters"][1]["type"] = "Attack"
    assert ("cluster-mixed-types", "/clusters/0/part_of") in edited(set_type)


def test_movement_and_unconfirmed_only_clusters_are_not_eligible():
    def movement(r):
        r["clusters"].append({**copy.deepcopy(r["clusters"][1]), "id": "tiny-travel", "type": "Movement", "date": "2014-12",
                              "date_precision": "month", "members": [{"document": "tiny-clusters", "event": "E5"}]})
    assert edited(movement) == [("cluster-member-not-eligible", "/clusters/2/members/0")]

    def unconfirmed(r):
        r["clusters"].append({**copy.deepcopy(r["clusters"][1]), "id": "tiny-arrest", "type": "Arrest", "date": "2015-01-15",
                              "date_precision": "day", "members": [{"document": "tiny-clusters", "event": "E6"}]})
    assert edited(unconfirmed) == [("cluster-member-not-eligible", "/clusters/2")]


def test_a_member_listed_in_a_second_cluster_splits_the_gold_event_cluster():
    def split(r):
        r["clusters"][0]["members"].pop()
        r["clusters"][1]["members"].append({"document": "tiny-clusters", "event": "E2"})
    assert ("cluster-splits-coreference", "/clusters/0/members/0") in edited(split)


def test_part_of_must_name_a_cluster_and_hold_the_member_date():
    def dangling(r):
        r["clusters"][0]["part_of"] = "no-such-cluster"
    assert edited(dangling) == [("dangling-reference", "/clusters/0/part_of")]

    def outside(r):
        r["clusters"][1]["date"] = "2015-01-12/2015-01-14"
    assert edited(outside) == [("cluster-date-out-of-range", "/clusters/0/date")]


def test_a_date_report_on_the_time_mention_accepts_the_conflict():
    def conflict(r):
        r["clusters"][0]["date"] = "2015-01-14"
    assert edited(conflict) == [("cluster-date-conflict", "/clusters/0/members/0")]

    def reported(r):
        conflict(r)
        r["clusters"][0]["reports"] = [{"field": "date", "document": "tiny-clusters", "value": "2015-01-15",
                                        "evidence": {"start": 36, "end": 44, "text": "Thursday"}}]
    assert edited(reported) == []


@pytest.mark.parametrize("date, precision, ok", [
    ("2015-01", "month", True),  # coarse precisions may run past the publication date
    ("2015", "year", True),
    ("2015-01-12/2015-01-18", "week", False),  # a bounded precision may not
    ("2015-01-12/2015-01-18", "interval", False),
    ("2015-01-16", "day", False),
    ("2015-02", "month", False),  # starts after publication
    ("2015-01-15", "month", False),  # not the form of its precision
    ("2015-01-15/2015-01-15", "interval", False),
])
def test_dates_within_what_the_sources_allow(date, precision, ok):
    def dated(r):
        r["clusters"][1].update(date=date, date_precision=precision)
        del r["clusters"][0]["part_of"]
    found = edited(dated)
    assert (found == []) is ok, found


def test_not_a_real_date_is_bad_time_once():
    def unreal(r):
        r["clusters"][1]["date"] = "2015-02-30"
        del r["clusters"][0]["part_of"]
    assert edited(unreal) == [("bad-time", "/clusters/1/date")]


def test_change_log_entries():
    entry = {"date": "2015-01-20", "cluster": "tiny-raid-2015-01-15", "action": "edit", "what": "date", "reason": "GUIDELINES 12.4"}

    def log(*entries):
        return lambda r: r.update(changes=list(entries))
    assert edited(log(entry)) == []
    assert edited(log({**entry, "cluster": "gone"})) == [("dangling-reference", "/changes/0/cluster")]
    assert edited(log({**entry, "cluster": "gone", "action": "remove"})) == []
    assert edited(log({**entry, "date": "2015-13-01"})) == [("bad-time", "/changes/0/date")]
    assert edited(log({**entry, "when": "now"})) == [("unknown-field", "/changes/0")]


def test_the_repository_clusters_run_through_every_check():
    path = ROOT / "annotations" / "clusters.yaml"
    if not path.exists():
        pytest.skip("no clusters file")
    record = yaml.safe_load(path.read_text(encoding="utf-8"))
    corpus = ROOT / "corpus"
    assert problems(record, corpus) == []
    broken = copy.deepcopy(record)
    first = broken["clusters"][0]
    first["date"] = "2030-01-01"
    broken["clusters"][1]["members"].append(dict(first["members"][0]))
    found = problems(broken, corpus)
    assert ("cluster-date-out-of-range", "/clusters/0/date") in found
    assert any(slug == "cluster-overlap" for slug, _ in found)
    assert any(slug == "cluster-date-conflict" for slug, _ in found)
