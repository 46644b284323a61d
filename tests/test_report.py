"""The static HTML report: escaped, exact, written only into its folder, and readable in a browser."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import fileio, muckeys, ontology, report
from raidcorpus.text import sha256_text
from raidcorpus.cli import app

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NBC = "2015-01-15-nbc-two-suspects-dead-in-belgium-raids"


def project(tmp_path: Path) -> Path:
    """A copy of the repository's corpus and annotations (raw exports left out)."""
    shutil.copytree(ROOT / "corpus", tmp_path / "corpus")
    shutil.copytree(ROOT / "annotations", tmp_path / "annotations", ignore=shutil.ignore_patterns("raw"))
    return tmp_path


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run(tmp_path: Path, *extra: str):
    return CliRunner().invoke(app, ["report", "--out", str(tmp_path / "site"), "--annotations", str(tmp_path / "annotations"),
                                    "--corpus", str(tmp_path / "corpus"), *extra])


def test_hostile_text_is_escaped_and_pieces_stay_exact():
    text = 'x <script>alert("1")</script> & <img src=x onerror=alert(2)> y'
    gold = {"entities": [{"id": "E1", "type": "ORG", "start": 2, "end": 30, "text": text[2:30], "attributes": {}},
                         {"id": "E2", "type": "PER", "start": 10, "end": 40, "text": text[10:40], "attributes": {}}],
            "events": [], "entity_clusters": [], "event_clusters": []}
    out = report.text_html(text, gold, report.colours(ontology.load()))
    assert "<script" not in out and "<img" not in out and "&lt;script&gt;" in out
    # crossing spans: the pieces naming an entity put its text back together
    for e in gold["entities"]:
        pieces = [text[a:b] for a, b, ents, _ in report.segments(text, gold) if e in ents]
        assert "".join(pieces) == e["text"]


def test_the_command_writes_only_into_its_folder(tmp_path):
    base = project(tmp_path)
    before = tree(base)
    got = run(base)
    assert got.exit_code == 0, got.output
    after = tree(base)
    written = {k for k in after if k not in before or after[k] != before[k]}
    docs = sorted(p.stem for p in (base / "corpus").glob("*.json"))
    assert written == {"site/index.html", *(f"site/docs/{d}.html" for d in docs)}
    # again: the same bytes (inline SVG without dates or random ids)
    assert run(base).exit_code == 0 and tree(base) == after


def test_a_muc_key_is_shown_beside_the_text(tmp_path):
    base = project(tmp_path)
    text = fileio.read_json(base / "corpus" / f"{NBC}.json")["text"]
    given = {"MESSAGE: ID": "TST3-MUC4-0001", "MESSAGE: TEMPLATE": "1 (OPTIONAL)", "INCIDENT: TYPE": "ATTACK",
             "INCIDENT: STAGE OF EXECUTION": "ACCOMPLISHED", "INCIDENT: LOCATION": "BELGIUM (COUNTRY)",
             "PERP: INDIVIDUAL ID": '"<b>GUNMEN</b>"', "PHYS TGT: ID": '"Belgium"'}
    block = "".join(f"{i}.".ljust(4) + slot.ljust(32) + given.get(slot, "-") + "\n" for i, slot in enumerate(muckeys.slots()))
    [(message, templates)] = muckeys.by_message(block).items()
    key = muckeys.key_record(message, templates, text, sha256_text(text), "test", "1.0")
    (base / "annotations" / NBC / "muc4-key.json").write_text(json.dumps(key), encoding="utf-8")
    assert run(base).exit_code == 0
    page = (base / "site" / "docs" / f"{NBC}.html").read_text(encoding="utf-8")
    start = text.index("Belgium")
    assert "MUC-4 key templates" in page and "template 1 (OPTIONAL): ATTACK, ACCOMPLISHED" in page
    assert "INCIDENT: LOCATION" in page and "BELGIUM (COUNTRY)" in page and "HUM TGT: NAME" not in page  # '-' left out
    assert "&quot;&lt;b&gt;GUNMEN&lt;/b&gt;&quot;" in page and "&lt;b&gt;GUNMEN&lt;/b&gt;: not located" in page
    assert f"Belgium: {start}-{start + 7}" in page


def test_a_broken_gold_layer_stops_with_one_line(tmp_path):
    base = project(tmp_path)
    gold = base / "annotations" / NBC / "gold.json"
    record = fileio.read_json(gold)
    record["events"][0]["type"] = "Picnic"
    gold.write_text(json.dumps(record), encoding="utf-8")
    got = run(base)
    assert got.exit_code == 1
    assert len(got.output.strip().splitlines()) == 1 and f"doc={NBC}" in got.output and "[unknown-type]" in got.output
    assert not (base / "site").exists()  # nothing half-written


def test_a_linked_output_folder_is_refused(tmp_path):
    base = project(tmp_path)
    (base / "elsewhere").mkdir()
    (base / "site").symlink_to(base / "elsewhere")
    got = run(base)
    assert got.exit_code == 1 and "symbolic link" in got.output and not any((base / "elsewhere").iterdir())


@pytest.mark.browser
def test_the_pages_open_from_disk_and_show_every_gold_item(tmp_path):
    from playwright.sync_api import sync_playwright

    base = project(tmp_path)
    assert run(base).exit_code == 0
    gold = fileio.read_json(base / "annotations" / NBC / "gold.json")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto((base / "site" / "index.html").as_uri())
        assert page.locator("svg").count() >= 2  # the two agreement plots, inline
        page.screenshot(path=str(tmp_path / "index.png"))
        page.click(f"a:has-text('{NBC}')")  # the index links to the document's page
        page.wait_for_selector("#text")
        page.screenshot(path=str(tmp_path / "document.png"), full_page=True)
        pieces = page.evaluate("""() => { const out = {};
            for (const s of document.querySelectorAll('#text [data-ids]'))
              for (const id of s.dataset.ids.split(' ')) out[id] = (out[id] || '') + s.textContent;
            return out; }""")
        rows = set(page.evaluate("() => [...document.querySelectorAll('[data-item]')].map(r => r.dataset.item)"))
        shown = page.inner_text("body")
        browser.close()
    assert (tmp_path / "document.png").stat().st_size > 10_000
    for e in gold["entities"]:
        assert pieces[e["id"]] == e["text"] and e["id"] in rows
    for v in gold["events"]:
        assert pieces[v["id"]] == v["trigger"]["text"] and v["id"] in rows
        for a in v["arguments"]:
            assert f"{a['role']}: " in shown and f"[{a['entity']}]" in shown
        for name, value in v["attributes"].items():
            assert f"{name}={value}" in shown
    for c in gold["entity_clusters"] + gold["event_clusters"]:
        assert c["id"] in rows
