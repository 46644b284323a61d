"""Label Studio results <-> records, without a server: round trips over arbitrary Unicode, and every issue slug."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raidcorpus import convert, ontology
from raidcorpus.errors import SLUGS
from raidcorpus.text import sha256_text

ONTO = ontology.load()
TRICKY = ["😀", "👩‍👩‍👧‍👦", "🇧🇪", "\r\n", "\n", "\u00a0", "\u200d", "\u200f", "\u202e", "שלום", "مرحبا", "Привет", "é", "e\u0301", "\t", " "]

texts = st.lists(st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=("Cs",))), min_size=1, max_size=40).map("".join)


def _iso():
    return st.sampled_from(["2015", "2015-01", "2015-01-15", "2015-01-15T11:00", "2015-01-08/2015-01-14"])


@st.composite
def records(draw):
    text = draw(texts)
    n = len(text)

    def span():
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, n))
        return start, end

    entities = []
    for i in range(draw(st.integers(0, 6))):
        start, end = span()
        etype = draw(st.sampled_from(ONTO.entity_names))
        attrs = {}
        for attr in ONTO.entity_attributes:
            if attr.required or (etype in attr.scope and draw(st.booleans())):
                attrs[attr.name] = draw(st.sampled_from(attr.names))
        e = {"id": f"T{i + 1}", "type": etype, "start": start, "end": end, "text": text[start:end], "attributes": attrs}
        if etype == "TIME":
            e["normalized"] = draw(st.one_of(st.none(), _iso()))
        elif etype == "NUM":
            e["normalized"] = draw(st.one_of(st.none(), st.integers(-5, 10**9)))
        entities.append(e)
    events = []
    for i in range(draw(st.integers(0, 4))):
        start, end = span()
        etype = draw(st.sampled_from(ONTO.event_types))
        attrs = {}
        for attr in ONTO.event_attributes:
            if attr.required or etype.name in attr.scope:
                attrs[attr.name] = draw(st.sampled_from(attr.names))
        args = []
        if entities:
            for _ in range(draw(st.integers(0, 3))):
                ent = draw(st.sampled_from(entities))
                role = draw(st.sampled_from(etype.roles)).name
                arg = {"role": role, "entity": ent["id"], "type": ent["type"]}
                if arg not in args:
                    args.append(arg)
        trigger = {"start": start, "end": end, "text": text[start:end]}
        events.append({"id": f"E{i + 1}", "type": etype.name, "trigger": trigger, "arguments": args, "attributes": attrs})

    def clusters(ids, prefix):
        ids = draw(st.permutations(ids))
        out, i = [], 0
        while len(ids) - i >= 2 and draw(st.booleans()):
            size = draw(st.integers(2, len(ids) - i))
            out.append({"id": prefix + ids[i], "members": list(ids[i:i + size])})
            i += size
        return out

    record = {
        "kind": "annotation",
        "schema_version": ONTO.version,
        "document": "doc-1",
        "annotator": "annotator-1",
        "text_sha256": sha256_text(text),
        "source": {"label_studio_task": 7},
        "entities": entities,
        "events": events,
        "entity_clusters": clusters([e["id"] for e in entities], "C-"),
        "event_clusters": clusters([e["id"] for e in events], "EC-"),
    }
    return text, convert.canonical(record)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records())
def test_records_to_label_studio_and_back_is_lossless(case):
    text, record = case
    wire = json.loads(json.dumps(convert.record_to_results(record), ensure_ascii=True))
    back = convert.results_to_record(wire, text, document="doc-1", annotator="annotator-1", source={"label_studio_task": 7})
    assert back.issues == []
    assert back.record == record


@given(texts)
def test_offsets_are_code_points(text):
    end = len(text)
    results = [{"id": "a", "from_name": "entity", "to_name": "text", "type": "labels",
                "value": {"start": 0, "end": end, "labels": ["PER"]}}]
    got = convert.results_to_record(results, text, document="doc-1", annotator="annotator-1")
    assert got.record["entities"][0]["text"] == text and got.issues == []
    # value.text is never trusted: one that differs from text[start:end] is reported, not converted.
    results[0]["value"]["text"] = text + "x"
    got = convert.results_to_record(results, text, document="doc-1", annotator="annotator-1")
    assert got.record["entities"] == [] and [i.slug for i in got.issues] == ["span-text-mismatch"]


def _label(rid, control, label, start, end):
    return {"id": rid, "from_name": control, "to_name": "text", "type": "labels", "value": {"start": start, "end": end, "labels": [label]}}


def _choice(rid, name, value):
    return {"id": rid, "from_name": name, "to_name": "text", "type": "choices", "value": {"start": 0, "end": 1, "choices": [value]}}


TEXT = "Police raided a flat in Verviers on Thursday."


def _convert(results):
    return convert.results_to_record(results, TEXT, document="doc-1", annotator="annotator-1", task=12, annotation=34)


def test_each_unconvertible_result_is_reported_with_task_and_region():
    results = [
        _label("ok", "entity", "GPE", 24, 32),
        _label("ev", "event", "Raid", 7, 13),
        _label("far", "entity", "GPE", 40, 99),
        _label("odd", "entity", "DRAGON", 0, 6),
        _choice("ghost", "mention", "NAM"),
        _choice("ev", "mention", "NAM"),
        _choice("ok", "mention", "XYZ"),
        {"id": "ok", "from_name": "normalized", "to_name": "text", "type": "textarea", "value": {"text": ["x"]}},
        {"type": "relation", "from_id": "ev", "to_id": "gone", "direction": "right", "labels": ["Place"]},
        {"type": "relation", "from_id": "ev", "to_id": "ok", "direction": "right", "labels": ["coref"]},
        {"type": "relation", "from_id": "ev", "to_id": "ok", "direction": "right", "labels": ["Sidekick"]},
        {"id": "x", "from_name": "rating", "to_name": "text", "type": "rating", "value": {}},
        _label("ok", "entity", "PER", 0, 6),
    ]
    got = _convert(results)
    slugs = {(i.region, i.slug) for i in got.issues}
    assert slugs == {
        ("far", "offset-out-of-range"),
        ("odd", "unknown-label"),
        ("ghost", "choice-without-region"),
        ("ev", "attribute-out-of-scope"),
        ("ok", "unknown-label"),
        ("ok", "attribute-out-of-scope"),
        ("ev->gone", "dangling-reference"),
        ("ev->ok", "bad-relation"),
        ("ev->ok", "unknown-label"),
        ("x", "unknown-result"),
        ("ok", "duplicate-region"),
    }
    assert all(i.task == 12 and i.annotation == 34 for i in got.issues)
    assert set(i.slug for i in got.issues) <= set(SLUGS)
    assert [e["id"] for e in got.record["entities"]] == ["ok"]
    assert got.record["entities"][0]["text"] == "Verviers"


def test_relations_drawn_backwards_still_make_arguments_and_clusters_are_components():
    results = [
        _label("a", "entity", "GPE", 24, 32),
        _label("b", "entity", "FAC", 16, 20),
        _label("c", "entity", "FAC", 0, 6),
        _label("ev", "event", "Raid", 7, 13),
        {"type": "relation", "from_id": "b", "to_id": "ev", "direction": "right", "labels": ["Place"]},
        {"type": "relation", "from_id": "a", "to_id": "c", "direction": "right", "labels": ["coref"]},
        {"type": "relation", "from_id": "c", "to_id": "b", "direction": "left", "labels": ["coref"]},
    ]
    got = _convert(results)
    assert got.issues == []
    assert got.record["events"][0]["arguments"] == [{"role": "Place", "entity": "b", "type": "FAC"}]
    assert got.record["entity_clusters"] == [{"id": "C-c", "members": ["c", "b", "a"]}]


def test_normalized_values_are_checked():
    results = [
        _label("n", "entity", "NUM", 0, 6), _label("t", "entity", "TIME", 36, 44),
        {"id": "n", "from_name": "normalized", "to_name": "text", "type": "textarea", "value": {"text": ["about 3"]}},
        {"id": "t", "from_name": "normalized", "to_name": "text", "type": "textarea", "value": {"text": ["Thursday"]}},
    ]
    got = _convert(results)
    assert sorted(i.slug for i in got.issues) == ["bad-normalized-value", "bad-normalized-value"]
    assert [e["normalized"] for e in got.record["entities"]] == [None, None]


def test_region_ids_that_do_not_fit_the_schema_are_made_to():
    assert convert.record_id("abc-1_X") == "abc-1_X"
    assert convert.record_id("-x9") == "r-x9"
    assert convert.record_id("_a b") == "r_a_b"


def test_export_names_cancelled_and_superseded_annotations_by_id_and_keeps_the_latest_per_annotator():
    ann = lambda i, who, when, cancelled=False: {"id": i, "completed_by": who, "updated_at": when, "was_cancelled": cancelled,
                                                 "result": [_label(f"r{i}", "entity", "GPE", 24, 32)]}
    tasks = [{"id": 1, "data": {"doc_id": "doc-1", "text": TEXT},
              "annotations": [ann(1, 5, "2026-01-01"), ann(2, 5, "2026-02-01"), ann(3, 6, "2026-01-01", True)]},
             {"id": 2, "data": {"text": TEXT}, "annotations": [ann(4, 5, "2026-01-01")]},
             # The same document in a second task, annotated again by the same user (earlier).
             {"id": 3, "data": {"doc_id": "doc-1", "text": TEXT}, "annotations": [ann(5, 5, "2025-12-01")]}]
    got = convert.convert_export(tasks, lambda t, a: f"annotator-{a['completed_by']}")
    assert got.cancelled == [(1, 3)] and got.tasks_without_doc == [2]
    assert sorted((s.task, s.annotation, s.kept_task, s.kept_annotation) for s in got.superseded) == [(1, 1, 1, 2), (3, 5, 1, 2)]
    assert "task=3 annotation=5" in got.superseded[-1].line() or "task=3 annotation=5" in got.superseded[0].line()
    assert [(r["annotator"], r["entities"][0]["id"]) for r in got.records] == [("annotator-5", "r2")]


def test_a_second_label_a_mismatched_value_text_and_two_normalized_values_are_reported_by_region():
    two = _label("r1", "entity", "GPE", 24, 32)
    two["value"]["labels"] = ["GPE", "LOC"]
    shifted = _label("r2", "entity", "GPE", 24, 32)
    shifted["value"]["text"] = TEXT[25:33]
    time = _label("r3", "entity", "TIME", 0, 5)
    values = {"id": "r3", "from_name": "normalized", "to_name": "text", "type": "textarea",
              "value": {"start": 0, "end": 5, "text": ["2015-01-15", "2015-01-16"]}}
    got = convert.results_to_record([two, shifted, time, values], TEXT, document="d", annotator="a", task=7, annotation=9)
    by = {i.region: i for i in got.issues}
    assert by["r1"].slug == "multiple-labels" and repr(TEXT[24:32]) in by["r1"].message
    assert by["r2"].slug == "span-text-mismatch" and repr(TEXT[24:32]) in by["r2"].message
    assert by["r3"].slug == "several-values" and "task=7 annotation=9 region=r3" in by["r3"].line()
    assert [e["id"] for e in got.record["entities"]] == ["r3"] and got.record["entities"][0]["normalized"] is None


def test_convert_writes_records_and_reports_the_ones_that_fail_validation(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from raidcorpus import fileio
    from raidcorpus.cli import app

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    doc = fileio.read_json(sorted(corpus.glob("*.json"))[0])
    start = doc["text"].index(" ") + 1
    end = doc["text"].index(" ", start)
    region = {"id": "r1", "from_name": "entity", "to_name": "text", "type": "labels",
              "value": {"start": start, "end": end, "labels": ["PER"]}}
    tasks = [{"id": 1, "data": {"doc_id": doc["id"], "text": doc["text"], "sha256": doc["sha256"]},
              "annotations": [{"id": 9, "completed_by": 3, "result": [region]},
                              {"id": 10, "completed_by": 4, "result": [region, _choice("r1", "mention", "NAM")]},
                              {"id": 11, "completed_by": 5, "was_cancelled": True, "result": []}]}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    ann = tmp_path / "annotations"
    got = CliRunner().invoke(app, ["convert", str(export), "--annotations", str(ann), "--corpus", str(corpus)])
    assert got.exit_code == 1
    assert "cancelled (skipped): task=1 annotation=11" in got.output
    # annotator-1 (user 3) forgot the required mention level: kept in quarantine, reported as invalid.
    assert "invalid:" in got.output and "annotator-1.json" in got.output and "annotator-2.json" not in got.output.split("invalid:", 1)[1]
    assert (ann / doc["id"] / "quarantine" / "annotator-1.json").exists() and (ann / doc["id"] / "annotator-2.json").exists()
    assert not (ann / doc["id"] / "annotator-1.json").exists()
    assert "@" not in (ann / "annotators.yaml").read_text()


def _export_of_the_corpus(tmp_path):
    """An export of one task per corpus document: clean, superseded, quarantined and cancelled annotations."""
    from pathlib import Path

    from raidcorpus import fileio

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    tasks = []
    seeds = [p for p in sorted(corpus.glob("*.json")) if "-muc" not in p.name]  # the seed articles
    for n, path in enumerate(seeds, 1):
        doc = fileio.read_json(path)
        start = doc["text"].index(" ") + 1
        end = doc["text"].index(" ", start)
        region = {"id": "r1", "from_name": "entity", "to_name": "text", "type": "labels",
                  "value": {"start": start, "end": end, "labels": ["PER"]}}
        good = [region, _choice("r1", "mention", "NAM")]
        tasks.append({"id": n, "data": {"doc_id": doc["id"], "text": doc["text"], "sha256": doc["sha256"]},
                      "annotations": [
                          {"id": 10 * n, "completed_by": 3, "result": good, "updated_at": "2026-01-02"},
                          {"id": 10 * n + 1, "completed_by": 3, "result": [region], "updated_at": "2026-01-01"},  # superseded
                          {"id": 10 * n + 2, "completed_by": 4 + n % 2, "result": [region] if n == 3 else good},
                          {"id": 10 * n + 3, "completed_by": 6, "was_cancelled": True, "result": []}]})
    export = tmp_path / "export.json"
    export.write_text(json.dumps(tasks))
    return export, corpus, tasks


def _convert_cli(export, corpus, ann):
    from typer.testing import CliRunner

    from raidcorpus.cli import app

    got = CliRunner().invoke(app, ["convert", str(export), "--annotations", str(ann), "--corpus", str(corpus)])
    files = {p.relative_to(ann): p.read_bytes() for p in ann.rglob("*") if p.is_file()} if ann.exists() else {}
    return got.exit_code, got.output.replace(str(ann), "ANN"), files


def test_convert_reads_any_layout_of_an_export_and_gzip_alike(tmp_path):
    """Spaced, compact, indented and gzip-compressed exports of the same tasks give the same files and report."""
    import gzip

    _, corpus, tasks = _export_of_the_corpus(tmp_path)
    got = []
    for name, data in (("spaced.json", json.dumps(tasks).encode()),
                       ("compact.json", json.dumps(tasks, separators=(",", ":")).encode()),
                       ("indented.json", json.dumps(tasks, indent=2).encode()),
                       ("zipped.json.gz", gzip.compress(json.dumps(tasks).encode()))):
        export = tmp_path / name
        export.write_bytes(data)
        got.append(_convert_cli(export, corpus, tmp_path / f"{name}-out"))
    assert all(g == got[0] for g in got)
    code, output, files = got[0]
    assert code == 1 and "invalid:" in output and "not converted: task=" in output and "cancelled (skipped)" in output
    assert sum(1 for p in files if p.parent.name != "quarantine" and p.suffix == ".json") == 2 * len(tasks) - 1


def test_a_broken_export_gives_one_line_and_writes_nothing(tmp_path):
    """An export cut short, with a task of the wrong shape, or with bytes after the list stops convert
    with one line pointing into the list, and writes nothing (no record, no pseudonym table)."""
    _, corpus, tasks = _export_of_the_corpus(tmp_path)
    text = json.dumps(tasks)
    wrong = [*tasks[:-1], {**tasks[-1], "annotations": {"not": "a list"}}]
    lines = {}
    for name, data in (("short.json", text[:-40]), ("shape.json", json.dumps(wrong)), ("trailing.json", text + " []")):
        export = tmp_path / name
        export.write_text(data)
        code, output, files = _convert_cli(export, corpus, tmp_path / f"{name}-out")
        assert code != 0 and files == {}, name
        assert output.count("\n") == 1 and name in output, output
        lines[name] = output
    last = len(tasks) - 1
    assert f" /{last}/annotations [wrong-type] task={tasks[last]['id']}:" in lines["shape.json"]
    assert "[trailing-garbage]" in lines["trailing.json"]
