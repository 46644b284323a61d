"""--schema: every command reads the schema it is given (the ontology with it), and a schema it
cannot use is refused in one addressed line. The package's copy of the schema is the repository's."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from raidcorpus import ontology

ROOT = Path(__file__).resolve().parents[1]


def cli(*args, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "raidcorpus.cli", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_packaged_schema_is_the_repositorys():
    assert ontology.SCHEMA_PATH.read_bytes() == (ROOT / ontology.SCHEMA_SOURCE).read_bytes(), \
        "src/raidcorpus/data/raidcorpus.schema.json differs from schema/: run `raidcorpus docs`"
    assert ontology.SCHEMA_PATH == (ROOT / ontology.SCHEMA_PACKAGED).resolve() or not (ROOT / "src").is_dir()


def test_a_stale_packaged_copy_fails_docs_check_and_docs_rewrites_it(tmp_path):
    for name in ("GUIDELINES.md", "DATASHEET.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("schema", "docs", "corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw"))
    copy = tmp_path / ontology.SCHEMA_PACKAGED
    copy.parent.mkdir(parents=True)
    copy.write_bytes((ROOT / ontology.SCHEMA_SOURCE).read_bytes().replace(b'"const": "Raid"', b'"const": "Raids"', 1))
    proc = cli("docs", "--check", "--root", tmp_path)
    assert proc.returncode == 1 and str(ontology.SCHEMA_PACKAGED) in proc.stderr, proc.stdout + proc.stderr
    proc = cli("docs", "--root", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert copy.read_bytes() == (ROOT / ontology.SCHEMA_SOURCE).read_bytes()


def _write(path: Path, value) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def _schema_without(*parts) -> dict:
    schema = json.loads(ontology.SCHEMA_PATH.read_text(encoding="utf-8"))
    node = schema
    for p in parts[:-1]:
        node = node[p]
    del node[parts[-1]]
    return schema


def _schema_with(value, *parts) -> dict:
    schema = json.loads(ontology.SCHEMA_PATH.read_text(encoding="utf-8"))
    node = schema
    for p in parts[:-1]:
        node = node[p]
    node[parts[-1]] = value
    return schema


@pytest.mark.parametrize("content, slug, where", [
    ("", "invalid-json", "/"),
    ("[1, 2]", "bad-schema", "/"),
    ({"type": 12}, "bad-schema", "/type"),
    ({"title": "t", "x-raidcorpus-version": "1", "$defs": {"EntityType": {"oneOf": []}}}, "bad-schema", "/$defs/EntityType/oneOf"),
    ({"title": "t", "x-raidcorpus-version": "1", "$defs": {"EntityType": {"oneOf": [{"const": "PER"}]}}}, "bad-schema", "/$defs"),
    (_schema_without("$defs", "roles_Die"), "bad-schema", "/$defs/roles_Die"),
    (_schema_without("$defs", "EventType", "oneOf"), "bad-schema", "/$defs/EventType"),
    (_schema_without("x-raidcorpus-version"), "bad-schema", "/"),
    (_schema_with({"$ref": "#/$defs/Nowhere"}, "$defs", "Document", "properties", "id"), "bad-schema", "/"),
    (_schema_with("[", "$defs", "Id", "pattern"), "bad-schema", "/$defs/Id/pattern"),
    (_schema_with("https://example.org/elsewhere.json", "$ref"), "bad-schema", "/"),  # never fetched
    (_schema_with({}, "$defs", "args_Die", "allOf", 0, "then"), "bad-schema", "/$defs"),
])
def test_an_unusable_schema_is_one_addressed_line_and_exit_1(tmp_path, content, slug, where):
    schema = _write(tmp_path / "mine.schema.json", content)
    for args in (["validate", ROOT / "corpus"], ["ls-config", "--out", tmp_path / "config.xml"], ["agree"]):
        proc = cli("--schema", schema, *args, cwd=tmp_path)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
        assert proc.stderr.splitlines() == [proc.stderr.strip()], proc.stderr
        assert proc.stderr.startswith(f"error: {schema} doc=- {where} [{slug}] "), proc.stderr
    assert not (tmp_path / "config.xml").exists()


def test_a_missing_schema_file_is_one_line(tmp_path):
    proc = cli("--schema", tmp_path / "nowhere.json", "validate", cwd=tmp_path)
    assert proc.returncode == 1 and "[unreadable-file]" in proc.stderr and len(proc.stderr.splitlines()) == 1, proc.stderr
    proc = cli("validate", cwd=tmp_path, env={**__import__("os").environ, "RAIDCORPUS_SCHEMA": str(tmp_path)})
    assert proc.returncode == 1 and f"error: {tmp_path} doc=- / [unreadable-file]" in proc.stderr, proc.stderr


def test_the_given_schema_is_the_one_every_part_reads(tmp_path):
    """An entity type added to a copy of the schema reaches the config, the validator and the
    ontology tables; without --schema the packaged one is back."""
    schema = json.loads(ontology.SCHEMA_PATH.read_text(encoding="utf-8"))
    schema["$defs"]["EntityType"]["oneOf"].append({"const": "SHIP", "description": "A ship.", "examples": ["the ferry"]})
    mine = _write(tmp_path / "ships.schema.json", schema)
    assert cli("--schema", mine, "ls-config", "--out", tmp_path / "ships.xml", cwd=tmp_path).returncode == 0
    assert 'value="SHIP"' in (tmp_path / "ships.xml").read_text(encoding="utf-8")
    assert cli("ls-config", "--out", tmp_path / "plain.xml", cwd=tmp_path).returncode == 0
    assert 'value="SHIP"' not in (tmp_path / "plain.xml").read_text(encoding="utf-8")
    layer = json.loads(next((ROOT / "annotations").glob("*/annotator-1.json")).read_text(encoding="utf-8"))
    layer["entities"][0]["type"] = "SHIP"
    for arg in [a for e in layer["events"] for a in e["arguments"] if a["entity"] == layer["entities"][0]["id"]]:
        arg["type"] = "SHIP"
    path = _write(tmp_path / "layer.json", layer)
    plain = cli("validate", path, "--level", "1", cwd=tmp_path)
    assert plain.returncode == 1 and "[unknown-type]" in plain.stdout, plain.stdout
    ships = cli("--schema", mine, "validate", path, "--level", "1", cwd=tmp_path)
    assert "[unknown-type]" not in ships.stdout, ships.stdout
