"""push and pull against a real Label Studio behind a fault-injecting proxy: lost replies, dropped
connections, concurrent pushes, task texts edited in Label Studio, secrets in the URL."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from faultproxy import FaultProxy
from raidcorpus import convert, fileio
from raidcorpus.cli import app
from raidcorpus.labelstudio import Server
from raidcorpus.raw_export import without_volatile

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.labelstudio


@pytest.fixture
def corpus(tmp_path) -> Path:
    out = tmp_path / "corpus"
    out.mkdir()
    for path in sorted((ROOT / "corpus").glob("*.json"))[:3]:
        shutil.copy(path, out / path.name)
    return out


@pytest.fixture
def proxy(label_studio):
    with FaultProxy(label_studio.url) as p:
        yield p


def cli(env, *args):
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def tasks_of(label_studio, title) -> list[dict]:
    server = Server(label_studio.url, label_studio.token)
    return server.tasks(server.project(title).id)


def n_docs(corpus: Path) -> int:
    return len(list(corpus.glob("*.json")))


@pytest.mark.parametrize("fault", ["lose-reply", "drop"])
def test_a_lost_import_reply_never_duplicates_tasks(label_studio, proxy, corpus, tmp_path, fault):
    title = f"lost reply {fault}"
    proxy.fail("POST", r"/api/projects/\d+/import", fault)
    env = label_studio.cli_env() | {"LABEL_STUDIO_URL": proxy.url}
    res = cli(env, "push", "--project", title, "--corpus", corpus, "--annotations", tmp_path / "a")
    n = n_docs(corpus)
    assert res.exit_code == 0, res.output
    assert [f for _, _, f in proxy.faults()] == [fault], proxy.seen  # the fault did happen
    tasks = tasks_of(label_studio, title)
    assert len(tasks) == n, [t["data"]["doc_id"] for t in tasks]
    assert f"{n} tasks imported" in res.output
    again = cli(env, "push", "--project", title, "--corpus", corpus)
    assert again.exit_code == 0 and f"0 tasks imported, {n} already there" in again.output
    assert len(tasks_of(label_studio, title)) == n


def test_a_server_error_before_the_import_is_retried_once(label_studio, proxy, corpus, tmp_path):
    title = "502 before import"
    proxy.fail("POST", r"/api/projects/\d+/import", "502", times=2)
    env = label_studio.cli_env() | {"LABEL_STUDIO_URL": proxy.url}
    res = cli(env, "push", "--project", title, "--corpus", corpus)
    assert res.exit_code == 0, res.output
    assert len(tasks_of(label_studio, title)) == n_docs(corpus)


def test_an_import_that_keeps_failing_stops_in_one_line_and_a_rerun_completes(label_studio, proxy, corpus):
    title = "always 502"
    proxy.fail("POST", r"/api/projects/\d+/import", "502", times=100)
    env = label_studio.cli_env() | {"LABEL_STUDIO_URL": proxy.url}
    res = cli(env, "push", "--project", title, "--corpus", corpus)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "did not arrive" in res.stderr and "run push again" in res.stderr
    proxy.rules.clear()
    res = cli(env, "push", "--project", title, "--corpus", corpus)
    assert res.exit_code == 0 and len(tasks_of(label_studio, title)) == n_docs(corpus)


def test_two_pushes_at_once_make_one_project_with_one_task_per_article(label_studio, corpus):
    title = "concurrent push"
    cmd = [sys.executable, "-m", "raidcorpus.cli", "push", "--project", title, "--corpus", str(corpus)]
    procs = [subprocess.Popen(cmd, env=label_studio.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    server = Server(label_studio.url, label_studio.token)
    projects = [p for p in server.rest("list projects", "GET", "api/projects/", params={"title": title})["results"] if p["title"] == title]
    assert len(projects) == 1
    assert len(server.tasks(projects[0]["id"])) == n_docs(corpus)
    assert sum(int(re.search(r"(\d+) tasks imported", o).group(1)) for o, _ in outs) == n_docs(corpus)


def _valid_record(doc: dict, annotator: str) -> dict:
    words = list(re.finditer(r"\w{5,}", doc["text"]))[:2]
    ents = [{"id": f"T{i}", "type": "ORG", "start": m.start(), "end": m.end(), "text": m.group(), "attributes": {"mention": "NAM"}}
            for i, m in enumerate(words, 1)]
    return {"kind": "annotation", "schema_version": "1.0", "document": doc["id"], "annotator": annotator,
            "text_sha256": doc["sha256"], "entities": ents, "events": [], "entity_clusters": [], "event_clusters": []}


def test_a_task_text_edited_in_label_studio_is_reported_and_never_overwrites_a_layer(label_studio, corpus, tmp_path):
    title = "edited text"
    env = label_studio.cli_env()
    ann = tmp_path / "annotations"
    assert cli(env, "push", "--project", title, "--corpus", corpus).exit_code == 0
    server = Server(label_studio.url, label_studio.token)
    task = tasks_of(label_studio, title)[0]
    doc = fileio.read_json(corpus / f"{task['data']['doc_id']}.json")
    server.create_annotation(task["id"], convert.record_to_results(_valid_record(doc, "x")))
    first = cli(env, "pull", "--project", title, "--annotations", ann, "--corpus", corpus)
    assert first.exit_code == 0, first.output
    layers = list((ann / doc["id"]).glob("annotator-*.json"))
    assert len(layers) == 1
    before = layers[0].read_bytes()

    # someone edits the article in Label Studio; the stored hash field stays as push wrote it
    edited = dict(task["data"], text="EDITED " + task["data"]["text"])
    server.update_task_data(task["id"], edited)
    push = cli(env, "push", "--project", title, "--corpus", corpus)
    assert push.exit_code == 1 and f"changed: {doc['id']} has a different text than task {task['id']}" in push.output
    second = cli(env, "pull", "--project", title, "--annotations", ann, "--corpus", corpus)
    assert second.exit_code == 1 and "text" in second.output and "Traceback" not in second.output
    assert layers[0].read_bytes() == before


@pytest.mark.parametrize("url", ["http://admin:s3cr3t-pw@127.0.0.1:{port}", "http://tok3n-in-url@127.0.0.1:{port}",
                                 "http://127.0.0.1:{port}/?token=s3cr3t-pw"])
def test_a_secret_in_the_url_is_never_echoed(label_studio, proxy, corpus, tmp_path, url):
    from conftest import free_port

    proxy.fail("GET", r"/api/", "502", times=100)
    closed, through_proxy = url.format(port=free_port()), url.format(port=int(proxy.url.rsplit(":", 1)[1]))
    for args in (["push", "--url", through_proxy, "--corpus", corpus], ["pull", "--url", closed, "--annotations", tmp_path / "a"]):
        if True:
            res = cli(label_studio.cli_env(), *args)
            assert res.exit_code != 0
            assert "s3cr3t" not in res.output and "tok3n" not in res.output, res.output
            assert "***" in res.output, res.output
        assert not (tmp_path / "a").exists() or "s3cr3t" not in "".join(
            p.read_text(errors="replace") for p in (tmp_path / "a").rglob("*") if p.is_file())


def test_pull_keeps_no_email_address_even_from_drafts(label_studio, corpus, tmp_path):
    from raidcorpus.scrub import EMAIL

    def addresses(data: bytes) -> list[str]:
        return EMAIL.findall(data.decode("utf-8", "replace"))

    title = "drafts and addresses"
    env = label_studio.cli_env()
    ann = tmp_path / "annotations"
    assert cli(env, "push", "--project", title, "--corpus", corpus).exit_code == 0
    server = Server(label_studio.url, label_studio.token)
    first, second = tasks_of(label_studio, title)[:2]
    doc = fileio.read_json(corpus / f"{first['data']['doc_id']}.json")
    results = convert.record_to_results(_valid_record(doc, "x"))
    server.create_annotation(first["id"], results)
    for task in (first, second):  # drafts, as the labelling screen saves them on its own
        server.rest("save a draft", "POST", f"api/tasks/{task['id']}/drafts", {"result": results, "lead_time": 3.0})
    raw_export = server.export(server.project(title).id)
    assert label_studio.email.encode() in raw_export  # the server's export does name the user
    res = cli(env, "pull", "--project", title, "--annotations", ann, "--corpus", corpus)
    assert res.exit_code == 0, res.output
    assert label_studio.email not in res.output
    written = {p: p.read_bytes() for p in ann.rglob("*") if p.is_file()}
    raw = [p for p in written if p.name.endswith(".json.gz")]
    assert raw, written.keys()
    import gzip

    for path, data in written.items():
        text = gzip.decompress(data) if path.name.endswith(".gz") else data
        assert not addresses(text), (path, addresses(text))
        assert label_studio.email.split("@")[0].encode() + b"@" not in text
    kept = fileio.read_json(raw[0])
    drafts = [d for t in kept for d in t.get("drafts") or ()]
    assert len(drafts) == 2 and all(d.get("user") != label_studio.email for d in drafts)
    # the kept export still converts to the same layers
    again = tmp_path / "again"
    shutil.copytree(ann, again, ignore=shutil.ignore_patterns("raw"))
    before = {p.relative_to(again): p.read_bytes() for p in again.rglob("*.json")}
    res = cli(env, "convert", raw[0], "--annotations", again, "--corpus", corpus)
    assert res.exit_code == 0, res.output
    assert {p.relative_to(again): p.read_bytes() for p in again.rglob("*.json")} == before


def test_pull_retries_a_failed_export_and_an_export_that_keeps_failing_writes_nothing(label_studio, proxy, corpus, tmp_path):
    """pull asks for the whole export once: a reply lost on the way is asked for again and gives the
    records and kept export a clean pull gives; an export that keeps failing stops the pull in one
    line, nothing written."""
    import gzip

    title = "export retried"
    env = label_studio.cli_env() | {"LABEL_STUDIO_URL": proxy.url}
    assert cli(env, "push", "--project", title, "--corpus", corpus).exit_code == 0
    server = Server(label_studio.url, label_studio.token)
    for task in tasks_of(label_studio, title):
        doc = fileio.read_json(corpus / f"{task['data']['doc_id']}.json")
        server.create_annotation(task["id"], convert.record_to_results(_valid_record(doc, "x")))

    proxy.fail("GET", r"/export\?", "502")  # the export fails once, then comes
    retried = tmp_path / "retried"
    res = cli(env, "pull", "--project", title, "--annotations", retried, "--corpus", corpus)
    assert res.exit_code == 0, res.output
    assert sum(1 for method, path, _ in proxy.seen if method == "GET" and "/export?" in path) == 2
    clean = tmp_path / "clean"
    assert cli(label_studio.cli_env(), "pull", "--project", title, "--annotations", clean, "--corpus", corpus).exit_code == 0
    records = lambda root: {p.relative_to(root): p.read_bytes() for p in root.rglob("*.json")}  # noqa: E731
    assert records(retried) == records(clean) and len(records(clean)) == n_docs(corpus)
    raw = lambda root: without_volatile(orjson_loads(gzip.decompress(next((root / "raw").glob("*.gz")).read_bytes())))  # noqa: E731
    assert raw(retried) == raw(clean)

    proxy.fail("GET", r"/export\?", "502", times=100)
    broken = tmp_path / "broken"
    res = cli(env, "pull", "--project", title, "--annotations", broken, "--corpus", corpus)
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert len(res.stderr.strip().splitlines()) == 1 and "export the project" in res.stderr and "[ls-server-error]" in res.stderr
    assert not broken.exists()


def orjson_loads(data: bytes):
    import orjson

    return orjson.loads(data)


def test_lost_replies_to_some_of_several_import_batches_never_duplicate_and_the_rest_still_goes(
        label_studio, proxy, corpus, monkeypatch):
    """push sends its batches one after another: a reply lost or a connection dropped on any batch
    is read back before going on, each task arriving once."""
    from raidcorpus import push as mod

    monkeypatch.setattr(mod, "BATCH", 1)  # one task per batch: three batches
    title = "lost replies in batches"
    proxy.fail("POST", r"/api/projects/\d+/import", "lose-reply")
    proxy.fail("POST", r"/api/projects/\d+/import", "drop")
    env = label_studio.cli_env() | {"LABEL_STUDIO_URL": proxy.url}
    res = cli(env, "push", "--project", title, "--corpus", corpus)
    n = n_docs(corpus)
    assert res.exit_code == 0, res.output
    assert [f for _, _, f in proxy.faults()] == ["lose-reply", "drop"]
    assert sum(1 for m, p, _ in proxy.seen if m == "POST" and re.search(r"/import", p)) == n  # nothing sent twice
    tasks = tasks_of(label_studio, title)
    assert sorted(t["data"]["doc_id"] for t in tasks) == sorted(p.stem for p in corpus.glob("*.json"))
    assert f"{n} tasks imported" in res.output
