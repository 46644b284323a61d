"""push / pull / convert against a real Label Studio, and the ways they fail."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import convert, fileio, ls_config, push
from raidcorpus.cli import app
from raidcorpus.errors import UserError
from raidcorpus.text import apply_removed, sha256_text
from raidcorpus.labelstudio import Server

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.labelstudio


@pytest.fixture(params=["sqlite", "postgresql"])
def label_studio(request):
    """Every round trip runs against a SQLite- and a PostgreSQL-backed server."""
    return request.getfixturevalue(f"label_studio_{request.param}")


@pytest.fixture
def corpus(tmp_path) -> Path:
    out = tmp_path / "corpus"
    out.mkdir()
    for path in sorted((ROOT / "corpus").glob("*.json")):
        if "-muc" not in path.name:  # the seed articles: 1,700 MUC messages would be 1,700 more round trips
            shutil.copy(path, out / path.name)
    assert list(out.glob("*.json")), "the committed corpus is empty"
    return out


def docs(corpus: Path) -> list[dict]:
    return [fileio.read_json(p) for p in sorted(corpus.glob("*.json"))]


def make_record(doc: dict, annotator: str, shift: int = 0) -> dict:
    """A small valid annotation of `doc`: three entities, one Raid with two arguments, one cluster."""
    words = [m for m in re.finditer(r"\w{5,}", doc["text"])][shift:shift + 4]
    (a, b, c, t) = words
    ent = lambda i, m, ty: {"id": f"T{i}", "type": ty, "start": m.start(), "end": m.end(), "text": m.group(), "attributes": {"mention": "NAM"}}
    entities = [ent(1, a, "GPE"), ent(2, b, "ORG"), ent(3, c, "GPE")]
    event = {"id": "E1", "type": "Raid", "trigger": {"start": t.start(), "end": t.end(), "text": t.group()},
             "arguments": [{"role": "Agent", "entity": "T2", "type": "ORG"}, {"role": "Place", "entity": "T1", "type": "GPE"}],
             "attributes": {"status": "actual", "polarity": "positive", "genericity": "specific", "evidentiality": "asserted"}}
    record = {"kind": "annotation", "schema_version": "1.0", "document": doc["id"], "annotator": annotator,
              "text_sha256": doc["sha256"], "entities": entities, "events": [event],
              "entity_clusters": [{"id": "C-T1", "members": ["T1", "T3"]}], "event_clusters": []}
    return convert.canonical(record)


def cli(label_studio, *args, env=None):
    return CliRunner().invoke(app, list(args), env=env or label_studio.cli_env())


def annotator(label_studio, *args):
    env = label_studio.cli_env() | {"LABEL_STUDIO_DATA": str(label_studio.data)}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "ls-annotator.py"), *args], env=env, capture_output=True, text=True, timeout=120)


def snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def test_push_twice_makes_one_task_per_article_and_changed_text_is_reported(label_studio, corpus, tmp_path):
    title = "push twice"
    first = cli(label_studio, "push", "--project", title, "--corpus", str(corpus), "--annotations", str(tmp_path / "a"))
    assert first.exit_code == 0, first.output
    n = len(docs(corpus))
    assert f"{n} tasks imported" in first.output and "created" in first.output
    second = cli(label_studio, "push", "--project", title, "--corpus", str(corpus))
    assert second.exit_code == 0 and f"0 tasks imported, {n} already there" in second.output
    assert "config updated" not in second.output

    path = sorted(corpus.glob("*.json"))[0]
    doc = fileio.read_json(path)
    doc["raw_text"] += " Updated."  # a consistent new version of the record: push reads only valid records
    doc["raw_sha256"] = sha256_text(doc["raw_text"])
    doc["text"] = apply_removed(doc["raw_text"], doc["removed"])
    doc["sha256"] = sha256_text(doc["text"])
    fileio.write_json(path, doc)
    third = cli(label_studio, "push", "--project", title, "--corpus", str(corpus))
    assert third.exit_code == 1 and f"changed: {doc['id']}" in third.output

    server = Server(label_studio.url, label_studio.token)
    tasks = server.tasks(server.project(title).id)
    assert sorted(t["data"]["doc_id"] for t in tasks) == sorted(d["id"] for d in docs(corpus))


def test_predictions_go_inline_and_in_bulk_for_tasks_already_there(label_studio, corpus, tmp_path):
    title = "predictions"
    ann = tmp_path / "annotations"
    first, second = docs(corpus)[:2]
    gold = make_record(first, "gold")
    fileio.write_json(ann / first["id"] / "gold.json", gold)
    got = cli(label_studio, "push", "--project", title, "--corpus", str(corpus), "--annotations", str(ann), "--predictions", "gold")
    assert got.exit_code == 0 and "predictions: 1 added" in got.output, got.output

    fileio.write_json(ann / second["id"] / "gold.json", make_record(second, "gold"))
    again = cli(label_studio, "push", "--project", title, "--corpus", str(corpus), "--annotations", str(ann), "--predictions", "gold")
    assert "0 tasks imported" in again.output and "predictions: 1 added, 0 replaced, 1 unchanged" in again.output, again.output

    server = Server(label_studio.url, label_studio.token)
    by_doc = {t["data"]["doc_id"]: t for t in server.tasks(server.project(title).id)}
    preds = by_doc[first["id"]]["predictions"]
    assert [p["model_version"] for p in preds] == ["gold"]
    assert preds[0]["result"] == convert.record_to_results(gold)
    assert len(by_doc[second["id"]]["predictions"]) == 1


def test_annotators_round_trip_through_label_studio_and_survive_a_restart(label_studio, corpus, tmp_path):
    title = "round trip"
    ann = tmp_path / "annotations"
    assert cli(label_studio, "push", "--project", title, "--corpus", str(corpus)).exit_code == 0
    doc = docs(corpus)[0]
    mine, theirs = make_record(doc, "annotator-1"), make_record(doc, "annotator-2", shift=3)
    files = []
    for name, record in (("ann-one", mine), ("ann-two", theirs)):
        path = tmp_path / f"{name}.json"
        fileio.write_json(path, record)
        files.append(path)
        made = annotator(label_studio, "add", name)
        assert made.returncode == 0, made.stderr
        assert label_studio.token not in made.stdout
        sent = annotator(label_studio, "--project", title, "submit", name, str(path), "--corpus", str(corpus))
        assert sent.returncode == 0 and "created" in sent.stdout, sent.stderr
    assert oct((label_studio.data / "annotators" / "ann-one.json").stat().st_mode & 0o777) == "0o600"

    # The admin skips the task: counted, not converted.
    server = Server(label_studio.url, label_studio.token)
    task = next(t for t in server.tasks(server.project(title).id) if t["data"]["doc_id"] == doc["id"])
    server.rest("skip a task", "POST", f"api/tasks/{task['id']}/annotations/", {"result": [], "was_cancelled": True})

    got = cli(label_studio, "pull", "--project", title, "--annotations", str(ann), "--corpus", str(corpus))
    assert got.exit_code == 0, got.output
    assert "cancelled (skipped): task=" in got.output and "unconverted" not in got.output and "invalid" not in got.output
    for name, record in (("annotator-1", mine), ("annotator-2", theirs)):
        back = fileio.read_json(ann / doc["id"] / f"{name}.json")
        assert back.pop("source")["label_studio_task"] == task["id"]
        assert back == record
    names = (ann / "annotators.yaml").read_text()
    assert "@" not in names and "annotator-1" in names and "annotator-2" in names
    raws = list((ann / "raw").glob("round-trip-*.json.gz"))
    assert len(raws) == 1 and isinstance(fileio.read_json(raws[0]), list)

    before = snapshot(ann)
    again = cli(label_studio, "pull", "--project", title, "--annotations", str(ann), "--corpus", str(corpus))
    assert again.exit_code == 0 and "unchanged" in again.output and "0 files written" in again.output
    assert snapshot(ann) == before

    offline = tmp_path / "offline"
    shutil.copytree(ann, offline, ignore=shutil.ignore_patterns("*-1.json", "*-2.json"))
    converted = cli(label_studio, "convert", str(raws[0]), "--annotations", str(offline), "--corpus", str(corpus))
    assert converted.exit_code == 0, converted.output
    for name in ("annotator-1", "annotator-2"):
        assert (offline / doc["id"] / f"{name}.json").read_bytes() == (ann / doc["id"] / f"{name}.json").read_bytes()

    label_studio.restart()
    after = cli(label_studio, "pull", "--project", title, "--annotations", str(ann), "--corpus", str(corpus))
    assert after.exit_code == 0 and "unchanged" in after.output, after.output
    assert snapshot(ann) == before


def test_pull_edges_clone_deleted_annotation_deleted_user_and_a_refused_pull(label_studio, corpus, tmp_path):
    title = "edges"
    ann = tmp_path / "annotations"
    assert cli(label_studio, "push", "--project", title, "--corpus", str(corpus)).exit_code == 0
    doc = docs(corpus)[1]
    for name, shift in (("edge-one", 0), ("edge-two", 3)):
        path = tmp_path / f"{name}.json"
        fileio.write_json(path, make_record(doc, "someone", shift=shift))
        assert annotator(label_studio, "add", name).returncode == 0
        sent = annotator(label_studio, "--project", title, "submit", name, str(path), "--corpus", str(corpus))
        assert sent.returncode == 0, sent.stderr
    pull_args = ("pull", "--project", title, "--corpus", str(corpus), "--annotations")
    first = cli(label_studio, *pull_args, str(ann))
    assert first.exit_code == 0, first.output
    files = sorted(p.name for p in (ann / doc["id"]).glob("*.json"))
    assert files == ["annotator-1.json", "annotator-2.json"]

    # Another maintainer's clone: only the committed table, no secret; the same pseudonyms.
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy(ann / "annotators.yaml", clone / "annotators.yaml")
    assert cli(label_studio, *pull_args, str(clone)).exit_code == 0
    for name in files:
        assert (clone / doc["id"] / name).read_bytes() == (ann / doc["id"] / name).read_bytes()

    # A refused pull writes nothing: no raw export, no record.
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "annotators.yaml").write_text("kind: annotators\nannotators: [1, 2]\n")
    refused = cli(label_studio, *pull_args, str(broken))
    assert refused.exit_code != 0 and "annotators.yaml doc=- /" in refused.output and "[missing-field]" in refused.output, refused.output
    assert sorted(p.name for p in broken.rglob("*")) == ["annotators.yaml"]

    server = Server(label_studio.url, label_studio.token)
    task = next(t for t in server.tasks(server.project(title).id) if t["data"]["doc_id"] == doc["id"])
    two = fileio.read_json(ann / doc["id"] / "annotator-2.json")["source"]["label_studio_annotation"]
    server.rest("delete an annotation", "DELETE", f"api/annotations/{two}/")
    gone = cli(label_studio, *pull_args, str(ann))
    assert gone.exit_code == 0, gone.output
    assert f"task={task['id']} annotation={two} is no longer" in gone.output
    assert not (ann / doc["id"] / "annotator-2.json").exists() and (ann / doc["id"] / "annotator-1.json").exists()

    # A deleted user keeps one pseudonym: the record stays as it is (the table notes its annotation
    # id once), and the next pull changes no file at all.
    record = (ann / doc["id"] / "annotator-1.json").read_bytes()
    [one] = [u["id"] for u in server.users() if u["email"].startswith("edge-one@")]
    server.rest("delete a user", "DELETE", f"api/users/{one}/")
    again = cli(label_studio, *pull_args, str(ann))
    assert again.exit_code == 0 and "0 files written" in again.output, again.output
    assert (ann / doc["id"] / "annotator-1.json").read_bytes() == record
    before = snapshot(ann)
    again = cli(label_studio, *pull_args, str(ann))
    assert again.exit_code == 0 and "unchanged" in again.output and "0 files written" in again.output, again.output
    assert snapshot(ann) == before

    # A task deleted in Label Studio: its layer is kept and every pull names it by task, annotation
    # and document; nothing else changes.
    kept = fileio.read_json(ann / doc["id"] / "annotator-1.json")["source"]
    server.rest("delete a task", "DELETE", f"api/tasks/{task['id']}/")
    deleted = cli(label_studio, *pull_args, str(ann))
    assert deleted.exit_code == 0, deleted.output
    line = next(x for x in deleted.output.splitlines() if x.startswith("kept "))
    assert f"doc={doc['id']} task={task['id']} annotation={kept['label_studio_annotation']}: the task is not in the project" in line
    assert (ann / doc["id"] / "annotator-1.json").read_bytes() == record
    before = snapshot(ann)
    again = cli(label_studio, *pull_args, str(ann))
    assert again.exit_code == 0 and "0 files written" in again.output and "task is not in the project" in again.output
    assert snapshot(ann) == before


def test_config_update_refuses_to_drop_labels_in_use(label_studio, corpus, tmp_path):
    title = "config update"
    server = Server(label_studio.url, label_studio.token)
    push.push(server, title, corpus)
    doc = docs(corpus)[0]
    path = tmp_path / "a.json"
    fileio.write_json(path, make_record(doc, "annotator-1"))
    push.submit(server, title, path, corpus)
    without_raid = re.sub(r'\s*<Label value="Raid"[^>]*/>', "", ls_config.render())
    with pytest.raises(UserError, match="event=Raid"):
        push.push(server, title, corpus, config=without_raid)
    without_hijacking = re.sub(r'\s*<Choice value="hijacking"[^>]*/>', "", ls_config.render())
    assert push.push(server, title, corpus, config=without_hijacking).config_updated
    assert push.push(server, title, corpus).config_updated


class Faulty(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first `fail` requests, then a minimal whoami; or sleeps."""

    fail = 0
    sleep = 0.0
    seen = 0

    def do_GET(self):
        type(self).seen += 1
        if self.sleep:
            time.sleep(self.sleep)
        try:
            self._answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and left: nothing to print into the next test's output

    def _answer(self):
        if type(self).seen <= self.fail:
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"id": 7, "email": "x@example.org", "username": "x"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def faulty():
    def start(fail=0, sleep=0.0):
        handler = type("Handler", (Faulty,), {"fail": fail, "sleep": sleep, "seen": 0})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", handler

    servers = []
    yield start
    for s in servers:
        s.shutdown()


def test_server_errors_are_retried_with_bounded_backoff(faulty):
    url, handler = faulty(fail=2)
    assert Server(url, "t0ken-secret", retries=3, backoff=0.01).check() == 7
    assert handler.seen == 3
    url, handler = faulty(fail=100)
    with pytest.raises(UserError, match=r"HTTP 503\) after 4 tries") as e:
        Server(url, "t0ken-secret", retries=3, backoff=0.01).check()
    assert handler.seen == 4 and "t0ken-secret" not in str(e.value)
    url, handler = faulty(sleep=1.0)
    with pytest.raises(UserError, match="did not answer"):
        Server(url, "t0ken-secret", timeout=0.2, retries=1, backoff=0.01).check()


def test_failures_are_one_line_and_never_show_the_token(label_studio, corpus):
    from tests.conftest import free_port

    token = label_studio.token
    cases = [
        ({"LABEL_STUDIO_URL": f"http://127.0.0.1:{free_port()}"}, ["pull"], "cannot reach Label Studio"),
        ({"LABEL_STUDIO_URL": label_studio.url + "/nowhere"}, ["pull"], "(404)"),
        ({"LABEL_STUDIO_URL": "not a url"}, ["pull"], "not a Label Studio URL"),
        ({"LABEL_STUDIO_API_KEY": "0" * 40}, ["pull"], "rejected the token (401)"),
        ({}, ["pull", "--project", "no such project"], "no project titled 'no such project'"),
        ({}, ["push", "--corpus", str(corpus.parent / "missing")], "no corpus folder"),
        ({"LABEL_STUDIO_API_KEY": ""}, ["pull"], "no Label Studio token"),
    ]
    for extra, args, message in cases:
        got = cli(label_studio, *args, env=label_studio.cli_env() | extra)
        assert got.exit_code != 0, (args, got.output)
        assert message in got.output, (args, got.output)
        assert got.output.strip().count("\n") == 0 and "Traceback" not in got.output
        assert token not in got.output


def test_two_annotators_each_get_every_task_in_the_label_stream_and_see_only_their_own(label_studio, corpus, tmp_path):
    from raidcorpus.labelstudio import signup

    title = "overlap"
    got = cli(label_studio, "push", "--project", title, "--corpus", str(corpus))
    assert got.exit_code == 0, got.output
    server = Server(label_studio.url, label_studio.token)
    project = server.project(title)
    assert (project.maximum_annotations, project.overlap_cohort_percentage, project.show_collab_predictions) == (2, 100, False)
    assert project.show_instruction and "Annotating in short" in project.expert_instruction and "<details>" in project.expert_instruction
    assert "config updated" not in cli(label_studio, "push", "--project", title, "--corpus", str(corpus)).output

    ann = tmp_path / "annotations"
    inside = cli(label_studio, "annotators", "add", "one@annotators.invalid", "--credentials", str(ROOT / "creds.txt"),
                 "--annotations", str(ann))
    assert inside.exit_code == 2 and "inside a git repository" in inside.output and not (ROOT / "creds.txt").exists()
    made = cli(label_studio, "annotators", "add", "one@annotators.invalid", "--credentials", str(tmp_path / "one.txt"),
               "--annotations", str(ann))
    assert made.exit_code == 0, made.output
    assert oct((tmp_path / "one.txt").stat().st_mode & 0o777) == "0o600" and "@" not in made.output
    assert "annotator-1 in" in made.output  # the pseudonym and the user id name the account, never its address
    printed = cli(label_studio, "annotators", "add", "two@annotators.invalid", "--annotations", str(ann))
    assert printed.exit_code == 0 and "password (shown once" in printed.output and "annotator-2 in" in printed.output
    assert "@" not in printed.output
    again = cli(label_studio, "annotators", "add", "two@annotators.invalid", "--annotations", str(ann))
    assert again.exit_code == 1 and "exists already" in again.output
    passwords = {"one@annotators.invalid": (tmp_path / "one.txt").read_text().split("password=")[1].strip(),
                 "two@annotators.invalid": printed.output.rsplit(": ", 1)[1].strip()}

    by_doc = {d["id"]: d for d in docs(corpus)}
    seen: dict[str, list[int]] = {}
    for i, (email, password) in enumerate(passwords.items()):
        mine = Server(label_studio.url, signup(label_studio.url, email, password))
        seen[email] = []
        for _ in range(len(by_doc) + 2):
            try:
                task = mine.rest("read the next task", "GET", f"api/projects/{project.id}/next")
            except UserError as e:
                assert "[ls-not-found]" in e.message, e.message
                break
            # The label stream shows an annotator only their own annotations (none yet).
            assert task["annotations"] == [], (email, task["annotations"])
            assert task["id"] not in seen[email]
            seen[email].append(task["id"])
            record = make_record(by_doc[task["data"]["doc_id"]], "x", shift=i)
            mine.create_annotation(task["id"], convert.record_to_results(record))
    tasks = sorted(t["id"] for t in server.tasks(project.id))
    assert sorted(seen["one@annotators.invalid"]) == tasks and sorted(seen["two@annotators.invalid"]) == tasks

    pulled = cli(label_studio, "pull", "--project", title, "--annotations", str(ann), "--corpus", str(corpus))
    assert pulled.exit_code == 0, pulled.output
    for doc in by_doc:
        assert sorted(p.name for p in (ann / doc).glob("*.json")) == ["annotator-1.json", "annotator-2.json"]
    assert "@" not in (ann / "annotators.yaml").read_text() and "password" not in pulled.output
