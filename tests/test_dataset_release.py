"""Croissant metadata, the standoff variant, rehydration and publishing (dry run: the Hub is out of reach)."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import mlcroissant as mlc  # noqa: E402
import pytest  # noqa: E402
from datasets import load_dataset  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from raidcorpus import build, release  # noqa: E402
from raidcorpus.cli import app  # noqa: E402
from raidcorpus.features import CONFIGS, STANDOFF_CONFIGS  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "build"
runner = CliRunner()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("rel") / "repo"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root, build.build("0.1.0", root / "dist" / "raid-attack-events", root)


@pytest.mark.parametrize("variant", ["full", "standoff"])
def test_croissant_validates_and_loads_every_record_set(built, variant):
    _, result = built
    folder = result.out if variant == "full" else result.standoff_out
    ds = mlc.Dataset(str(folder / "croissant.json"))
    assert ds.metadata.version == "0.1.0"
    sets = [rs.uuid for rs in ds.metadata.record_sets]
    assert len(sets) == len(result.stats["rows"]["documents"]) * len(CONFIGS if variant == "full" else STANDOFF_CONFIGS)
    for uuid in sets:
        records = list(itertools.islice(ds.records(uuid), 2))
        assert records, f"record set {uuid} yields no record"
        assert all(k.startswith(uuid + "/") for k in records[0])


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
    assert sorted(line.split()[0] for line in lines[:-1]) == ["doc=beta-times-2015-01-16", "doc=gamma-post-2016-03-22"]
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
