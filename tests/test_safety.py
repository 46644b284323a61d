"""Hostile input and faults without a server: bombs, hostile ids and paths, owned output folders,
kills, concurrent and out-of-space builds. Every command answers with one line and a non-zero
exit, writes nothing outside its folder, and leaves no half-written output behind."""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from raidcorpus import fileio
from raidcorpus.dataset import build, outdir, release, writer

ROOT = Path(__file__).resolve().parents[1]
VALID = Path(__file__).parent / "valid"
BUILD_FIXTURE = Path(__file__).parent / "data" / "build"
MEMORY_CAP = 1 << 30  # each hostile-input command runs under this address-space limit


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP * 2, MEMORY_CAP * 2))


def run(args, cwd, env=None, cap=True, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "raidcorpus.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd,
        env={**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", **(env or {})}, timeout=timeout,
        preexec_fn=_cap_memory if cap else None,
    )


def one_line_error(proc, *needles):
    """Exit 1, no traceback, and an error line holding every needle."""
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    assert "Traceback" not in text and "Exception ignored" not in text, text
    errors = [line for line in text.splitlines() if all(n in line for n in needles)]
    assert errors, f"no line with {needles}: {text}"
    return errors[0]


def tree(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def repo(tmp_path):
    """A small valid repository (corpus and one annotator layer) inside tmp_path/repo."""
    root = tmp_path / "repo"
    shutil.copytree(VALID / "corpus", root / "corpus")
    shutil.copytree(VALID / "annotations", root / "annotations")
    return root


# --- YAML: alias bombs and repeated keys -------------------------------------------------

BOMB = "\n".join(
    ["kind: decisions", "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["decisions: *i", ""]
)


def test_the_alias_bomb_is_small():
    assert len(BOMB.encode()) < 700 and BOMB.count("*") > 60  # 9**9 strings if expanded


@pytest.mark.parametrize("command", ["validate", "ingest-metadata", "adjudicate-decisions", "build-splits", "build-clusters"])
def test_yaml_alias_bombs_are_refused_in_one_line(repo, command):
    bomb = repo / "bomb.yaml"
    bomb.write_text(BOMB)
    if command == "validate":
        proc = run(["validate", bomb], repo)
    elif command == "ingest-metadata":
        (repo / "a.txt").write_text("An article about a raid.\n")
        proc = run(["ingest", "a.txt", "--metadata", bomb, "--out", "corpus"], repo)
    elif command == "adjudicate-decisions":
        proc = run(["adjudicate", "--decisions", bomb, "--check"], repo)
    else:
        shutil.copytree(BUILD_FIXTURE, repo / "b", ignore=shutil.ignore_patterns("*.py"))
        target = repo / "b" / ("splits.yaml" if command == "build-splits" else "annotations/clusters.yaml")
        target.write_text(BOMB)
        proc = run(["build", "--version", "0.1.0", "--root", repo / "b", "--out", repo / "b" / "dist" / "x"], repo)
    one_line_error(proc, "[yaml-alias]", "line ")


@pytest.mark.parametrize("name,text,line", [
    ("decisions.yaml", "kind: decisions\nschema_version: '1.0'\ndocument: tiny-doc\ndecisions: []\ndocument: other-doc\n", 5),
    ("splits.yaml", "kind: splits\nsplits:\n  train: [tiny-doc]\n  train: []\n", 4),
    ("sources.yaml", "kind: sources\narticles: []\nkind: sources\n", 3),
    ("clusters.yaml", "kind: event_clusters\nclusters:\n  - id: X1\n    id: X2\n", 4),
])
def test_repeated_yaml_keys_are_refused_with_line_and_column(tmp_path, name, text, line):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(fileio.ReadError) as e:
        fileio.read_yaml(path)
    assert e.value.problem.slug == "duplicate-key"
    assert f"(line {line} column" in e.value.problem.message


def test_a_repeated_key_in_a_decisions_file_stops_adjudicate(repo):
    layer = repo / "annotations" / "tiny-doc" / "annotator-1.json"
    (layer.with_name("annotator-2.json")).write_bytes(layer.read_bytes().replace(b"annotator-1", b"annotator-2"))
    (repo / "d.yaml").write_text("kind: decisions\nschema_version: '1.0'\ndocument: tiny-doc\ndecisions: []\ndecisions: []\n")
    proc = run(["adjudicate", "--decisions", "d.yaml"], repo)
    one_line_error(proc, "d.yaml", "[duplicate-key]", "line 5 column 1")


def test_merge_keys_and_recursive_aliases_are_refused_too(tmp_path):
    for text in ("base: &b {x: 1}\nother:\n  <<: *b\n", "a: &a [*a]\n"):
        path = tmp_path / "f.yaml"
        path.write_text(text)
        with pytest.raises(fileio.ReadError) as e:
            fileio.read_yaml(path)
        assert e.value.problem.slug == "yaml-alias", text


def test_plain_anchors_without_aliases_and_multi_document_streams_still_load(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("a: &x 1\nb: 2\n")
    assert fileio.read_yaml(path) == {"a": 1, "b": 2}
    assert fileio.parse_yaml_all(path, "a: 1\n---\na: 2\n") == [{"a": 1}, {"a": 2}]


# --- bounded decompression and article size ----------------------------------------------


def test_gzip_bomb_is_refused_within_bounded_memory(repo):
    bomb = repo / "export.json.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:  # 4 MB that would expand to 4 GB
        block = b"[" + b" " * (1 << 20)
        f.write(block)
        for _ in range(4095):
            f.write(b" " * (1 << 20))
        f.write(b"]")
    assert bomb.stat().st_size < 5 << 20
    proc = run(["convert", bomb, "--annotations", "annotations", "--corpus", "corpus"], repo)
    one_line_error(proc, "export.json.gz", "[too-large]", "expands beyond")
    assert not (repo / "annotations" / "raw").exists()


def test_the_decompression_ceiling_is_what_docs_say():
    assert fileio.decompression_ceiling(1000) == 16 << 20
    assert fileio.decompression_ceiling(1 << 20) == 100 << 20
    assert fileio.decompression_ceiling(100 << 20) == 1 << 30
    doc = (ROOT / "docs" / "safety.md").read_text(encoding="utf-8")
    assert "1 GiB" in doc and "100 times" in doc and "16 MiB" in doc


def test_multi_member_gzip_within_the_ceiling_reads_whole(tmp_path):
    path = tmp_path / "x.json.gz"
    path.write_bytes(gzip.compress(b"[1,") + gzip.compress(b"2]"))
    assert fileio.read_json(path) == [1, 2]
    path.write_bytes(gzip.compress(b"[1,2]")[:-6])
    with pytest.raises(fileio.ReadError) as e:
        fileio.read_json(path)
    assert e.value.problem.slug == "unreadable-file"


@pytest.mark.parametrize("kind", ["txt", "jsonl"])
def test_an_article_over_the_ceiling_is_refused(repo, kind):
    from raidcorpus.ingest import MAX_ARTICLE_BYTES

    text = ("A raid. " * (MAX_ARTICLE_BYTES // 8 + 10))
    if kind == "txt":
        (repo / "big.txt").write_text(text)
    else:
        (repo / "big.jsonl").write_text(json.dumps({"text": text}) + "\n")
    before = tree(repo / "corpus")
    proc = run(["ingest", f"big.{kind}", "--out", "corpus"], repo)
    one_line_error(proc, f"big.{kind}", "[too-large]")
    assert tree(repo / "corpus") == before


# --- ids that become paths ------------------------------------------------------------------

HOSTILE_IDS = ["../../escaped", "/tmp/absolute-escape", "Upper-Case", "with space", "new\nline", "a/b", "..", "-x-"]


@pytest.mark.parametrize("doc_id", HOSTILE_IDS)
def test_ingest_refuses_ids_it_would_reject_and_writes_nothing(tmp_path, doc_id):
    work = tmp_path / "w"
    work.mkdir()
    (work / "a.jsonl").write_text(json.dumps({"id": doc_id, "text": "Police raided a flat."}) + "\n")
    proc = run(["ingest", "a.jsonl", "--out", "corpus"], work)
    one_line_error(proc, "[bad-id]")
    assert not (work / "corpus").exists() or not list((work / "corpus").iterdir())
    assert not (tmp_path / "escaped.json").exists() and not Path("/tmp/absolute-escape.json").exists()


@pytest.mark.parametrize("published", ["../../x", "2020/01/01", "2020-01-01\n"])
def test_ingest_refuses_a_publication_date_that_would_make_a_path(tmp_path, published):
    (tmp_path / "a.jsonl").write_text(json.dumps({"published": published, "text": "Police raided a flat."}) + "\n")
    proc = run(["ingest", "a.jsonl", "--out", "corpus"], tmp_path)
    one_line_error(proc, "a.jsonl:1")
    assert not (tmp_path / "corpus").exists() or not list((tmp_path / "corpus").iterdir())
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"] or set(p.name for p in tmp_path.iterdir()) <= {"a.jsonl", "corpus"}


def export_with(doc_id: str, text: str = "Police raided a flat in Verviers.") -> list[dict]:
    return [{"id": 7, "data": {"doc_id": doc_id, "text": text}, "annotations": [
        {"id": 70, "completed_by": 1, "was_cancelled": False, "result": [
            {"id": "T1", "from_name": "entity", "to_name": "text", "type": "labels",
             "value": {"start": 0, "end": 6, "text": "Police", "labels": ["ORG"]}}]}]}]


@pytest.mark.parametrize("doc_id", HOSTILE_IDS)
def test_convert_refuses_task_doc_ids_that_are_not_ids(repo, tmp_path, doc_id):
    (repo / "export.json").write_bytes(orjson.dumps(export_with(doc_id)))
    before = tree(tmp_path)
    proc = run(["convert", "export.json"], repo, env={"RAIDCORPUS_PSEUDONYM_SALT": "s"})
    one_line_error(proc, "task=7", "[bad-id]")
    after = tree(tmp_path)
    new = sorted(set(after) - set(before))
    assert all(p.startswith("repo/annotations/annotators.yaml") for p in new), new
    assert not Path("/tmp/absolute-escape").exists()


def test_convert_and_pull_refuse_a_symlinked_document_folder(repo, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    doc = json.loads((repo / "corpus" / "tiny-doc.json").read_text())
    shutil.rmtree(repo / "annotations" / "tiny-doc")
    (repo / "annotations" / "tiny-doc").symlink_to(outside)
    (repo / "export.json").write_bytes(orjson.dumps(export_with("tiny-doc", doc["text"])))
    proc = run(["convert", "export.json"], repo, env={"RAIDCORPUS_PSEUDONYM_SALT": "s"})
    one_line_error(proc, "annotations/tiny-doc", "[unsafe-path]", "symbolic link")
    assert list(outside.iterdir()) == []


def test_a_symlinked_raw_folder_is_refused(repo, tmp_path):
    from raidcorpus import raw_export

    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "annotations" / "raw").symlink_to(outside)
    with pytest.raises(fileio.UnsafePath):
        raw_export.save_raw([], repo / "annotations" / "raw", "p")
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("bad", [("..",), ("/etc/passwd",), ("a/../../b",), ("",), ("a//b",), (".",)])
def test_inside_refuses_everything_but_plain_names(tmp_path, bad):
    with pytest.raises(fileio.UnsafePath):
        fileio.inside(tmp_path, *bad)
    assert fileio.inside(tmp_path, "a", "b.json") == tmp_path / "a" / "b.json"


# --- build: owned output folders, kills, locks, a full disk ---------------------------------


@pytest.fixture
def build_repo(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(BUILD_FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


@pytest.mark.parametrize("target", ["corpus", "annotations", ".", "ROOT", "..", "corpus/sub", "annotations/doc", "schema", "foreign"])
def test_build_refuses_folders_it_does_not_own_and_changes_nothing(build_repo, target):
    (build_repo / "schema").mkdir()
    (build_repo / "schema" / "keep.json").write_text("{}")
    (build_repo / "foreign").mkdir()
    (build_repo / "foreign" / "notes.txt").write_text("mine")
    out = {"ROOT": build_repo}.get(target, target)
    before = tree(build_repo.parent)
    proc = run(["build", "--version", "0.1.0", "--out", out], build_repo, cap=False)
    one_line_error(proc, "refused")
    assert tree(build_repo.parent) == before


def test_build_refuses_a_symlinked_layer_from_outside(build_repo, tmp_path):
    layer = next((build_repo / "annotations").glob("*/annotator-1.json"))
    outside = tmp_path / "secret.json"
    shutil.move(layer, outside)
    layer.symlink_to(outside)
    proc = run(["build", "--version", "0.1.0", "--out", "dist/x"], build_repo, cap=False)
    one_line_error(proc, "[unsafe-path]", "annotator-1.json")
    assert not (build_repo / "dist" / "x").exists()


@pytest.mark.parametrize("case", ["layer link inside", "folder link inside", "folder link outside", "annotations link outside"])
def test_build_refuses_links_to_records_wherever_they_point(build_repo, tmp_path, case):
    """A layer that is a link, a document folder that is a link, and an annotations folder that
    leads outside are each one [unsafe-path] line (the reader remembers resolved folders, and
    opens files without following a link)."""
    annotations = build_repo / "annotations"
    folder = next(p for p in sorted(annotations.iterdir()) if (p / "annotator-1.json").is_file())
    if case == "layer link inside":
        spare = build_repo / "spare.json"
        shutil.move(folder / "annotator-1.json", spare)
        (folder / "annotator-1.json").symlink_to(spare)
        shown = "annotator-1.json"
    elif case.startswith("folder link"):
        target = (build_repo / "kept" if case.endswith("inside") else tmp_path / "kept")
        shutil.move(folder, target)
        folder.symlink_to(target)
        shown = folder.name
    else:
        target = tmp_path / "annotations"
        shutil.move(annotations, target)
        annotations.symlink_to(target)
        shown = "leads outside"
    proc = run(["build", "--version", "0.1.0", "--out", "dist/x"], build_repo, cap=False)
    one_line_error(proc, "[unsafe-path]", shown)
    assert not (build_repo / "dist" / "x").exists()


def test_the_reader_allows_a_linked_folder_inside_the_root_and_refuses_one_outside(tmp_path):
    from raidcorpus.records import Reader, RecordError

    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "r.json").write_text("{}")
    (root / "alias").symlink_to(root / "real")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "r.json").write_text("{}")
    (root / "away").symlink_to(tmp_path / "out")
    (root / "real" / "l.json").symlink_to(root / "real" / "r.json")
    reader = Reader(root / "corpus", level=1, shown_root=root)
    for _ in range(2):  # the second time from the remembered folders
        for path, refused in (("alias/r.json", None), ("away/r.json", "leads outside"), ("real/l.json", "symbolic link")):
            if refused is None:
                with pytest.raises(RecordError, match="schema-mismatch|required"):
                    reader.read(root / path)
            else:
                with pytest.raises(RecordError, match=refused):
                    reader.read(root / path)


def test_rebuilding_its_own_folder_works_and_the_marker_is_not_published(build_repo):
    out = build_repo / "dist" / "x"
    build.build("0.1.0", out, build_repo)
    assert (out / outdir.MARKER).is_file()
    assert outdir.MARKER not in release.read_manifest(out)
    (out / "stray.txt").write_text("left by hand")
    build.build("0.1.0", out, build_repo)
    assert not (out / "stray.txt").exists() and not release.verify_folder(out)
    assert sorted(p.name for p in out.parent.iterdir()) == [".x-standoff.lock", ".x.lock", "x", "x-standoff"]


def test_a_folder_built_before_the_marker_is_still_accepted(build_repo):
    out = build_repo / "dist" / "x"
    build.build("0.1.0", out, build_repo)
    (out / outdir.MARKER).unlink()
    build.build("0.1.0", out, build_repo)
    (out / outdir.MARKER).unlink()
    (out / "extra.txt").write_text("not in the manifest")
    with pytest.raises(Exception, match="did not write"):
        build.build("0.1.0", out, build_repo)
    assert (out / "extra.txt").exists()


def test_a_second_build_into_the_same_folder_waits_for_no_one_and_is_refused(build_repo):
    out = build_repo / "dist" / "x"
    with outdir.locked(out):
        proc = run(["build", "--version", "0.1.0", "--out", out], build_repo, cap=False)
    one_line_error(proc, "another run is writing")
    assert not out.exists()


def test_two_builds_at_once_never_mix_their_files(build_repo):
    other = build_repo.parent / "repo2"
    shutil.copytree(build_repo, other)
    (other / "CHANGELOG.md").write_text((other / "CHANGELOG.md").read_text().replace("0.1.0", "0.1.1"))
    out = build_repo.parent / "dist" / "x"
    cmd = lambda root, v: subprocess.Popen(
        [sys.executable, "-m", "raidcorpus.cli", "build", "--version", v, "--root", str(root), "--out", str(out)],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    procs = [cmd(build_repo, "0.1.0"), cmd(other, "0.1.1")]
    outs = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert 0 in codes, outs
    for code, (o, e) in zip(codes, outs):
        assert "Traceback" not in o + e
        if code:
            assert "another run is writing" in e
    assert not release.verify_folder(out)
    facts = json.loads((out / "release.json").read_text())
    assert facts["version"] in ("0.1.0", "0.1.1")


def _mutations():
    """The file-system calls that change what a folder holds."""
    import ctypes  # noqa: F401

    return [(os, "rename"), (os, "replace"), (os, "unlink"), (os, "rmdir"), (outdir, "_exchange")]


def _build_killed_at(root: Path, out: Path, version: str, k: int) -> int:
    """Fork; in the child, build and die (os._exit, like SIGKILL: no cleanup) at the k-th mutation."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            count = [0]
            for mod, name in _mutations():
                real = getattr(mod, name)

                def wrapped(*a, _real=real, **kw):
                    count[0] += 1
                    if count[0] == k:
                        os._exit(9)
                    return _real(*a, **kw)
                setattr(mod, name, wrapped)
            build.build(version, out, root)
            os._exit(0 if count[0] < k else 3)
        except BaseException:
            import traceback

            traceback.print_exc()
            os._exit(4)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_kill_at_any_moment_leaves_the_old_or_the_new_dataset_whole(build_repo):
    out = build_repo / "dist" / "x"
    build.build("0.1.0", out, build_repo)
    old = tree(out)
    (build_repo / "CHANGELOG.md").write_text((build_repo / "CHANGELOG.md").read_text().replace("0.1.0", "0.1.1"))
    k, seen_new = 1, False
    while True:
        code = _build_killed_at(build_repo, out, "0.1.1", k)
        assert code in (9, 0), code
        for folder in (out, out.with_name("x-standoff")):
            assert folder.is_dir() and not release.verify_folder(folder), (k, folder)
        now = tree(out)
        version = json.loads(now["release.json"])["version"]
        assert now == old if version == "0.1.0" else version == "0.1.1"
        seen_new |= version == "0.1.1"
        if code == 0:
            break
        k += 1
    assert seen_new and k > 3
    build.build("0.1.1", out, build_repo)  # and the next build cleans up after the killed ones
    assert sorted(p.name for p in out.parent.iterdir()) == [".x-standoff.lock", ".x.lock", "x", "x-standoff"]


def test_any_failure_removes_the_partial_output(build_repo, monkeypatch):
    out = build_repo / "dist" / "x"
    calls = []

    def boom(*a, **kw):
        calls.append(1)
        raise RuntimeError("injected")

    monkeypatch.setattr(writer.Writer, "finish", boom)
    with pytest.raises(RuntimeError):
        build.build("0.1.0", out, build_repo)
    assert calls and not (build_repo / "dist" / ".x.partial").exists() and not out.exists()


def _can_mount() -> bool:
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _can_mount(), reason="needs unshare (a private mount namespace) to make a tiny file system")
def test_a_full_disk_gives_one_line_naming_the_path_and_leaves_nothing(build_repo, tmp_path):
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    script = (
        f"mount -t tmpfs -o size=64k tmpfs {mnt} && cd {build_repo} && "
        f"{sys.executable} -m raidcorpus.cli build --version 0.1.0 --out {mnt}/x; echo rc=$?; ls -A {mnt}"
    )
    proc = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_DATASETS_OFFLINE": "1"})
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text and "Exception ignored" not in text, text
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{mnt}" in errors[0] and "no space left" in errors[0], text
    assert "rc=1" in proc.stdout
    listing = proc.stdout.split("rc=1", 1)[1].split()
    assert not [n for n in listing if n.endswith(".partial") or n in ("x", "x-standoff")], listing


# --- publish and summary trust nothing they have not checked --------------------------------


@pytest.fixture
def built_folder(build_repo):
    out = build_repo / "dist" / "x"
    build.build("0.1.0", out, build_repo)
    return out


def _swap_parquet_from(folder: Path, other_version_folder: Path):
    for p in other_version_folder.rglob("*.parquet"):
        shutil.copy(p, folder / p.relative_to(other_version_folder))


@pytest.mark.parametrize("command", ["publish", "summary"])
@pytest.mark.parametrize("tamper", ["parquet", "release.json", "manifest-and-parquet", "extra-file", "missing-file", "card"])
def test_publish_and_summary_verify_every_file(built_folder, command, tamper):
    out = built_folder
    pq = next(out.rglob("*.parquet"))
    if tamper == "parquet":
        pq.write_bytes(pq.read_bytes()[:-10] + b"0" * 10)
    elif tamper == "release.json":
        facts = json.loads((out / "release.json").read_text())
        facts["version"] = "9.9.9"
        (out / "release.json").write_text(json.dumps(facts))
        release.write_manifest(out)  # a consistent manifest does not make release.json right
    elif tamper == "manifest-and-parquet":
        pq.write_bytes(pq.read_bytes()[:-10] + b"0" * 10)
        release.write_manifest(out)
    elif tamper == "extra-file":
        (out / "notes.txt").write_text("x")
    elif tamper == "missing-file":
        pq.unlink()
    else:
        (out / "README.md").write_text((out / "README.md").read_text() + "\nedited\n")
    args = ["publish", "--repo", "owner/name", "--dir", out, "--dry-run"] if command == "publish" else ["summary", out]
    proc = run(args, out.parent, cap=False)
    one_line_error(proc, "error:")


@pytest.mark.parametrize("command", ["synth", "export"])
@pytest.mark.parametrize("target", [".", "corpus", "annotations", "annotations/doc"])
def test_other_commands_with_an_out_folder_refuse_the_repository(build_repo, command, target):
    before = tree(build_repo)
    args = (["synth", "--docs", "2", "--out", target] if command == "synth"
            else ["export", "--format", "textee", "--out", target, "--dataset", "dist/x"])
    proc = run(args, build_repo, cap=False)
    one_line_error(proc, "refused")
    assert tree(build_repo) == before


def test_synth_refuses_a_folder_of_other_files_and_reruns_into_its_own(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    one_line_error(run(["synth", "--docs", "2", "--out", "mine"], tmp_path, cap=False), "refused")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    for _ in range(2):
        assert run(["synth", "--docs", "2", "--out", "fresh"], tmp_path, cap=False).returncode == 0


def test_a_raw_export_is_kept_again_only_when_more_than_its_volatile_fields_changed(tmp_path):
    """save_raw decides "nothing new" on the parsed exports with `created_ago` left out, whatever
    the key order; a real change (even inside a text that quotes the volatile key) is a new file."""
    from datetime import datetime, timezone

    from raidcorpus import raw_export

    def export(ago, text='a "created_ago": 1', order=False):
        ann = {"id": 7, "created_ago": ago, "result": [{"value": {"text": [text]}}]}
        if order:
            ann = dict(reversed(list(ann.items())))
        return [{"id": 1, "created_ago": ago, "annotations": [ann], "data": {"text": text}}]

    raw = tmp_path / "raw"
    stamps = iter(datetime(2026, 1, 1, 0, 0, s, tzinfo=timezone.utc) for s in range(10))

    def save(tasks):
        return raw_export.save_raw(tasks, raw, "p", now=next(stamps))

    first, written = save(export("1 minute"))
    assert written
    assert save(export("3 days")) == (first, False)  # only the server's "how long ago" moved
    assert save(export(None, order=True)) == (first, False)  # keys in another order: the same export
    assert save(export("3 days", text='a "created_ago": 2'))[1]  # a changed text is kept
    assert len(list(raw.iterdir())) == 2
