"""Bad input to any command: one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VALID = Path(__file__).parent / "valid"


def run(args, cwd, env=None):
    return subprocess.run(
        [sys.executable, "-m", "raidcorpus.cli", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=120,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def repo(tmp_path):
    """A small repository: the valid fixture corpus and one annotator layer."""
    shutil.copytree(VALID / "corpus", tmp_path / "corpus")
    shutil.copytree(VALID / "annotations", tmp_path / "annotations")
    return tmp_path


def cases(repo: Path):
    (repo / "empty.json").write_bytes(b"")
    (repo / "notgzip.json.gz").write_bytes(b"plain text")
    (repo / "numbers.json").write_text("[1, 2]")
    (repo / "bad.jsonl").write_text('{"text": "ok"}\n{"text": \n')
    (repo / "broken.yaml").write_text("kind: sources\narticles: [\n")
    layer = repo / "annotations" / "tiny-doc" / "annotator-1.json"
    other = layer.with_name("annotator-2.json")
    other.write_bytes(layer.read_bytes().replace(b"Police", b"Poli\xe7e"))
    (repo / "lonely").mkdir()
    (repo / "dist").write_text("a file where the build wants a folder")
    return {
        "convert-empty": (["convert", "empty.json"], "[empty-file]", {}),
        "convert-not-gzip": (["convert", "notgzip.json.gz"], "[unreadable-file]", {}),
        "convert-not-an-export": (["convert", "numbers.json"], "not a Label Studio JSON export", {}),
        "ingest-bad-jsonl": (["ingest", "bad.jsonl", "--out", "corpus2"], "[invalid-json]", {}),
        "ingest-missing-source": (["ingest", "no-such.txt", "--out", "corpus2"], "[unreadable-file]", {}),
        "ingest-broken-metadata": (["ingest", "bad.jsonl", "--metadata", "broken.yaml"], "[invalid-yaml]", {}),
        "agree-non-utf8-layer": (["agree"], "[not-utf8]", {}),
        "validate-corpus-missing": (["validate", "annotations", "--corpus", "nope"], "no corpus folder at nope", {}),
        "build-out-unwritable": (["build", "--version", "0.1.0", "--root", str(ROOT), "--out", "dist/x"], "error:", {}),
    }


CASE_NAMES = [
    "convert-empty", "convert-not-gzip", "convert-not-an-export", "ingest-bad-jsonl", "ingest-missing-source",
    "ingest-broken-metadata", "agree-non-utf8-layer", "validate-corpus-missing", "build-out-unwritable",
]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_one_line_and_nonzero_exit(repo, name):
    args, expected, env = cases(repo)[name]
    proc = run(args, repo, env)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "Traceback" not in output, output
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), output
    assert expected in errors[0], output


def test_publish_to_an_unreachable_hub_is_one_line(fixture_build):
    """A built, verified folder, so that publish gets as far as the network, which is not there."""
    root, built = fixture_build
    env = {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "HF_TOKEN": "not-a-real-token", "HF_HUB_OFFLINE": "0"}
    dry = run(["publish", "--repo", "owner/name", "--dir", built.out, "--dry-run"], root, env)
    assert dry.returncode == 0, dry.stdout + dry.stderr  # the folder itself is fine
    proc = run(["publish", "--repo", "owner/name", "--dir", built.out], root, env)
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode != 0 and "Traceback" not in proc.stdout + proc.stderr
    assert len(errors) == 1 and errors[0].startswith("error: owner/name: the Hub refused or could not be reached"), proc.stderr


def test_validate_with_nothing_to_validate_fails(tmp_path):
    proc = run(["validate"], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: nothing to validate")
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "note.txt").write_text("not a record")
    proc = run(["validate"], tmp_path)
    assert proc.returncode == 1 and "no record files" in proc.stderr


def test_agree_names_an_annotator_without_layers(repo):
    proc = run(["agree", "--annotators", "annotator-1,annotator-9"], repo)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: no annotation layers for annotator-9 (layers found: annotator-1)"


@pytest.mark.parametrize(
    "content,expected",
    [
        ("kind: decisions\ndecisions: [\n", "[invalid-yaml] did not find expected node content at line 3 column 1"),
        ("", "[empty-file]"),
    ],
)
def test_adjudicate_names_a_broken_decisions_file(repo, content, expected):
    second = repo / "annotations" / "tiny-doc" / "annotator-2.json"
    second.write_bytes((repo / "annotations" / "tiny-doc" / "annotator-1.json").read_bytes().replace(b"annotator-1", b"annotator-2"))
    (repo / "d.yaml").write_text(content)
    proc = run(["adjudicate", "--decisions", "d.yaml", "--check"], repo)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    assert f"d.yaml doc=- / {expected}" in proc.stdout + proc.stderr


# -- wrong-typed fields: every field a command reads, checked where it is read -------------------

LINE = '{"text": "Police raided a flat in Verviers.", %s}\n'


@pytest.mark.parametrize(
    "field, expected",
    [
        ('"title": 5', "/title [wrong-type]"),
        ('"title": 1000000000000000000000000000000', "/title [wrong-type]"),  # orjson: too large for an int, a float
        ('"title": ' + "9" * 400, "/ [invalid-json] number is infinity"),
        ('"title": ["a"]', "/title [wrong-type]"),
        ('"inferred": "a guess"', "/inferred [wrong-type]"),
        ('"inferred": {"title": 5}', "/inferred/title [wrong-type]"),
        ('"language": {}', "/language [wrong-type]"),
        ('"published": true', "/published [schema-mismatch]"),
        ('"id": 12', "/id [wrong-type]"),
        ('"titel": "a typo"', "/ [unknown-field]"),
    ],
)
def test_ingest_of_a_wrong_typed_json_lines_field(tmp_path, field, expected):
    (tmp_path / "a.jsonl").write_text(LINE % field, encoding="utf-8")
    proc = run(["ingest", "a.jsonl", "--out", "corpus"], tmp_path)
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(errors) == 1, proc.stdout + proc.stderr
    assert errors[0].startswith(f"error: a.jsonl:1 doc=- {expected}"), errors
    assert not (tmp_path / "corpus").exists()


@pytest.mark.parametrize(
    "value, expected",
    [
        ("published: 2015-13-45", "/articles/0/published [bad-time]"),  # a YAML date the parser itself refused
        ("title: !!binary aGVsbG8=", "/ [wrong-type] a !!binary value"),
        ("title: 2015-01-15 10:00:00", None),  # a YAML timestamp is the text it is written as
        ("on: x", "/ [wrong-type] a mapping key must be text"),
        ("title: [a]", "/articles/0/title [wrong-type]"),
    ],
)
def test_ingest_with_wrong_typed_yaml_metadata(tmp_path, value, expected):
    (tmp_path / "src").mkdir()
    article = tmp_path / "src" / "a.txt"
    article.write_text("Raid in Verviers\n\nPolice raided a flat in Verviers.\n", encoding="utf-8")
    sha = hashlib.sha256(article.read_bytes()).hexdigest()
    (tmp_path / "s.yaml").write_text(f"kind: sources\nschema_version: '1.0'\narticles:\n  - file: a.txt\n    raw_sha256: {sha}\n    {value}\n")
    proc = run(["ingest", "src", "--metadata", "s.yaml", "--out", "corpus"], tmp_path)
    if expected is None:
        assert proc.returncode == 0, proc.stderr
        return
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert errors[0].startswith(f"error: s.yaml doc=- {expected}"), errors


def test_adjudicate_of_a_decision_key_with_a_negative_start(repo):
    second = repo / "annotations" / "tiny-doc" / "annotator-2.json"
    second.write_bytes((repo / "annotations" / "tiny-doc" / "annotator-1.json").read_bytes().replace(b"annotator-1", b"annotator-2"))
    (repo / "d.yaml").write_text("kind: decisions\nschema_version: '1.0'\ndocument: tiny-doc\ndecisions:\n"
                                 "- {id: d1, item: 'entity:PER:-5-3', action: add, reason: a negative start}\n")
    proc = run(["adjudicate", "--decisions", "d.yaml"], repo)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("d.yaml doc=tiny-doc /decisions/0/item [bad-item-key] 'entity:PER:-5-3': the span '-5-3'"), lines
    assert lines[1:] == ["error: 0 undecided items, 1 problems, 0 stale gold layers"]
    assert not (repo / "annotations" / "tiny-doc" / "gold.json").exists()


@pytest.mark.parametrize("where, value", [("labels", [[]]), ("labels", [5]), ("choices", [{"a": 1}])])
def test_convert_of_an_export_with_a_label_that_is_not_a_name(tmp_path, where, value):
    export = json.loads(gzip.decompress(sorted((ROOT / "annotations" / "raw").glob("*.json.gz"))[0].read_bytes()))
    result = next(r for r in export[0]["annotations"][0]["result"] if where in (r.get("value") or {}))
    result["value"][where] = value
    (tmp_path / "e.json").write_text(json.dumps(export), encoding="utf-8")
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    proc = run(["convert", "e.json", "--annotations", "ann", "--corpus", "corpus"], tmp_path)
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(errors) == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert f"/value/{where}/0 [wrong-type] task={export[0]['id']}: " in errors[0], errors
    assert not (tmp_path / "ann").exists()
