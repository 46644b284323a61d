"""Every command, fed broken records, stops with one addressed line and a non-zero exit: never a traceback.

A small synthetic project (corpus, two annotator layers and gold per document, decisions, clusters,
splits) and a dataset built from it are made once; each example copies them, breaks one file in one
way (a key dropped, a value of another type, offsets moved, the file replaced by binary, empty,
truncated or another kind of record) and runs one command in-process.
"""

from __future__ import annotations

import gzip
import re
import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from raidcorpus import synth
from raidcorpus.cli import app
from raidcorpus.ontology import load_schema

ROOT = Path(__file__).resolve().parents[1]
RAW = sorted((ROOT / "annotations" / "raw").glob("*.json.gz"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """The synthetic project, a dataset built from it, and a Label Studio export with its corpus."""
    base = tmp_path_factory.mktemp("mutations")
    project = base / "project"
    synth.synth(2, 3, project, 2, 1)
    result = CliRunner().invoke(app, ["build", "--version", "0.0.0", "--root", str(project), "--out", str(base / "built" / "full")])
    assert result.exit_code == 0, result.output
    shutil.copytree(ROOT / "corpus", base / "ls" / "corpus")
    (base / "ls" / "export.json").write_bytes(gzip.decompress(RAW[0].read_bytes()))
    return base


# -- mutations -----------------------------------------------------------------------------------


def _paths(node, prefix=()):
    """Every (path, value) inside a JSON value."""
    yield prefix, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _parent(record, path):
    node = record
    for p in path[:-1]:
        node = node[p]
    return node


OTHER_TYPES = [None, True, -1, 10**9, "", "x", [], {}, 1.5, [1, "a"], {"a": None}]
BROKEN_BYTES = [b"", b"\x00\xff\xfe binary \x89PNG", b"{", b"[1, 2]", b"null", b"\xe7t\xe9", b"{}", b'{"kind": "splits"}',
                b"kind: [\n", b"- a\n- b\n", b"\x1f\x8b\x08\x00garbage"]


@st.composite
def mutation(draw, record):
    """(description, new bytes) for one record: a structural change or a broken file."""
    kind = draw(st.sampled_from(["drop", "retype", "offset", "bytes", "truncate", "swap"]))
    if kind == "bytes":
        data = draw(st.sampled_from(BROKEN_BYTES))
        return f"bytes {data[:12]!r}", data
    text = json.dumps(record)
    if kind == "truncate":
        cut = draw(st.integers(0, max(0, len(text) - 1)))
        return f"truncated at {cut}", text[:cut].encode()
    if kind == "swap":
        other = draw(st.sampled_from(["document", "annotation", "decisions", "splits", "event_clusters", "sources"]))
        return f"kind -> {other}", json.dumps({**record, "kind": other} if isinstance(record, dict) else {"kind": other}).encode()
    paths = [p for p, _ in _paths(record) if p]
    if kind == "offset":
        offsets = [p for p in paths if p[-1] in ("start", "end")]
        paths = offsets or paths
    path = draw(st.sampled_from(paths))
    record = json.loads(text)
    parent = _parent(record, path)
    if kind == "drop":
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent.pop(path[-1])
        return f"dropped {path}", json.dumps(record).encode()
    if kind == "offset":
        value = draw(st.sampled_from([-5, 0, 1, 10**6, 3]) | st.integers(-3, 400))
    else:
        value = draw(st.sampled_from(OTHER_TYPES))
    parent[path[-1]] = value
    return f"{path} = {value!r}", json.dumps(record).encode()


def _load(path: Path):
    import yaml

    data = path.read_bytes()
    return json.loads(data) if path.suffix == ".json" else yaml.safe_load(data)


# -- running a command ---------------------------------------------------------------------------


def check_clean(result, note: str) -> None:
    """No traceback; a failure ends with one line that says what is wrong."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception, limit=-3))
        pytest.fail(f"{note[:300]}: traceback\n{trace}")
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "Traceback" not in output, f"{note}\n{output}"
    assert result.exit_code in (0, 1, 2), f"{note}: exit {result.exit_code}\n{output}"
    if result.exit_code:
        lines = [line for line in result.stderr.splitlines() + result.stdout.splitlines() if line.strip()]
        assert lines, f"{note}: failed silently"
        assert any(line.startswith("error: ") or " [" in line for line in lines), f"{note}\n{output}"


def run(args: list[str], note: str, env: dict | None = None):
    result = CliRunner().invoke(app, [str(a) for a in args], env=env)
    check_clean(result, f"{' '.join(map(str, args))}: {note}")
    return result


PROJECT_COMMANDS = {
    "validate": lambda p, b: ["validate", p / "corpus", p / "annotations", p / "splits.yaml", "--corpus", p / "corpus"],
    "agree": lambda p, b: ["agree", p / "annotations", "--corpus", p / "corpus"],
    "adjudicate": lambda p, b: ["adjudicate", p / "annotations", "--corpus", p / "corpus"],
    "adjudicate-check": lambda p, b: ["adjudicate", p / "annotations", "--corpus", p / "corpus", "--check"],
    "build": lambda p, b: ["build", "--version", "0.0.0", "--root", p, "--out", p / "dist" / "x"],
    "ingest": lambda p, b: ["ingest", p / "article.txt", "--out", p / "corpus"],
    "rehydrate": lambda p, b: ["rehydrate", b / "built" / "full-standoff", p / "corpus", "--out", p / "rehydrated"],
    "push": lambda p, b: ["push", "--url", f"http://127.0.0.1:{closed_port()}", "--corpus", p / "corpus",
                          "--annotations", p / "annotations", "--predictions", "gold"],
}


def project_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*") if p.is_file() and p.suffix in (".json", ".yaml") and "dist" not in p.parts)


def _is_layer(rel: Path) -> bool:
    return rel.parts[0] == "annotations" and rel.suffix == ".json" and rel.name != "gold.json"


# The project files each command certainly reads: when one of them no longer matches the schema
# (as an independent validator, python-jsonschema, reads it), the command must fail, not exit 0.
READS = {
    "validate": lambda rel: True,
    "agree": lambda rel: rel.parts[0] == "corpus" or _is_layer(rel),
    "adjudicate": lambda rel: rel.parts[0] == "corpus" or _is_layer(rel) or rel.name == "decisions.yaml",
    "adjudicate-check": lambda rel: rel.parts[0] == "corpus" or _is_layer(rel) or rel.name in ("decisions.yaml", "gold.json"),
    "build": lambda rel: rel.parts[0] == "corpus" or rel.name in ("gold.json", "splits.yaml", "clusters.yaml"),
    "ingest": lambda rel: rel.parts[0] == "corpus",
    "rehydrate": lambda rel: rel.parts[0] == "corpus",
    "push": lambda rel: True,  # the server is unreachable: push never succeeds here
}


def schema_valid(data: bytes, suffix: str) -> bool:
    """Whether a file is a record the schema accepts, judged by python-jsonschema (not the project's code)."""
    import jsonschema
    import yaml

    try:
        record = json.loads(data) if suffix == ".json" else yaml.safe_load(data)
    except (ValueError, yaml.YAMLError):
        return False
    return jsonschema.Draft202012Validator(load_schema()).is_valid(record)


@pytest.mark.parametrize("command", sorted(PROJECT_COMMANDS))
@settings(max_examples=int(os.environ.get("MUTATION_EXAMPLES", "12")), deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_command_on_a_broken_project_file_stops_cleanly(pristine, command, data):
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "p"
        shutil.copytree(pristine / "project", project)
        (project / "article.txt").write_text("Police raided a flat in Verviers on Thursday.\n", encoding="utf-8")
        files = project_files(project)
        target = data.draw(st.sampled_from(files), label="file")
        record = _load(target)
        note, new = data.draw(mutation(record), label="mutation")
        target.write_bytes(new)
        args = PROJECT_COMMANDS[command](project, pristine)
        note = f"{target.relative_to(project)} {note}"
        result = run(args, note, env={"LABEL_STUDIO_API_KEY": "not-a-real-token"})
        if READS[command](target.relative_to(project)) and not schema_valid(new, target.suffix):
            assert result.exit_code != 0, f"{' '.join(map(str, args))}: {note}: exit 0 on a record the schema refuses\n{result.output}"


@settings(max_examples=int(os.environ.get("MUTATION_EXAMPLES", "12")), deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_convert_of_a_broken_export_stops_cleanly(pristine, data):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "ls"
        shutil.copytree(pristine / "ls", work)
        export = json.loads((work / "export.json").read_bytes())
        # Keep the mutation inside one task's annotation most of the time: that is where the converter works.
        if data.draw(st.booleans(), label="inside an annotation"):
            task = data.draw(st.sampled_from(export), label="task")
            target = data.draw(st.sampled_from(task["annotations"]), label="annotation")
            note, new = data.draw(mutation(target), label="mutation")
            try:
                task["annotations"][task["annotations"].index(target)] = json.loads(new)
            except ValueError:
                task["annotations"][task["annotations"].index(target)] = new.decode("latin-1")
            (work / "export.json").write_text(json.dumps(export), encoding="utf-8")
        else:
            note, new = data.draw(mutation(export), label="mutation")
            (work / "export.json").write_bytes(new)
        run(["convert", work / "export.json", "--annotations", work / "annotations", "--corpus", work / "corpus"], note)


@pytest.mark.parametrize("command", ["summary", "publish"])
@settings(max_examples=int(os.environ.get("MUTATION_EXAMPLES", "12")) // 2, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_command_on_a_broken_dataset_folder_stops_cleanly(pristine, command, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "full"
        shutil.copytree(pristine / "built" / "full", folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        target = data.draw(st.sampled_from(files), label="file")
        new = data.draw(st.sampled_from(BROKEN_BYTES) | st.just(target.read_bytes()[: len(target.read_bytes()) // 2]), label="bytes")
        target.write_bytes(new)
        note = f"{target.relative_to(folder)} = {new[:12]!r}"
        if command == "summary":
            run(["summary", folder], note)
        else:
            run(["publish", "--repo", "owner/name", "--dir", folder, "--dry-run"], note)


# -- JSON Lines articles: every field of a line, retyped, dropped or added -----------------------

ARTICLE = {
    "id": "2015-01-15-raid-in-verviers", "title": "Raid in Verviers", "outlet": "Le Soir", "published": "2015-01-15",
    "language": "fr", "url": "https://example.org/raid", "inferred": {"outlet": "the byline"},
    "text": "Police raided a flat in Verviers on Thursday and arrested two men.\n",
}
FIELD_VALUES = OTHER_TYPES + [10**30, -(2**63), 2**64, 1e308, "2015-13-45", "../x", "en-GB", {"title": 5}, "\u202e\u00a0"]


@settings(max_examples=int(os.environ.get("MUTATION_EXAMPLES", "12")) * 2, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(ARTICLE) + ["titel"]), how=st.sampled_from(["retype", "drop", "raw"]),
       value=st.sampled_from(FIELD_VALUES))
def test_ingest_of_a_json_lines_article_with_a_broken_field(field, how, value):
    line = dict(ARTICLE)
    if how == "drop":
        line.pop(field, None)
        text = json.dumps(line)
    elif how == "raw":  # a number JSON allows and Python's json would not write: too large for a float, or for an int
        text = json.dumps({**line, field: 0}).replace(f'"{field}": 0', f'"{field}": {"9" * 30 if value else "1" + "0" * 400}')
    else:
        line[field] = value
        text = json.dumps(line)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "a.jsonl").write_text(text + "\n", encoding="utf-8")
        result = run(["ingest", work / "a.jsonl", "--out", work / "corpus"], f"{how} {field} = {value!r}")
        written = sorted((work / "corpus").glob("*.json")) if (work / "corpus").is_dir() else []
        if result.exit_code != 0:
            assert written == [], f"{how} {field}: failed, yet wrote {written}"
            return
        # exit 0: the line was good, and its record says what the line said (nothing retyped or dropped)
        given = json.loads(text)
        assert "titel" not in given, f"an unknown field was accepted: {given}"
        (path,) = written
        record = json.loads(path.read_bytes())
        assert schema_valid(path.read_bytes(), ".json"), record
        for name, v in given.items():
            if v is None or name == "text":
                continue
            got = record[name]
            assert (got.items() >= v.items() if name == "inferred" else got == v), f"{how} {field}: {name} {v!r} became {got!r}"


# -- decision keys: a decision's item key broken in the text of the file ------------------------

KEY_EDITS = {
    "negative start": lambda k: re.sub(r"(\d+)-", r"-\1-", k, count=1),
    "end before start": lambda k: re.sub(r"(\d+)-(\d+)", r"\2-\1", k, count=1),
    "huge offset": lambda k: re.sub(r"-(\d+)", "-" + "9" * 30, k, count=1),
    "very long offset": lambda k: re.sub(r"-(\d+)", "-" + "9" * 5000, k, count=1),
    "other digits": lambda k: re.sub(r"\d", "\u0663", k, count=1),
    "empty span": lambda k: re.sub(r"\d+-\d+", "", k, count=1),
    "extra colon": lambda k: k.replace(":", "::", 1),
    "missing type": lambda k: re.sub(r":[A-Za-z]+:", "::", k, count=1),
    "unknown kind": lambda k: "thing" + k[k.index(":"):],
    "no kind": lambda k: k[k.index(":") + 1:],
    "one more part": lambda k: k + ":x",
    "link bar": lambda k: k + "|" + k,
    "cut": lambda k: k[: len(k) // 2],
    "spaces": lambda k: k.replace(":", " : ", 1),
}


def _key_mutation(data, key: str):
    if data.draw(st.booleans(), label="as text"):
        name = data.draw(st.sampled_from(sorted(KEY_EDITS)), label="edit")
        return name, KEY_EDITS[name](key)
    value = data.draw(st.sampled_from(OTHER_TYPES), label="value")
    return f"= {value!r}", value


@settings(max_examples=int(os.environ.get("MUTATION_EXAMPLES", "12")) * 2, deadline=None, derandomize=bool(os.environ.get("CI")),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_adjudicate_with_a_broken_decision_key(pristine, data):
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "p"
        shutil.copytree(pristine / "project", project)
        target = data.draw(st.sampled_from(sorted(project.glob("annotations/*/decisions.yaml"))), label="file")
        record = yaml.safe_load(target.read_bytes())
        i = data.draw(st.integers(0, len(record["decisions"]) - 1), label="decision")
        name, key = _key_mutation(data, record["decisions"][i]["item"])
        record["decisions"][i]["item"] = key
        args = ["adjudicate", project / "annotations", "--corpus", project / "corpus"]
        assert run(args, "as made").exit_code == 0  # synth's gold says synth made it: the gold adjudicate makes is compared
        golds = {p: p.read_bytes() for p in project.glob("annotations/*/gold.json")}
        target.write_text(json.dumps(record), encoding="utf-8")
        note = f"{target.relative_to(project)} /decisions/{i}/item {name}: {key!r}"[:300]
        result = run(args, note)
        # a broken key names no item: the document cannot be adjudicated as before, and nothing is rewritten
        assert result.exit_code != 0, f"{note}: exit 0\n{result.output}"
        assert {p: p.read_bytes() for p in golds} == golds, f"{note}: a gold layer changed"
        assert f"{target} doc={record['document']} /decisions/" in result.output, f"{note}: not addressed\n{result.output}"
