"""An annotator's session in headless Chromium: label, link, set attributes, submit; pull returns exactly that."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import fileio
from raidcorpus.cli import app
from raidcorpus.labelstudio import Server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The viewport rectangle of the nth occurrence of a word in the labelling text, scrolled into view.
WORD_BOX = """([word, nth]) => {
  const root = document.querySelector('.lsf-htx-richtext');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let n = 0, node;
  while ((node = walker.nextNode())) {
    let i = -1;
    while ((i = node.data.indexOf(word, i + 1)) >= 0) {
      if (n++ === nth) {
        node.parentElement.scrollIntoView({block: 'center'});
        const r = document.createRange();
        r.setStart(node, i);
        r.setEnd(node, i + word.length);
        const b = r.getBoundingClientRect();
        return [b.left, b.top, b.right, b.bottom];
      }
    }
  }
  return null;
}"""


def drag_over(page, word: str) -> None:
    left, top, right, bottom = page.evaluate(WORD_BOX, [word, 0])
    y = (top + bottom) / 2
    page.mouse.move(left + 1, y)
    page.mouse.down()
    page.mouse.move((left + right) / 2, y, steps=4)
    page.mouse.move(right - 1, y, steps=4)
    page.mouse.up()


def first_words(text: str) -> tuple[re.Match, re.Match]:
    """Two different words of 5+ letters, each at its first occurrence in the text (so the page finds the same one)."""
    picked: list[re.Match] = []
    for m in re.finditer(r"[A-Za-z]{5,}", text):
        if text.find(m.group()) == m.start() and all(m.group() not in p.group() and p.group() not in m.group() for p in picked):
            picked.append(m)
            if len(picked) == 2:
                return picked[0], picked[1]
    raise AssertionError("no two words to label")


@pytest.mark.labelstudio
@pytest.mark.browser
def test_label_link_and_submit_in_the_browser_then_pull(label_studio, tmp_path):
    from playwright.sync_api import sync_playwright

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in sorted((ROOT / "corpus").glob("*.json")):
        if "-muc" not in path.name:  # the seed articles only (the MUC messages are not what this session labels)
            shutil.copy(path, corpus / path.name)
    title = "browser session"
    env = label_studio.cli_env()
    assert CliRunner().invoke(app, ["push", "--project", title, "--corpus", str(corpus)], env=env).exit_code == 0
    server = Server(label_studio.url, label_studio.token)
    project = server.project(title)
    task = server.tasks(project.id)[0]
    text = task["data"]["text"]
    place, trigger = first_words(text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{label_studio.url}/user/login/")
        page.fill('input[name="email"]', label_studio.email)
        page.fill('input[name="password"]', label_studio.password)
        page.click('button[type="submit"]')
        page.wait_for_load_state("networkidle")
        page.goto(f"{label_studio.url}/projects/{project.id}/data?task={task['id']}")
        page.wait_for_selector(".lsf-htx-richtext", timeout=60000)

        page.click('.lsf-label:has-text("GPE")')
        drag_over(page, place.group())
        page.click(f'.lsf-outliner-item:has-text("{place.group()}")')
        assert page.locator('input[name="NAM"]').is_visible()
        assert not page.locator('input[name="actual"]').is_visible()
        page.click('input[name="NAM"]')
        page.keyboard.press("u")

        page.click('.lsf-label:has-text("Raid")')
        drag_over(page, trigger.group())
        page.click(f'.lsf-outliner-item:has-text("{trigger.group()}")')
        # Event attributes show for the trigger; attack_type only for Attack triggers; mention never.
        assert page.locator('input[name="actual"]').is_visible()
        assert not page.locator('input[name="bombing_explosion"]').is_visible()
        assert not page.locator('input[name="NAM"]').is_visible()
        for value in ("actual", "positive", "specific", "asserted"):
            page.click(f'input[name="{value}"]')

        page.click('button[aria-label="Create Relation"]')
        left, top, right, bottom = page.evaluate(WORD_BOX, [place.group(), 0])
        page.mouse.click((left + right) / 2, (top + bottom) / 2)
        page.click("text=Relations")
        item = page.locator(".lsf-relations__item").first
        item.hover()
        item.locator('button[aria-label="Show Relation Labels"]').click()
        page.click(".lsf-relation-meta button")
        page.locator("[role=option]", has_text="Place").first.click()
        page.keyboard.press("Escape")
        page.click('button[aria-label="Submit current annotation"]')
        page.wait_for_function("() => !document.querySelector('button[aria-label=\"Submit current annotation\"]')", timeout=30000)
        browser.close()

    ann = tmp_path / "annotations"
    got = CliRunner().invoke(app, ["pull", "--project", title, "--annotations", str(ann), "--corpus", str(corpus)], env=env)
    assert got.exit_code == 0, got.output
    records = list(ann.glob("*/annotator-*.json"))
    assert len(records) == 1
    record = fileio.read_json(records[0])
    assert record["document"] == task["data"]["doc_id"]
    [entity] = record["entities"]
    assert (entity["type"], entity["start"], entity["end"], entity["text"]) == ("GPE", place.start(), place.end(), place.group())
    assert entity["attributes"] == {"mention": "NAM"}
    [event] = record["events"]
    assert event["type"] == "Raid"
    assert event["trigger"] == {"start": trigger.start(), "end": trigger.end(), "text": trigger.group()}
    assert event["attributes"] == {"status": "actual", "polarity": "positive", "genericity": "specific", "evidentiality": "asserted"}
    assert event["arguments"] == [{"role": "Place", "entity": entity["id"], "type": "GPE"}]
    assert record["entity_clusters"] == [] and record["event_clusters"] == []
