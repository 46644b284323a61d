"""What an annotator and a curator see in Label Studio, in headless Chromium: the problems of a submit
on the task (gone once fixed), and a curation task with each annotator's version.

With RAIDCORPUS_SCREENSHOTS=1 the screenshots are also copied to docs/img/ for docs/label-studio.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import convert, feedback, fileio
from raidcorpus.cli import app
from raidcorpus.labelstudio import Server

from test_browser import ARGS, CHROMIUM
from test_feedback import wait_for
from test_quarantine import DOC, spoil

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.labelstudio, pytest.mark.browser]


def keep(shot: Path) -> None:
    if os.environ.get("RAIDCORPUS_SCREENSHOTS") == "1":
        (ROOT / "docs" / "img").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / "img" / shot.name)


def login(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/user/login/")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_load_state("networkidle")


def test_the_annotator_sees_the_problems_on_the_task_and_the_curator_sees_each_version(label_studio, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    for name in ("corpus", "annotations"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw"))
    env = label_studio.cli_env()
    title = "browser feedback"
    assert CliRunner().invoke(app, ["push", "--project", title, "--corpus", str(tmp_path / "corpus")], env=env).exit_code == 0
    admin = Server(label_studio.url, label_studio.token)
    project = admin.project(title)
    task = next(t for t in admin.tasks(project.id) if t["data"]["doc_id"] == DOC)
    receiver = feedback.Receiver(admin, tmp_path / "corpus", project_id=project.id).start()
    feedback.register(admin, project.id, receiver.url)

    made = subprocess.run([sys.executable, str(ROOT / "scripts" / "ls-annotator.py"), "add", "shown"], capture_output=True, text=True,
                          env=env | {"LABEL_STUDIO_DATA": str(label_studio.data)}, timeout=120)
    assert made.returncode == 0, made.stderr
    account = json.loads((label_studio.data / "annotators" / "shown.json").read_text())
    good = fileio.read_json(ROOT / "annotations" / DOC / "annotator-1.json")
    mine = Server(label_studio.url, account["token"])
    ann = mine.create_annotation(task["id"], convert.record_to_results(spoil(good)))
    wait_for(admin, task["id"], lambda d: d.get(feedback.COUNT_FIELD), 10)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            login(page, label_studio.url, account["email"], account["password"])
            page.goto(f"{label_studio.url}/projects/{project.id}/data?task={task['id']}")
            page.wait_for_selector(".lsf-htx-richtext", timeout=60000)
            shown = page.get_by_text('cannot be the Victim of Attack "fire"')
            shown.wait_for(timeout=30000)
            assert shown.is_visible()
            assert page.get_by_text("'next thursday' is not ISO 8601").is_visible()
            page.screenshot(path=str(tmp_path / "feedback-problems.png"))
            keep(tmp_path / "feedback-problems.png")

            mine.update_annotation(ann["id"], convert.record_to_results(good))
            wait_for(admin, task["id"], lambda d: d.get(feedback.COUNT_FIELD) == 0, 10)
            page.reload()
            page.wait_for_selector(".lsf-htx-richtext", timeout=60000)
            assert page.get_by_text("cannot be the Victim").count() == 0

            # Curation: the disagreements of one document, each annotator's layer a prediction.
            monkeypatch.chdir(tmp_path)
            (tmp_path / "annotations" / DOC / "decisions.yaml").unlink()
            for other in (tmp_path / "annotations").glob("*/decisions.yaml"):
                other.unlink()
            pushed = CliRunner().invoke(app, ["curate", "--push", "--project", "browser curation"], env=env)
            assert pushed.exit_code == 0, pushed.output
            cproject = admin.project("browser curation")
            ctask = next(t for t in admin.tasks(cproject.id) if t["data"]["doc_id"] == DOC)
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()  # the curator's own session
            login(page, label_studio.url, label_studio.email, label_studio.password)
            page.goto(f"{label_studio.url}/projects/{cproject.id}/data?task={ctask['id']}")
            page.wait_for_selector(".lsf-htx-richtext", timeout=60000)
            disputed = page.get_by_text("Undecided:").first
            disputed.wait_for(timeout=30000)
            assert disputed.is_visible()
            for name in ("annotator-1", "annotator-2"):  # each layer is a prediction tab named by pseudonym
                assert page.get_by_text(name, exact=True).first.is_visible()
            page.screenshot(path=str(tmp_path / "curation-task.png"))
            keep(tmp_path / "curation-task.png")
            browser.close()
    finally:
        receiver.stop()
