"""The built dataset, read back the way researchers read it: load_dataset, offsets, determinism, releases."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import jsonschema  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402
from datasets import load_dataset  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus import ontology  # noqa: E402
from raidcorpus.dataset import build, release, rows, writer  # noqa: E402
from raidcorpus.cli import app  # noqa: E402
from raidcorpus.errors import UserError  # noqa: E402
from raidcorpus.dataset.features import CONFIGS, KEY_CONFIGS, STANDOFF_CONFIGS, for_config, ner_tags  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "build"
runner = CliRunner()


def copy_repo(tmp: Path) -> Path:
    root = tmp / "repo"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = copy_repo(tmp_path_factory.mktemp("build"))
    result = build.build("0.1.0", root / "dist" / "raid-attack-events", root)
    return root, result


def load(folder: Path, config: str, **kw):
    return load_dataset(str(folder), config, **kw)


def test_fixture_files_are_current_and_valid():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_fixtures", FIXTURE / "make_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    validator = jsonschema.Draft202012Validator(ontology.load_schema())
    for rel, content in mod.outputs().items():
        path = FIXTURE / rel
        assert path.read_text(encoding="utf-8") == content, f"{rel} is stale: run tests/data/build/make_fixtures.py"
        if rel.endswith((".json", ".yaml")):
            rec = json.loads(content) if rel.endswith(".json") else yaml.safe_load(content)
            errors = [e.message for e in validator.iter_errors(rec)]
            assert not errors, f"{rel}: {errors[:3]}"


@pytest.mark.parametrize("config", [c for c in CONFIGS if c not in KEY_CONFIGS])  # no MUC keys here: test_muc_keys
def test_every_config_loads_normal_and_streaming(built, config):
    root, result = built
    ds = load(result.out, config)
    assert set(ds) == {"train", "test"}
    assert ds["test"].features == for_config(config)
    assert {s: d.num_rows for s, d in ds.items()} == result.stats["rows"][config]
    streamed = load(result.out, config, streaming=True)
    first = next(iter(streamed["test"]))
    assert first == ds["test"][0]


@pytest.mark.parametrize("config", STANDOFF_CONFIGS)
def test_standoff_configs_load(built, config):
    _, result = built
    ds = load(result.standoff_out, config)
    assert ds["test"].features == for_config(config)
    assert next(iter(load(result.standoff_out, config, streaming=True)["test"])) == ds["test"][0]


def test_spans_slice_to_their_text(built):
    _, result = built
    docs = load(result.out, "documents")
    texts = {}
    checked = 0
    for split in docs.values():
        for row in split:
            text = texts[row["id"]] = row["text"]
            spans = [e for e in row["entities"]] + [v["trigger"] for v in row["events"]]
            for s in spans:
                got = text[s["start"] : s["end"]]
                assert got == s["text"], f"{row['id']} {s['start']}:{s['end']}: text has {got!r}, span says {s['text']!r}"
                checked += 1
    assert checked > 50
    for split in load(result.out, "ner").values():
        for row in split:
            text = texts[row["document"]]
            for tok, a, b in zip(row["tokens"], row["token_starts"], row["token_ends"]):
                assert text[a:b] == tok, f"{row['id']} {a}:{b}: text has {text[a:b]!r}, token is {tok!r}"
    for split in load(result.out, "events").values():
        for row in split:
            for r in row["reports"]:
                ev = r["evidence"]
                got = texts[r["document"]][ev["start"] : ev["end"]]
                assert got == ev["text"], f"{row['id']}: text has {got!r}, evidence says {ev['text']!r}"


def test_references_resolve(built):
    _, result = built
    feats = for_config("documents")
    etype = feats["entities"].feature["type"]
    for split in load(result.out, "documents").values():
        for row in split:
            ents = {e["id"]: e for e in row["entities"]}
            events = {v["id"] for v in row["events"]}
            for v in row["events"]:
                for a in v["arguments"]:
                    assert a["entity_id"] in ents, f"{row['id']} {v['id']}: {a['entity_id']} is not an entity"
                    assert a["entity_type"] == ents[a["entity_id"]]["type"], etype.int2str(a["entity_type"])
            for c in row["entity_clusters"]:
                assert set(c["members"]) <= set(ents)
            for c in row["event_clusters"]:
                assert set(c["members"]) <= events


def test_events_config_reconciles_sources(built):
    _, result = built
    ds = load(result.out, "events")
    rows_ = {r["id"]: r for split in ds.values() for r in split}
    names = ds["test"].features["source"]
    raid = rows_["verviers-raid-2015-01-15"]
    assert names.int2str(raid["source"]) == "cross_document_cluster"
    assert raid["killed"] == 2 and raid["disputed"] == ["killed"]  # sources say 2 and 3: the lower wins
    assert sorted(r["value"] for r in raid["reports"] if r["field"] == "killed") == ["2", "3"]
    assert raid["documents"] == ["alpha-news-2015-01-15", "beta-times-2015-01-16"]
    # E4 of beta is within-document coreferent with the clustered E2: it gets no row of its own.
    assert "beta-times-2015-01-16:E4" not in rows_ and "beta-times-2015-01-16:V1" not in rows_
    assert rows_["alpha-news-2015-01-15:E5"]["injured"] == 0  # "No police officers were hurt"
    assert rows_["beta-times-2015-01-16:E1"]["killed"] == 3  # "three suspects": the NUM inside the victim
    bombing = rows_["brussels-bombings-2016-03-22"]
    assert bombing["perpetrators"] == ["ISIS"] and "Two bombs" in bombing["weapons"]


def test_flat_columns_name_real_roles():
    onto = ontology.load()
    for column, pairs in rows.FLAT_ROLES.items():
        for etype, role in pairs:
            types = onto.event_types if etype == "*" else [onto.event(etype)]
            assert any(t is not None and t.role(role) for t in types), f"{column}: {etype}.{role} not in the schema"
    for figure, (etype, role) in rows.FIGURE_ROLES.items():
        assert onto.event(etype).role(role), figure


def test_ner_outermost_mention_wins(built):
    _, result = built
    ds = load(result.out, "ner")
    tags = ds["train"].features["ner_tags"].feature
    sent = next(r for r in ds["train"] if "killing" in r["tokens"])
    tagged = [(t, tags.int2str(g)) for t, g in zip(sent["tokens"], sent["ner_tags"])]
    # "at least 11 people" (PER) contains "at least 11" (NUM): the outer PER wins.
    assert tagged[tagged.index(("killing", "O")) + 1 :][:4] == [("at", "B-PER"), ("least", "I-PER"), ("11", "I-PER"), ("people", "I-PER")]
    assert rows.outermost([{"id": "a", "start": 0, "end": 5}, {"id": "b", "start": 0, "end": 9}, {"id": "c", "start": 4, "end": 12}]) == [
        {"id": "b", "start": 0, "end": 9}
    ]


def test_two_builds_are_byte_identical(built, tmp_path):
    root, first = built
    again = build.build("0.1.0", tmp_path / "again", root, tmp_path / "again-standoff")
    for a, b in ((first.out, again.out), (first.standoff_out, again.standoff_out)):
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        for rel in files:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), f"{rel} differs between two builds"
    assert release.verify_folder(first.out) == []


def test_changed_content_under_a_released_version_is_refused(tmp_path):
    root = copy_repo(tmp_path)
    out = root / "dist" / "raid-attack-events"
    result = build.build("0.1.0", out, root, make_release=True)
    assert [p.name for p in result.released] == ["0.1.0.sha256", "0.1.0-standoff.sha256"]
    assert (root / "releases" / "0.1.0.sha256").read_bytes() == (out / "MANIFEST.sha256").read_bytes()
    build.build("0.1.0", out, root)  # the same content again is fine
    gold = root / "annotations" / "gamma-post-2016-03-22" / "gold.json"
    rec = json.loads(gold.read_text())
    rec["events"][0]["attributes"]["evidentiality"] = "attributed"
    gold.write_text(json.dumps(rec))
    before = (out / "MANIFEST.sha256").read_bytes()
    with pytest.raises(UserError, match=r"version 0\.1\.0 was released with different content .*file\(s\) differ, first "):
        build.build("0.1.0", out, root)
    assert (out / "MANIFEST.sha256").read_bytes() == before  # the released folder is left alone
    assert build.build("0.2.0", out, root).version == "0.2.0"


def test_cli_refuses_missing_gold_in_one_line(tmp_path):
    root = copy_repo(tmp_path)
    (root / "annotations" / "beta-times-2015-01-16" / "gold.json").unlink()
    res = runner.invoke(app, ["build", "--version", "0.1.0", "--root", str(root), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert res.stderr.strip().splitlines() == [
        "error: annotations/beta-times-2015-01-16/gold.json: document beta-times-2015-01-16 has no gold layer: "
        "adjudicate it ('raidcorpus adjudicate') or leave it out of splits.yaml"
    ]


def test_cli_refuses_bad_versions_and_unsplit_documents(tmp_path):
    root = copy_repo(tmp_path)
    res = runner.invoke(app, ["build", "--version", "1.0", "--root", str(root), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is not X.Y.Z" in res.stderr
    res = runner.invoke(app, ["build", "--version", "3.0.0", "--root", str(root), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "no '## [3.0.0] - YYYY-MM-DD' section" in res.stderr
    splits = yaml.safe_load((root / "splits.yaml").read_text())
    splits["splits"]["test"].remove("beta-times-2015-01-16")
    (root / "splits.yaml").write_text(yaml.safe_dump(splits))
    res = runner.invoke(app, ["build", "--version", "0.1.0", "--root", str(root), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "corpus/beta-times-2015-01-16.json: document beta-times-2015-01-16 is in no split" in res.stderr
    assert "Traceback" not in res.output + res.stderr


def test_broken_span_is_refused(tmp_path):
    root = copy_repo(tmp_path)
    gold = root / "annotations" / "alpha-news-2015-01-15" / "gold.json"
    rec = json.loads(gold.read_text())
    rec["entities"][0]["start"] += 1
    gold.write_text(json.dumps(rec))
    with pytest.raises(UserError, match=r"gold.json doc=alpha-news-2015-01-15 /entities/0/text \[span-text-mismatch\]"):
        build.build("0.1.0", tmp_path / "o", root)


def test_summary_loads_every_config(built):
    _, result = built
    res = runner.invoke(app, ["summary", str(result.out)])
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "documents: 3 rows (train 1, test 2)" in out
    assert "entities: FAC 4, GPE 6, NUM 5, ORG 2, PER 11, TIME 4, VEH 1, WEA 3" in out
    assert "annotators: 9 rows (train 3, test 6)" in out


def test_mentions_read_in_one_line(built):
    """trigger, type, every argument's role and filler text: no join, no int2str."""
    _, result = built
    ds = load(result.out, "mentions")
    docs = {r["id"]: r for split in load(result.out, "documents").values() for r in split}
    all_rows = [r for split in ds.values() for r in split]
    assert len({r["id"] for r in all_rows}) == len(all_rows) == sum(len(d["events"]) for d in docs.values())
    for r in all_rows:
        text = docs[r["document"]]["text"]
        assert text[r["start"] : r["end"]] == r["trigger"]
        assert r["sentence_text"][r["sentence_start"] : r["sentence_end"]] == r["trigger"]
        assert text[r["sentence_offset"] : r["sentence_offset"] + len(r["sentence_text"])] == r["sentence_text"]
        for a in r["arguments"]:
            assert text[a["start"] : a["end"]] == a["text"]
            assert a["entity_id"].startswith(r["document"] + ":")
    arrest = next(r for r in all_rows if r["id"] == "gamma-post-2016-03-22:E5")
    assert (arrest["type"], arrest["trigger"], arrest["status"]) == ("Arrest", "arrested", "actual")
    assert [(a["role"], a["text"]) for a in arrest["arguments"]] == [("Agent", "Police"), ("Person", "Mohamed Abrini"), ("Time", "April")]


def test_entity_mentions_carry_clusters(built):
    _, result = built
    rows_ = [r for split in load(result.out, "entity_mentions").values() for r in split]
    assert len({r["id"] for r in rows_}) == len(rows_)
    for r in rows_:
        assert r["sentence_text"][r["sentence_start"] : r["sentence_end"]] == r["text"]
    clustered = [r for r in rows_ if r["cluster_id"]]
    assert clustered and all(c["cluster_id"].startswith(c["document"] + ":") for c in clustered)


def test_events_rows_have_trigger_and_time(built):
    _, result = built
    rows_ = {r["id"]: r for split in load(result.out, "events").values() for r in split}
    assert all(r["trigger"] for r in rows_.values())
    assert rows_["verviers-raid-2015-01-15"]["mentions"][0]["id"] == "alpha-news-2015-01-15:E1"
    assert rows_["verviers-raid-2015-01-15"]["trigger"] == "raided"
    assert rows_["gamma-post-2016-03-22:E5"]["time"] == "April"
    ids = [m["id"] for r in rows_.values() for m in r["mentions"]]
    assert len(ids) == len(set(ids))

def test_workers_write_the_same_bytes_as_one_process(tmp_path, monkeypatch):
    """Documents converted in parallel chunks, row groups cut across chunk boundaries: same bytes."""
    from raidcorpus import synth

    synth.synth(40, 3, tmp_path / "repo", annotators=2)
    root = tmp_path / "repo"
    monkeypatch.setattr(build, "CHUNK_DOCS", 3)
    monkeypatch.setattr(writer, "BATCH_ROWS", 7)
    one = build.build("0.0.0", tmp_path / "one", root, jobs=1)
    two = build.build("0.0.0", tmp_path / "two", root, jobs=2)
    for a, b in ((one.out, two.out), (one.standoff_out, two.standoff_out)):
        files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
        assert files and files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
        for rel in files:
            assert (a / rel).read_bytes() == (b / rel).read_bytes(), f"{rel} differs between --jobs 1 and 2"
    assert one.stats == two.stats
    # a broken document in a later chunk is reported as the one line a single process reports
    ids = yaml.safe_load((root / "splits.yaml").read_text())["splits"]["train"]
    gold = root / "annotations" / ids[10] / "gold.json"
    rec = json.loads(gold.read_text())
    rec["entities"][0]["start"] += 1
    gold.write_text(json.dumps(rec))
    with pytest.raises(UserError, match=rf"gold.json doc={ids[10]} /entities/0/text \[span-text-mismatch\]"):
        build.build("0.0.0", tmp_path / "bad", root, jobs=2)


def test_documents_of_one_event_never_straddle_a_split(tmp_path):
    root = copy_repo(tmp_path)
    splits = yaml.safe_load((root / "splits.yaml").read_text())
    splits["splits"]["test"].remove("beta-times-2015-01-16")
    splits["splits"]["train"].append("beta-times-2015-01-16")
    (root / "splits.yaml").write_text(yaml.safe_dump(splits))
    with pytest.raises(UserError, match=r"^splits.yaml doc=beta-times-2015-01-16 /splits/train/1 \[split-leak\] .*cluster "
                                        r"'verviers-raid-2015-01-15' with alpha-news-2015-01-15 in split 'test'"):
        build.build("0.1.0", tmp_path / "o", root)


def test_reports_from_documents_of_another_split(tmp_path):
    """A cluster's row is written after its split's documents; a report from a document of another
    split (earlier or later in splits.yaml) is in it all the same, with --jobs 1 and 2."""
    root = copy_repo(tmp_path)
    path = root / "annotations" / "clusters.yaml"
    record = yaml.safe_load(path.read_text())
    by_id = {c["id"]: c for c in record["clusters"]}
    gamma = next(r for r in by_id["brussels-bombings-2016-03-22"]["reports"] if r["document"] == "gamma-post-2016-03-22")
    alpha = next(r for r in by_id["verviers-raid-2015-01-15"]["reports"] if r["document"] == "alpha-news-2015-01-15")
    for cluster, report in (("verviers-raid-2015-01-15", gamma), ("brussels-bombings-2016-03-22", alpha)):
        by_id[cluster]["reports"].append(json.loads(json.dumps(report)))  # gamma: a train document, its cluster in test; alpha: the reverse
    path.write_text(yaml.safe_dump(record, sort_keys=False))
    out = {}
    for jobs in (1, 2):
        result = build.build("0.1.0", tmp_path / f"o{jobs}", root, jobs=jobs)
        ds = load(result.out, "events")
        out[jobs] = {r["id"]: r for split in ds.values() for r in split}
    assert out[1] == out[2]
    verviers, brussels = out[1]["verviers-raid-2015-01-15"], out[1]["brussels-bombings-2016-03-22"]
    assert verviers["reports"][-1]["evidence"]["text"] == gamma["evidence"]["text"]
    assert brussels["reports"][-1]["evidence"]["text"] == alpha["evidence"]["text"]
    assert verviers["killed"] == 2 and brussels["killed"] == 2  # the lowest report wins


def test_clusters_checked_with_what_the_workers_read_give_the_line_one_process_gives(tmp_path, monkeypatch):
    """clusters.yaml is checked beyond its schema with what the workers took of the documents it
    names: a broken one stops the build with the same line as with one process, before any cluster
    row is written."""
    from raidcorpus import synth

    root = tmp_path / "repo"
    synth.synth(40, 3, root, annotators=2)
    monkeypatch.setattr(build, "CHUNK_DOCS", 3)
    path = root / "annotations" / "clusters.yaml"
    record = yaml.safe_load(path.read_text())
    record["clusters"][0]["members"][0]["event"] = "V999"
    path.write_text(yaml.safe_dump(record, sort_keys=False))
    lines = []
    for jobs in (1, 2):
        with pytest.raises(UserError) as e:
            build.build("0.0.0", tmp_path / f"o{jobs}", root, jobs=jobs)
        lines.append(str(e.value))
        assert not (tmp_path / f"o{jobs}").exists()
    assert lines[0] == lines[1]
    assert lines[0].startswith("annotations/clusters.yaml doc=") and "/clusters/0/members/0/event [dangling-reference]" in lines[0]


def _synth_with_clusters(tmp_path, monkeypatch):
    from raidcorpus import synth

    root = tmp_path / "repo"
    synth.synth(40, 3, root, annotators=2)
    monkeypatch.setattr(build, "CHUNK_DOCS", 3)
    path = root / "annotations" / "clusters.yaml"
    return root, path, yaml.safe_load(path.read_text())


def test_the_build_reads_no_clustered_document_twice(tmp_path, monkeypatch):
    """The checks of clusters.yaml take what they read of the documents it names from the main pass
    (checks.ClusterFacts): every corpus record and layer is read once, and only named documents
    send facts back."""
    from collections import Counter
    from raidcorpus import fileio

    root, _, record = _synth_with_clusters(tmp_path, monkeypatch)
    named = {m["document"] for c in record["clusters"] for m in c["members"]} | {
        r["document"] for c in record["clusters"] for r in c.get("reports", [])}
    reads: Counter = Counter()
    for name in ("read_json", "read_record"):
        real = getattr(fileio, name)

        def counted(path, real=real):
            reads[Path(path).relative_to(root).as_posix()] += 1
            return real(path)
        monkeypatch.setattr(fileio, name, counted)
    sent: set = set()
    shard = build._document_shard

    def facts_seen(state, ids):
        out = shard(state, ids)
        sent.update(out.facts)
        return out
    monkeypatch.setattr(build, "_document_shard", facts_seen)
    build.build("0.0.0", tmp_path / "out", root, jobs=1)
    documents = {k: n for k, n in reads.items() if k.startswith(("corpus/", "annotations/synth-"))}
    assert documents and set(documents.values()) == {1}
    assert named and sent == named


def test_a_problem_only_the_report_evidence_shows_stops_the_build_first(tmp_path, monkeypatch):
    """A report whose evidence starts inside a word (found only by the span check the workers make
    where the text is at hand) stops the build with validate's line, for one process and two, before
    any cluster row is written, and before a broken document of a later split is reported."""
    from raidcorpus.checks import check_records

    root, path, record = _synth_with_clusters(tmp_path, monkeypatch)
    cluster = next(i for i, c in enumerate(record["clusters"]) if c.get("reports"))
    report = record["clusters"][cluster]["reports"][0]
    text = json.loads((root / "corpus" / f"{report['document']}.json").read_text())["text"]
    ev = report["evidence"]
    assert text[ev["start"] - 1].isalnum() is False and text[ev["start"] + 1].isalnum()
    ev["start"] += 1
    ev["text"] = text[ev["start"]:ev["end"]]
    path.write_text(yaml.safe_dump(record, sort_keys=False))
    expected = check_records([(str(path), record)], root / "corpus")
    assert [p.slug for p in expected] == ["span-inside-word"]
    last = yaml.safe_load((root / "splits.yaml").read_text())["splits"]["test"][-1]
    gold = root / "annotations" / last / "gold.json"
    broken = json.loads(gold.read_text())
    broken["entities"][0]["start"] += 1
    gold.write_text(json.dumps(broken))
    monkeypatch.setattr(writer.Writer, "add_clusters", lambda *a, **k: pytest.fail("a cluster row before the check"))
    for jobs in (1, 2):
        with pytest.raises(UserError) as e:
            build.build("0.0.0", tmp_path / f"o{jobs}", root, jobs=jobs)
        assert str(e.value) == expected[0].line().replace(str(root) + "/", "", 1)


def test_a_worker_that_dies_is_one_line_and_nothing_is_written(tmp_path, monkeypatch):
    """A worker killed mid-build (the kernel's out-of-memory killer, say) stops the build with one
    line, not a hang or a traceback, and leaves no output folder."""
    import os
    from raidcorpus import synth

    root = tmp_path / "repo"
    synth.synth(40, 3, root, annotators=2)
    monkeypatch.setattr(build, "CHUNK_DOCS", 3)
    parent = os.getpid()
    shard = build._document_shard

    def dies_in_a_worker(state, ids):
        if os.getpid() != parent and ids == sorted(ids) and len(ids) == 3:
            os._exit(9)
        return shard(state, ids)

    monkeypatch.setattr(build, "_document_shard", dies_in_a_worker)
    with pytest.raises(UserError, match=r"^build: a worker process ended without its result"):
        build.build("0.0.0", tmp_path / "out", root, jobs=2)
    assert not (tmp_path / "out").exists() and not (tmp_path / "out-standoff").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["repo"]  # no temporary folder


def test_errors_with_chunks_in_flight_never_hang(tmp_path, monkeypatch):
    """A failure found while many chunks are still queued or running ends the workers cleanly:
    repeated, since a pool that killed its workers (one of them, at times, while it held the lock of
    the result queue) hung on about one run in seven."""
    from raidcorpus import synth

    root = tmp_path / "repo"
    synth.synth(40, 3, root, annotators=2)
    monkeypatch.setattr(build, "CHUNK_DOCS", 3)
    ids = yaml.safe_load((root / "splits.yaml").read_text())["splits"]["train"]
    gold = root / "annotations" / ids[10] / "gold.json"
    rec = json.loads(gold.read_text())
    rec["entities"][0]["start"] += 1
    gold.write_text(json.dumps(rec))
    for i in range(24):
        with pytest.raises(UserError, match=r"\[span-text-mismatch\]"):
            build.build("0.0.0", tmp_path / f"o{i}", root, jobs=2)


def test_the_one_row_encoder_names_the_row_and_value_it_refuses():
    """Rows added one by one and a run of rows go through one encoder: same table, and a class
    name or a type the schema refuses is one line naming the config, the row and the value."""
    enc = writer.Encoder("ner")
    row = {"id": "d-0", "document": "d", "sentence": 0, "tokens": ["Police", "raid"], "token_starts": [0, 7],
           "token_ends": [6, 11], "ner_tags": ["B-ORG", "O"]}
    table = enc.table([row, {**row, "id": "d-1", "ner_tags": None}])
    assert table.column("ner_tags").to_pylist() == [[ner_tags().index("B-ORG"), 0], None]
    assert enc.table([row]).to_pylist() == table.slice(0, 1).to_pylist()
    bad = {**row, "id": "d-2", "ner_tags": ["O", "B-NOPE"]}
    with pytest.raises(UserError, match=r"^ner row d-2: value 'B-NOPE' is not one the schema allows: run 'raidcorpus validate'$"):
        enc.table([row, bad])
    with pytest.raises(UserError, match=r"^ner row d-3: value .* is not one the schema allows"):
        enc.table([row, {**row, "id": "d-3", "sentence": "first"}])
