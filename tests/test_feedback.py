"""Validation in the loop: an annotator's problems appear on the task in Label Studio and go when fixed."""

from __future__ import annotations

import http.client
import json
import logging
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import convert, feedback, fileio
from raidcorpus.cli import app
from raidcorpus.errors import Problem
from raidcorpus.labelstudio import Server

from test_quarantine import DOC, spoil

ROOT = Path(__file__).resolve().parents[1]
LATENCY = 5.0  # seconds: docs/label-studio.md promises feedback within this after a submit


@pytest.mark.parametrize("payload", [
    None, [], "x", 3, {}, {"task": None}, {"task": {"id": "12"}}, {"task": {"id": True}}, {"task": {"id": -4}},
    {"annotation": "oops"}, {"annotations": [None, 5, {"task": "x"}]}, {"annotation": {"task": {"id": []}}},
])
def test_unexpected_payloads_name_no_task(payload):
    assert feedback.task_ids(payload) == []


def test_payloads_of_each_action_name_their_task():
    assert feedback.task_ids({"action": "ANNOTATION_CREATED", "task": {"id": 7}, "annotation": {"id": 3, "task": 7}}) == [7]
    assert feedback.task_ids({"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 1, "task": 9}, {"id": 2, "task": 8}]}) == [8, 9]


def test_problems_are_worded_with_the_region_text_and_the_rule():
    record = spoil(fileio.read_json(ROOT / "annotations" / DOC / "annotator-1.json"))
    i = next(i for i, ev in enumerate(record["events"]) if ev["trigger"]["text"] == "fire")
    j = next(j for j, a in enumerate(record["events"][i]["arguments"]) if a["role"] == "Victim")
    problem = Problem("x", DOC, f"/events/{i}/arguments/{j}/role", "role-not-allowed", "schema says no")
    region, text, words = feedback.describe(problem, record)
    assert text == "the suspects" and region == record["events"][i]["arguments"][j]["entity"]
    assert words == '"the suspects" cannot be the Victim of Attack "fire": Attack takes Attacker, Target, Instrument, Place, Time'
    # a pointer that leads nowhere still gives the message, not an exception
    assert feedback.describe(Problem("x", DOC, "/events/99/arguments/0/role", "role-not-allowed", "m"), record)[2]


# --- against the real server --------------------------------------------------------------------


def annotator(label_studio, *args):
    env = label_studio.cli_env() | {"LABEL_STUDIO_DATA": str(label_studio.data)}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "ls-annotator.py"), *args], env=env,
                          capture_output=True, text=True, timeout=120)


def post(port: int, body: bytes, headers: dict | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", feedback.PATH, body=body, headers=headers or {})
        return conn.getresponse().status
    finally:
        conn.close()


def wait_for(server: Server, task_id: int, done, limit: float) -> tuple[dict, float]:
    start = time.monotonic()
    while True:
        data = server.task(task_id)["data"]
        if done(data) or time.monotonic() - start > limit:
            return data, time.monotonic() - start
        time.sleep(0.05)


@pytest.mark.labelstudio
def test_an_annotator_sees_the_problems_of_a_submit_and_they_go_when_fixed(label_studio, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("*-muc*"))  # the seed articles only
    title = "feedback loop"
    env = label_studio.cli_env()
    assert CliRunner().invoke(app, ["push", "--project", title, "--corpus", str(corpus)], env=env).exit_code == 0
    admin = Server(label_studio.url, label_studio.token)
    project = admin.project(title)
    task = next(t for t in admin.tasks(project.id) if t["data"]["doc_id"] == DOC)

    receiver = feedback.Receiver(admin, corpus, project_id=project.id, secret="s3cret").start()
    try:
        feedback.register(admin, project.id, receiver.url, "s3cret")
        assert feedback.register(admin, project.id, receiver.url, "s3cret") == feedback.register(admin, project.id, receiver.url, "s3cret")
        assert len([h for h in admin.webhooks(project.id) if h["url"].endswith(feedback.PATH)]) == 1

        # Malformed and unexpected payloads: answered, and the receiver keeps working.
        assert post(receiver.port, b"{not json", {"X-Raidcorpus-Secret": "s3cret"}) == 400
        assert post(receiver.port, b"\xff\xfe", {"X-Raidcorpus-Secret": "s3cret"}) == 400
        assert post(receiver.port, b'{"task": {"id": 1}}') == 403  # without the webhook's secret
        assert post(receiver.port, json.dumps({"task": {"id": 10 ** 9}}).encode(), {"X-Raidcorpus-Secret": "s3cret"}) == 200
        assert post(receiver.port, json.dumps([1, {"task": "x"}]).encode(), {"X-Raidcorpus-Secret": "s3cret"}) == 200
        conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
        conn.putrequest("POST", feedback.PATH)
        conn.putheader("Content-Length", str(10 ** 12))
        conn.endheaders()
        assert conn.getresponse().status == 413
        conn.close()

        good = fileio.read_json(ROOT / "annotations" / DOC / "annotator-1.json")
        good_path = tmp_path / "good.json"
        fileio.write_json(good_path, good)
        assert annotator(label_studio, "add", "fb-one").returncode == 0
        token = json.loads((label_studio.data / "annotators" / "fb-one.json").read_text())["token"]
        as_annotator = Server(label_studio.url, token)
        start = time.monotonic()
        made = as_annotator.create_annotation(task["id"], convert.record_to_results(spoil(good)))
        data, _ = wait_for(admin, task["id"], lambda d: d.get(feedback.COUNT_FIELD), LATENCY)
        latency = time.monotonic() - start
        print(f"submit -> feedback visible: {latency:.2f} s")
        assert latency < LATENCY and data[feedback.COUNT_FIELD] == 2, data.get(feedback.FIELD)
        shown = data[feedback.FIELD]
        assert '"the suspects" cannot be the Victim of Attack "fire": Attack takes Attacker, Target, Instrument, Place, Time' in shown
        assert "'next thursday' is not ISO 8601" in shown and '"Thursday"' in shown
        assert shown.startswith(f"annotation #{made['id']}: ")
        assert data["text"] == task["data"]["text"] and data["doc_id"] == DOC  # nothing else of the task changed

        # The annotator corrects and submits again (an update): the feedback is gone.
        sent = annotator(label_studio, "--project", title, "submit", "fb-one", str(good_path), "--corpus", str(corpus))
        assert "updated" in sent.stdout, sent.stderr
        start = time.monotonic()
        data, _ = wait_for(admin, task["id"], lambda d: d.get(feedback.COUNT_FIELD) == 0, LATENCY)
        print(f"corrected submit returned -> feedback gone: {time.monotonic() - start:.2f} s")
        assert data[feedback.FIELD] == "" and data[feedback.COUNT_FIELD] == 0
        assert receiver.errors == 1  # the task id 10**9 that does not exist, logged and survived
    finally:
        receiver.stop()
    assert label_studio.token not in caplog.text and "s3cret" not in caplog.text


@pytest.mark.labelstudio
def test_the_server_script_runs_the_receiver_beside_label_studio(label_studio):
    log = label_studio.data / "feedback.log"
    deadline = time.monotonic() + 30
    while True:  # the receiver's process may still be importing
        try:
            conn = http.client.HTTPConnection("127.0.0.1", label_studio.port + 1, timeout=10)
            conn.request("GET", "/health")
            assert conn.getresponse().status == 200
            conn.close()
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, log.read_text() if log.exists() else "no feedback.log"
            time.sleep(0.5)
    assert label_studio.token not in log.read_text()
