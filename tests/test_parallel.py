"""Every parallel path against its reference: `--jobs 1` (a plain loop, workers.in_order) and
two forked workers give the same bytes and the same messages, over corpora hypothesis draws
(size, seed, how many documents a worker takes at once, which layers are broken)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings, strategies as st

from raidcorpus import status, synth, validate
from raidcorpus.dataset import build
from raidcorpus.errors import UserError

SETTINGS = settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CORPORA: dict[tuple[int, int], Path] = {}


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def corpus(tmp_path_factory, docs: int, seed: int) -> Path:
    """A synthetic corpus, made once per (docs, seed) and copied by each example that breaks it."""
    if (docs, seed) not in CORPORA:
        CORPORA[docs, seed] = tmp_path_factory.mktemp("corpus") / "repo"
        synth.synth(docs, seed, CORPORA[docs, seed], annotators=2)
    return CORPORA[docs, seed]


def broken_copy(tmp_path_factory, docs: int, seed: int, broken: list[int]) -> Path:
    """A copy with the first entity of some annotator layers moved by one character (a span that
    no longer slices to its text)."""
    root = tmp_path_factory.mktemp("broken") / "repo"
    shutil.copytree(corpus(tmp_path_factory, docs, seed), root)
    layers = sorted((root / "annotations").glob("*/annotator-1.json"))
    for i in sorted(set(broken)):
        path = layers[i % len(layers)]
        record = orjson.loads(path.read_bytes())
        if record["entities"]:
            record["entities"][0]["start"] += 1
            path.write_bytes(orjson.dumps(record))
    return root


@SETTINGS
@given(docs=st.integers(1, 80), seed=st.integers(0, 10**6), run=st.integers(1, 40))
def test_synth_bytes_do_not_depend_on_jobs(tmp_path_factory, monkeypatch, docs, seed, run):
    monkeypatch.setattr(synth, "RUN_DOCS", run)
    one, two = (tmp_path_factory.mktemp(f"synth{j}") / "out" for j in (1, 2))
    synth.synth(docs, seed, one, annotators=2, jobs=1)
    synth.synth(docs, seed, two, annotators=2, jobs=2)
    assert tree(one) == tree(two)


def _validate(root: Path, jobs: int, fmt: str) -> str:
    out = io.StringIO()
    validate.run([root / "corpus", root / "annotations"], root / "corpus", fmt=fmt, stream=out, jobs=jobs)
    return out.getvalue()


@SETTINGS
@given(docs=st.integers(2, 30), seed=st.integers(0, 50), run=st.integers(1, 30), broken=st.lists(st.integers(0, 100), max_size=5))
def test_validate_messages_do_not_depend_on_jobs(tmp_path_factory, monkeypatch, docs, seed, run, broken):
    root = broken_copy(tmp_path_factory, docs, seed, broken)
    monkeypatch.setattr(validate, "RUN_FILES", run)
    monkeypatch.setattr(validate, "FORK_AT", 2)  # workers from two files on, so every example forks
    for fmt in ("text", "json"):
        reference = _validate(root, 1, fmt)
        assert ("span-text-mismatch" in reference) == bool(broken)
        assert _validate(root, 2, fmt) == reference


@SETTINGS
@given(docs=st.integers(1, 60), seed=st.integers(0, 50), chunk=st.integers(1, 20), broken=st.lists(st.integers(0, 100), max_size=3))
def test_status_lines_do_not_depend_on_jobs(tmp_path_factory, monkeypatch, docs, seed, chunk, broken):
    root = broken_copy(tmp_path_factory, docs, seed, broken)
    monkeypatch.setattr(status, "CHUNK", chunk)
    lines = {jobs: [] for jobs in (1, 2)}
    for jobs in (1, 2):
        status.run(root, "json", write=lines[jobs].append, jobs=jobs)
    assert lines[2] == lines[1]


def _build(root: Path, out: Path, jobs: int) -> tuple[str, dict | None]:
    """(the error line, or the built files) of one build."""
    try:
        result = build.build("0.0.0", out, root, jobs=jobs)
    except UserError as e:
        return str(e), None
    return "", {**tree(result.out), **{f"standoff/{k}": v for k, v in tree(result.standoff_out).items()}}


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=st.integers(1, 40), seed=st.integers(0, 50), chunk=st.integers(1, 16), broken=st.lists(st.integers(0, 100), max_size=2))
def test_build_bytes_and_errors_do_not_depend_on_jobs(tmp_path_factory, monkeypatch, docs, seed, chunk, broken):
    root = broken_copy(tmp_path_factory, docs, seed, broken)
    monkeypatch.setattr(build, "CHUNK_DOCS", chunk)
    out = tmp_path_factory.mktemp("build")
    reference = _build(root, out / "one" / "ds", 1)
    assert _build(root, out / "two" / "ds", 2) == reference
