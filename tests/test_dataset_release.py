"""Croissant metadata, the standoff variant, rehydration and publishing (dry run: the Hub is out of reach)."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import json  # noqa: E402

import mlcroissant as mlc  # noqa: E402
import yaml  # noqa: E402
import pytest  # noqa: E402
from datasets import load_dataset  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus.dataset import build, release  # noqa: E402
from raidcorpus.cli import app  # noqa: E402
from raidcorpus.errors import UserError  # noqa: E402
from raidcorpus.dataset.features import CONFIGS, KEY_CONFIGS, STANDOFF_CONFIGS  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "build"
runner = CliRunner()


@pytest.fixture(scope="module")
def built(fixture_build):
    return fixture_build


@pytest.mark.parametrize("variant", ["full", "standoff"])
def test_croissant_validates_and_loads_every_record_set(built, variant):
    _, result = built
    folder = result.out if variant == "full" else result.standoff_out
    ds = mlc.Dataset(str(folder / "croissant.json"))
    assert ds.metadata.version == "0.1.0"
    sets = [rs.uuid for rs in ds.metadata.record_sets]
    written = [c for c in CONFIGS if c not in KEY_CONFIGS] if variant == "full" else STANDOFF_CONFIGS  # no MUC keys here
    assert len(sets) == len(result.stats["rows"]["documents"]) * len(written)
    first = {}
    for uuid in sets:
        records = list(itertools.islice(ds.records(uuid), 2))
        assert records, f"record set {uuid} yields no record"
        assert all(k.startswith(uuid + "/") for k in records[0])
        first[uuid] = records[0]
    # nested fields come out as lists of records, in the order of the Parquet rows
    docs = load_dataset(str(folder), "documents")["test"][0]
    ents = first["documents-test"]["documents-test/entities"]
    assert [e["documents-test/entities/start"] for e in ents] == [e["start"] for e in docs["entities"]]
    assert [e["documents-test/entities/type"] for e in ents] == [e["type"] for e in docs["entities"]]
    events = first["documents-test"]["documents-test/events"]
    assert [v["documents-test/events/trigger.start"] for v in events] == [v["trigger"]["start"] for v in docs["events"]]
    # lists inside the entries: cluster members, provenance annotators
    clusters = first["documents-test"]["documents-test/entity_clusters"]
    assert [[m.decode() for m in c["documents-test/entity_clusters/members"]] for c in clusters] == [c["members"] for c in docs["entity_clusters"]]
    assert [[a.decode() for a in e["documents-test/entities/provenance.annotators"]] for e in ents] == [
        e["provenance"]["annotators"] for e in docs["entities"]]
    crois = json.loads((folder / "croissant.json").read_text(encoding="utf-8"))
    licenses = crois["license"] if isinstance(crois["license"], list) else [crois["license"]]  # one is written as a string
    assert licenses[0] == "https://creativecommons.org/licenses/by/4.0/" and len(licenses) == (2 if variant == "full" else 1)
    assert all(url.startswith("https://") for url in licenses)
    if variant == "full":
        mention = load_dataset(str(folder), "mentions")["test"][0]
        args = first["mentions-test"]["mentions-test/arguments"]
        assert [a["mentions-test/arguments/role"].decode() for a in args] == [a["role"] for a in mention["arguments"]]
        ner = load_dataset(str(folder), "ner")["test"][0]
        assert [t.decode() for t in first["ner-test"]["ner-test/tokens"]] == ner["tokens"]
        assert list(first["ner-test"]["ner-test/ner_tags"]) == ner["ner_tags"]


@pytest.mark.parametrize("variant", ["full", "standoff"])
def test_card_and_croissant_name_the_repository_and_no_placeholder(built, variant, tmp_path):
    root, result = built
    folder = result.out if variant == "full" else result.standoff_out
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".md", ".json", ".sha256"):
            assert "OWNER" not in path.read_text(encoding="utf-8"), f"{path.name} holds a placeholder"
    repo = "raidcorpus/raid-attack-events" + ("-standoff" if variant == "standoff" else "")
    card = (folder / "README.md").read_text(encoding="utf-8")
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta["annotations_creators"] == ["machine-generated"] and meta["language_creators"] == ["found"]
    assert meta["source_datasets"] == ["original"]
    if variant == "full":
        assert meta["license"] == "other" and meta["license_link"] == "LICENSE.md" and (folder / "LICENSE.md").is_file()
    else:
        assert meta["license"] == "cc-by-4.0"
    assert "AI language-model agents" in card
    assert f"url          = {{https://huggingface.co/datasets/{repo}}}" in card and "author       = {{" in card
    for config in meta["configs"]:
        assert f"### `{config['config_name']}`\n\n```json\n{{" in card, config["config_name"]
    crois = json.loads((folder / "croissant.json").read_text(encoding="utf-8"))
    assert crois["url"] == f"https://huggingface.co/datasets/{repo}"
    # one setting names the repository everywhere
    other = build.build("0.1.0", tmp_path / "o", root, repo="example-org/raid-attack-events")
    target = other.out if variant == "full" else other.standoff_out
    text = (target / "README.md").read_text(encoding="utf-8") + (target / "croissant.json").read_text(encoding="utf-8")
    assert "raidcorpus/raid-attack-events" not in text and "example-org/raid-attack-events" in text
    with pytest.raises(UserError, match="expected OWNER/NAME"):
        build.build("0.1.0", tmp_path / "p", root, repo="no-slash")


def test_standoff_holds_no_article_text(built):
    root, result = built
    texts = [load_dataset(str(result.out), "documents")[s]["text"] for s in ("train", "test")]
    texts = [t for split in texts for t in split]

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ("title", "field"):  # headlines are kept to find the article; field names are ours
                    yield from strings(v)
        elif isinstance(value, list):
            for v in value:
                yield from strings(v)

    checked = 0
    for config in ("documents", "annotators", "clusters"):
        for split in load_dataset(str(result.standoff_out), config).values():
            for row in split:
                for s in strings(row):
                    checked += 1
                    if len(s) >= 6 and not s.isdigit():
                        assert not any(s in t for t in texts), f"standoff {config} holds article text {s!r}"
    assert checked > 100
    readme = (result.standoff_out / "README.md").read_text()
    assert "Two suspects were killed" not in readme and "rehydrate" in readme


def test_rehydrate_round_trip_is_byte_identical(built, tmp_path):
    root, result = built
    texts = tmp_path / "mine"
    texts.mkdir()
    # The user's copies: one corpus record, two plain text files with other names.
    shutil.copy(root / "corpus" / "alpha-news-2015-01-15.json", texts)
    for doc in ("beta-times-2015-01-16", "gamma-post-2016-03-22"):
        import json

        text = json.loads((root / "corpus" / f"{doc}.json").read_text())["text"]
        (texts / f"article-{doc[:4]}.txt").write_bytes(text.encode("utf-8"))
    res = runner.invoke(app, ["rehydrate", str(result.standoff_out), str(texts), "--out", str(tmp_path / "full")])
    assert res.exit_code == 0, res.stderr
    assert "3 documents" in res.stdout
    assert release.read_manifest(tmp_path / "full") == release.read_manifest(result.out)
    for rel in release.read_manifest(result.out):
        assert (tmp_path / "full" / rel).read_bytes() == (result.out / rel).read_bytes(), rel


def test_rehydrate_from_the_raw_texts_of_the_repository(tmp_path):
    """From the texts as published (site furniture and embedded posts included), which is what a user
    saves: the NBC and Schaerbeek articles differ from the dataset's cleaned texts, yet all three match;
    and the MUC-3/4 messages from NIST's files as distributed (100 messages a file, id lines in)."""
    root = Path(__file__).resolve().parents[1]
    version = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (root / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)
    out = tmp_path / "built"
    result = build.build(version, out / "full", root, standoff_out=out / "standoff")
    mine = tmp_path / "raw"
    mine.mkdir()
    differ = 0
    for path in sorted((root / "corpus").glob("*.json")):
        rec = json.loads(path.read_text(encoding="utf-8"))
        if "muc" not in rec:
            differ += rec["raw_text"] != rec["text"]
            (mine / f"{rec['source_file']}").write_text(rec["raw_text"], encoding="utf-8", newline="")
    assert differ == 2
    nist = root / "sources" / "muc34" / "TASK" / "CORPORA"
    res = runner.invoke(app, ["rehydrate", str(result.standoff_out), str(mine), str(nist), "--out", str(tmp_path / "again")])
    assert res.exit_code == 0, res.stderr
    key_configs = ("templates/", "ree/")  # made from the MUC keys: not in the standoff variant (docs/dataset.md)
    listing = ("README.md", "croissant.json", "release.json")  # they list the configs, so they differ by those two
    remade = [rel for rel in release.read_manifest(result.out) if not rel.startswith(key_configs) and rel not in listing]
    assert any(rel.startswith("documents/") for rel in remade)
    for rel in remade:
        assert (tmp_path / "again" / rel).read_bytes() == (result.out / rel).read_bytes(), rel
    assert not any((tmp_path / "again" / c).exists() for c in key_configs)


def test_rehydrate_refuses_a_changed_text_one_line_each(built, tmp_path):
    root, result = built
    import json

    mine = tmp_path / "mine"
    mine.mkdir()
    for doc in ("alpha-news-2015-01-15", "beta-times-2015-01-16", "gamma-post-2016-03-22"):
        text = json.loads((root / "corpus" / f"{doc}.json").read_text())["text"]
        if doc != "alpha-news-2015-01-15":
            text = text.replace("Thursday", "Friday").replace("Tuesday", "Monday")
        (mine / f"{doc}.txt").write_text(text, encoding="utf-8", newline="")
    out = tmp_path / "full"
    res = runner.invoke(app, ["rehydrate", str(result.standoff_out), str(mine), "--out", str(out)])
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-1] == "error: 2 problem(s): nothing written"
    assert sorted(line.split()[1] for line in lines[:-1]) == ["doc=beta-times-2015-01-16", "doc=gamma-post-2016-03-22"]
    assert all(line.split()[0].endswith(".parquet") for line in lines[:-1])  # each line names the file it is about
    assert all("[text-hash-mismatch]" in line for line in lines[:-1])
    assert not out.exists()


def test_rehydrate_refuses_a_tampered_standoff(built, tmp_path):
    _, result = built
    copy = tmp_path / "standoff"
    shutil.copytree(result.standoff_out, copy)
    with open(copy / "documents" / "test-00000-of-00001.parquet", "ab") as f:
        f.write(b"x")
    res = runner.invoke(app, ["rehydrate", str(copy), str(FIXTURE / "corpus"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "documents/test-00000-of-00001.parquet: changed since the manifest was written" in res.stderr


def test_publish_dry_run_lists_files_sizes_hashes_and_tag(built):
    _, result = built
    res = runner.invoke(app, ["publish", "--repo", "raidcorpus/raid-attack-events", "--dir", str(result.out), "--dry-run"])
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:2] == ["repository: raidcorpus/raid-attack-events (dataset)", "tag: v0.1.0"]
    manifest = release.read_manifest(result.out)
    listed = {line.split()[2]: (line.split()[0], int(line.split()[1])) for line in lines[2:-2]}
    assert set(listed) == set(manifest) | {"MANIFEST.sha256"}
    for rel, digest in manifest.items():
        assert listed[rel] == (digest, (result.out / rel).stat().st_size)
    assert lines[-1] == "dry run: nothing uploaded"


def test_publish_refuses_bad_repo_and_changed_folder(built, tmp_path):
    _, result = built
    res = runner.invoke(app, ["publish", "--repo", "no-owner", "--dir", str(result.out), "--dry-run"])
    assert res.exit_code == 2 and "expected OWNER/NAME" in res.stderr
    copy = tmp_path / "f"
    shutil.copytree(result.out, copy)
    (copy / "README.md").write_text("edited by hand\n")
    res = runner.invoke(app, ["publish", "--repo", "a/b", "--dir", str(copy), "--dry-run"])
    assert res.exit_code == 1 and "README.md: changed since the manifest was written" in res.stderr


def test_publish_without_network_fails_in_one_line(built):
    _, result = built
    res = runner.invoke(app, ["publish", "--repo", "a/b", "--dir", str(result.out)])
    assert res.exit_code == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "a/b: the Hub refused or could not be reached" in res.stderr


def test_the_card_takes_the_dataset_part_of_a_changelog_section():
    section = "Dataset:\n- new documents\n\nCode:\n- a faster reader"
    assert release.dataset_notes(section) == "- new documents"
    assert release.dataset_notes("Code:\n- only code") == ""
    assert release.dataset_notes("- no parts") == "- no parts"


def test_a_code_note_leaves_the_release_manifests_alone(built, tmp_path):
    """Notes under Code: change no released byte; a line under Dataset: does."""
    root, first = built
    manifest = (first.out / release.MANIFEST).read_text(encoding="utf-8")
    changelog = root / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    notes = "- Fixture: first version.\n"
    assert notes in text
    try:
        changelog.write_text(text.replace(notes, f"Dataset:\n{notes}\nCode:\n- a code change\n"), encoding="utf-8")
        code = build.build("0.1.0", tmp_path / "code", root)
        assert (code.out / release.MANIFEST).read_text(encoding="utf-8") == manifest
        changelog.write_text(text.replace(notes, f"Dataset:\n{notes}- a dataset change\n"), encoding="utf-8")
        data = build.build("0.1.0", tmp_path / "data", root)
        assert (data.out / release.MANIFEST).read_text(encoding="utf-8") != manifest
    finally:
        changelog.write_text(text, encoding="utf-8")
