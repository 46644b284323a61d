"""validate: one golden invalid fixture per slug, the repository itself, and agreement with check-jsonschema."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import adjudicate, convert, guidelines, ingest, fileio, ontology
from raidcorpus.cli import app
from raidcorpus.errors import SLUGS, ProblemError, UserError
from raidcorpus.ontology import SCHEMA_PATH
from raidcorpus.validate import Summary, iter_problems

HERE = Path(__file__).parent
ROOT = HERE.parent
INVALID = HERE / "invalid"
VALID = HERE / "valid"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


def fixture_for(slug: str) -> Path:
    for candidate in (INVALID / "score" / slug, INVALID / "server" / f"{slug}.json", INVALID / "labelstudio" / f"{slug}.json", INVALID / "adjudicate" / slug, INVALID / f"{slug}.json", INVALID / f"{slug}.yaml", INVALID / f"{slug}.json.gz", INVALID / slug):
        if candidate.exists():
            return candidate
    return INVALID / f"{slug}.json"  # unreadable-file: the fixture is a path that does not exist


def slugs_of(path: Path) -> set[str]:
    if path.name == "bad-schema.json":  # a schema file, not a record: checked where --schema reads it
        with pytest.raises(UserError) as caught:
            ontology.load(path)
        return set(re.findall(r" \[([a-z0-9-]+)\] ", caught.value.message))
    if path.parent.name == "score":  # scorer inputs: the slugs `raidcorpus score --metric ree` gives the pair
        from raidcorpus.score import ree  # the dataset extra (scipy)

        with pytest.raises(ProblemError) as caught:
            ree.score(path / "gold.jsonl", path / "pred.json")
        return {p.slug for p in caught.value.problems}
    if path.name == "quotes-test-document":  # a small project whose guidelines quote its test document
        return {p.slug for p in guidelines.check(path, [Path("GUIDELINES.md")])}
    if path.name == "bad-muc-file":  # MUC-3/4 message files: checked where ingest reads them
        with pytest.raises(ProblemError) as caught, tempfile.TemporaryDirectory() as out:
            ingest.ingest([path], Path(out))
        return {p.slug for p in caught.value.problems}
    if path.parent.name == "server":  # replies a Label Studio server gives to one call: the slugs of its line
        return server_slugs(fileio.read_json(path))
    if path.parent.name == "labelstudio":  # a Label Studio task: the slugs convert gives its results
        task = fileio.read_json(path)
        (annotation,) = task["annotations"]
        got = convert.results_to_record(annotation["result"], task["data"]["text"], document=task["data"]["doc_id"],
                                        annotator="annotator-1", task=task["id"], annotation=annotation["id"])
        return {i.slug for i in got.issues}
    if path.parent.name == "adjudicate":  # a document's layers and decisions: the slugs adjudicate gives them
        result = adjudicate.adjudicate([path], INVALID / "corpus", check=True)
        return {p.slug for p in result.problems + adjudicate.undecided_problems(result)}
    return {p.slug for p in iter_problems([path], INVALID / "corpus")}


def server_slugs(fixture: dict) -> set[str]:
    """Play the fixture's replies, one per request, to labelstudio.Server's call (retrying as often
    as there are replies) and return the slugs of the line it stops with."""
    import httpx

    from raidcorpus.errors import ProblemError
    from raidcorpus.labelstudio import Server

    replies = iter(fixture["replies"])

    def answer(request: httpx.Request) -> httpx.Response:
        reply = next(replies)
        if reply.get("connect_error"):
            raise httpx.ConnectError("refused", request=request)
        if "text" in reply:
            return httpx.Response(reply["status"], text=reply["text"])
        return httpx.Response(reply["status"], json=reply["body"])

    server = Server("http://127.0.0.1:9", "t0ken", retries=len(fixture["replies"]) - 1, backoff=0,
                    transport=httpx.MockTransport(answer))
    with pytest.raises(ProblemError) as caught:
        getattr(server, fixture["call"])()
    assert "t0ken" not in caught.value.message
    return {p.slug for p in caught.value.problems}


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_each_slug_has_a_golden_fixture_that_fails_with_it_alone(slug):
    why = INVALID / f"{slug}.why"
    assert why.exists(), f"no fixture reason for {slug}"
    assert why.read_text(encoding="utf-8").strip(), "the .why line must say why the fixture is invalid"
    assert slugs_of(fixture_for(slug)) == {slug}


def test_no_fixture_without_a_slug():
    stems = {p.stem for p in INVALID.glob("*.why")}
    assert stems == set(SLUGS)
    assert {p.stem for p in (INVALID / "labelstudio").glob("*.json")} <= set(SLUGS)


def test_one_slug_catalogue():
    """Every slug a module writes is in errors.SLUGS: no second list."""
    written = {}
    for path in (ROOT / "src" / "raidcorpus").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for slug in re.findall(r"\[([a-z0-9]+(?:-[a-z0-9]+)+)\] ", text) + re.findall(r"(?:Problem\([^()]*?|issue\([^,]+), \"([a-z0-9-]+)\"", text):
            written.setdefault(slug, path.name)
    assert {s: f for s, f in written.items() if s not in SLUGS} == {}
    convert_slugs = set(re.findall(r"issue\([^,]+, \"([a-z0-9-]+)\"", (ROOT / "src" / "raidcorpus" / "convert.py").read_text(encoding="utf-8")))
    assert convert_slugs and convert_slugs <= set(SLUGS)


def test_valid_fixture_and_repository_pass():
    assert not list(iter_problems([VALID], VALID / "corpus"))
    targets = [p for p in (ROOT / "corpus", ROOT / "annotations", ROOT / "splits.yaml") if p.exists()]
    problems = [p.line() for p in iter_problems(targets, ROOT / "corpus")]
    assert problems == []


def run_cli(*args, cwd=ROOT):
    runner = CliRunner()
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_cli_prints_one_addressed_line_per_error_and_exits_1():
    result = run_cli("validate", str(INVALID / "role-not-allowed.json"), "--corpus", str(INVALID / "corpus"))
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    assert lines[0] == (
        f"{INVALID / 'role-not-allowed.json'} doc=tiny-doc /events/1/arguments/2/role [role-not-allowed] "
        "role 'Target' is not allowed for Arrest; allowed: Agent, Person, Place, Time"
    )
    assert lines[-1].startswith("1 error in 1 record in 1 file (")


def test_cli_ok_summary_and_json_format():
    result = run_cli("validate", str(VALID), "--corpus", str(VALID / "corpus"))
    assert result.exit_code == 0
    assert result.stdout.strip() == "ok: 2 records in 2 files, no errors"
    result = run_cli("validate", str(INVALID / "dangling-reference.json"), "--corpus", str(INVALID / "corpus"), "--format", "json")
    assert result.exit_code == 1
    first, summary = [json.loads(line) for line in result.stdout.strip().splitlines()]
    assert first["slug"] == "dangling-reference" and first["pointer"] == "/events/1/arguments/1/entity"
    assert first["doc"] == "tiny-doc" and first["level"] == 2
    assert summary["errors"] == 1


@pytest.mark.parametrize("name", ["empty-file.json", "not-utf8.json", "trailing-garbage.json", "invalid-json.json", "missing.json"])
def test_bad_files_get_one_line_never_a_traceback(name):
    proc = subprocess.run(
        [sys.executable, "-m", "raidcorpus.cli", "validate", str(INVALID / name), "--corpus", str(INVALID / "corpus")],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stdout.strip().splitlines()) == 2  # the problem and the summary


def test_errors_keep_streaming_past_a_bad_file(tmp_path):
    shutil.copy(INVALID / "trailing-garbage.json", tmp_path / "a.json")
    shutil.copy(INVALID / "unknown-type.json", tmp_path / "b.json")
    summary = Summary()
    slugs = [p.slug for p in iter_problems([tmp_path], INVALID / "corpus", summary=summary)]
    assert slugs == ["trailing-garbage", "unknown-type"]
    assert summary.files == 2 and summary.records == 1


def test_level_option_stops_early():
    path = INVALID / "span-text-mismatch.json"
    assert {p.slug for p in iter_problems([path], INVALID / "corpus", level=2)} == set()
    assert {p.slug for p in iter_problems([path], INVALID / "corpus", level=3)} == {"span-text-mismatch"}


# --- hand-broken copies: ours and a third-party validator agree where the schema can say it ---

def broken_copies():
    good = fileio.read_json(VALID / "annotations" / "tiny-doc" / "annotator-1.json")

    def shifted(r):
        r["entities"][2]["start"] += 1
        r["entities"][2]["end"] += 1

    def unknown_type(r):
        r["events"][0]["type"] = "Bombing"

    def role(r):
        r["events"][0]["arguments"].append({"role": "Victim", "entity": "T5", "type": "PER"})

    def filler(r):
        r["events"][1]["arguments"][1]["type"] = "GPE"
        r["events"][1]["arguments"][1]["entity"] = "T3"

    def dangling(r):
        r["events"][0]["arguments"][0]["entity"] = "T99"

    # (name, change, our slug, does the schema alone reject it?)
    cases = [
        ("shifted-offset", shifted, "span-text-mismatch", False),
        ("unknown-event-type", unknown_type, "unknown-type", True),
        ("role-not-allowed", role, "role-not-allowed", True),
        ("filler-not-allowed", filler, "filler-type-not-allowed", True),
        ("dangling-argument", dangling, "dangling-reference", False),
    ]
    for name, change, slug, schema_rejects in cases:
        record = copy.deepcopy(good)
        change(record)
        yield pytest.param(record, slug, schema_rejects, id=name)


@pytest.mark.parametrize("record,slug,schema_rejects", list(broken_copies()))
def test_hand_broken_copy_rejected_by_both_validators(tmp_path, record, slug, schema_rejects):
    path = tmp_path / "annotator-1.json"
    fileio.write_json(path, record)
    assert slug in {p.slug for p in iter_problems([path], VALID / "corpus")}
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA_PATH), str(path)], capture_output=True, text=True
    )
    assert (proc.returncode != 0) == schema_rejects, proc.stdout + proc.stderr


def test_schema_passes_metaschema_check():
    proc = subprocess.run([str(CHECK_JSONSCHEMA), "--check-metaschema", str(SCHEMA_PATH)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_jsonschema_accepts_every_record_in_the_repository():
    files = [
        str(p)
        for p in fileio.iter_files([ROOT / "corpus", ROOT / "annotations", VALID])
        if p.exists()
    ] + [str(p) for p in ROOT.glob("splits.yaml")]
    assert files
    proc = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--schemafile", str(SCHEMA_PATH), *files], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _mixed_listing(tmp_path: Path) -> list[str]:
    """Valid and invalid files of every kind, twice under other paths (a second record of each
    document id and annotator layer, in a later run), the invalid layers once more each under an
    annotator of its own (so that each is checked in full), a JSON Lines file with duplicates
    inside it, and a path that does not exist."""
    for copy_name in ("a", "b"):
        shutil.copytree(INVALID, tmp_path / copy_name)
    (tmp_path / "layers").mkdir()
    for i, path in enumerate(sorted(INVALID.glob("*.json"))):
        try:
            record = fileio.read_json(path)
        except fileio.ReadError:
            continue
        if isinstance(record, dict) and record.get("kind") == "annotation" and record.get("annotator") == "annotator-1":
            record["annotator"] = f"annotator-{i + 10}"
            (tmp_path / "layers" / path.name).write_text(json.dumps(record), encoding="utf-8")
    doc = fileio.read_json(INVALID / "corpus" / "tiny-doc.json")
    layer = fileio.read_json(VALID / "annotations" / "tiny-doc" / "annotator-1.json")
    (tmp_path / "mixed.jsonl").write_text("\n".join(json.dumps(r) for r in (doc, layer, doc, layer)) + "\n", encoding="utf-8")
    a, b = tmp_path / "a", tmp_path / "b"
    return [str(p) for p in (a, VALID, b / "corpus", tmp_path / "mixed.jsonl", tmp_path / "layers", b,
                             a / "duplicate-annotation", tmp_path / "missing.json", a)]


def _validate(listing: list[str], corpus: Path, *options: str) -> tuple[int, str]:
    result = run_cli("validate", *listing, "--corpus", str(corpus), *options)
    return result.exit_code, result.stdout


@pytest.mark.parametrize("run_files", [1, 4, 25])
def test_output_does_not_depend_on_jobs(tmp_path, monkeypatch, run_files):
    """Checked in two worker processes, by runs of every size, the same lines, summary and exit
    code as in one, for text and JSON, duplicates across runs and files included."""
    import raidcorpus.validate as mod

    listing = _mixed_listing(tmp_path)
    corpus = tmp_path / "a" / "corpus"
    one = {fmt: _validate(listing, corpus, "--jobs", "1", "--format", fmt) for fmt in ("text", "json")}
    code, text = one["text"]
    assert code == 1
    # the cross-file checks are exercised: a second record of a layer or a document id in another file
    assert f"already has a record for tiny-doc in {tmp_path / 'a'}" in text
    assert f"already has a record for tiny-doc in {tmp_path / 'b'}" in text
    assert f"[duplicate-id] document id already used by {tmp_path / 'a' / 'corpus' / 'tiny-doc.json'}" in text
    assert f"{tmp_path / 'mixed.jsonl'}:3 doc=tiny-doc /id [duplicate-id]" in text
    for slug in ("span-text-mismatch", "offset-out-of-range", "text-hash-mismatch", "unknown-document", "dangling-reference"):
        assert f"{tmp_path / 'layers' / slug}.json doc=" in text  # each layer checked in full
    forked = []
    monkeypatch.setattr(mod, "RUN_FILES", run_files)
    monkeypatch.setattr(mod, "FORK_AT", 2)
    real = mod._in_workers
    monkeypatch.setattr(mod, "_in_workers", lambda *a: forked.append(a[-1]) or real(*a))
    for fmt in ("text", "json"):
        assert _validate(listing, corpus, "--jobs", "2", "--format", fmt) == one[fmt]
    assert forked == [2, 2]


def test_output_does_not_depend_on_jobs_from_the_command_line(tmp_path):
    """The installed command on enough files to fork with the default run size: same bytes, same exit code."""
    import raidcorpus.validate as mod

    listing = _mixed_listing(tmp_path)
    many = tmp_path / "many"
    many.mkdir()
    layer = fileio.read_json(VALID / "annotations" / "tiny-doc" / "annotator-1.json")
    broken = fileio.read_json(INVALID / "span-text-mismatch.json")
    for i in range(mod.FORK_AT + mod.RUN_FILES):  # one layer per annotator: each is checked in full
        record = dict(broken if i % 97 == 0 else layer, annotator=f"bulk-{i}")
        (many / f"{i:04d}.json").write_text(json.dumps(record), encoding="utf-8")
    listing[1:1] = [str(many)]

    def cli(jobs: str):
        return subprocess.run([sys.executable, "-m", "raidcorpus.cli", "validate", *listing, "--corpus",
                               str(tmp_path / "a" / "corpus"), "--jobs", jobs], capture_output=True, text=True, cwd=ROOT)

    one, two = cli("1"), cli("2")
    assert (one.returncode, one.stdout, one.stderr) == (two.returncode, two.stdout, two.stderr)
    assert one.returncode == 1 and "[duplicate-annotation]" in one.stdout
    assert one.stdout.count(f"{many}/") == len(range(0, mod.FORK_AT + mod.RUN_FILES, 97))  # the others are valid
