"""Two annotators in headless Chromium, through the label stream of a project pushed with --overlap 2:
both get every task, neither sees the other's regions, each submits work made in the UI, and pull
writes both layers (a second pull changes no file). On the way: the header (title, outlet, date), the
attribute column beside the text that stays in view, the role hint of a selected trigger, and the
number of UI actions the reference event takes, on this screen and on the one before it.

With RAIDCORPUS_SCREENSHOTS=1 the screenshots are also copied to docs/img/ for docs/label-studio.md.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import convert, fileio, ls_config, push
from raidcorpus.cli import app
from raidcorpus.labelstudio import Server

from test_browser import ARGS, CHROMIUM
from test_browser_feedback import keep, login

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.labelstudio, pytest.mark.browser]

REFERENCE_DOC = "2015-01-15-nbc-two-suspects-dead-in-belgium-raids"
REFERENCE_EVENT = "E29"  # "Last week, two al Qaeda-linked gunmen stormed the offices of Charlie Hebdo, a satirical magazine in Paris"
# The labelling config at the start of the round that added hotkeys, the attribute column and role hints.
BEFORE_CONFIG = ROOT / "tests" / "data" / "ls-config-before-column.xml"
VIEWPORT = {"width": 1400, "height": 1000}

# Is this element (or text range) inside every scrolling box around it and inside the window?
IN_VIEW = """(el, r) => {
  r = r || el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) return false;
  for (let a = el.parentElement; a; a = a.parentElement) {
    if (/(auto|scroll|hidden)/.test(getComputedStyle(a).overflowY)) {
      const p = a.getBoundingClientRect();
      if (r.top < p.top - 1 || r.bottom > p.bottom + 1) return false;
    }
  }
  return r.top >= 0 && r.bottom <= innerHeight;
}"""

# The client rectangles of the nth occurrence of a phrase in the labelling text; scrolled into view
# only when it is not (and then says so).
PHRASE = """([phrase, nth, inView]) => {
  const fits = eval(inView);
  const root = document.querySelector('.lsf-htx-richtext');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  let n = 0, node;
  while ((node = walker.nextNode())) {
    let i = -1;
    while ((i = node.data.indexOf(phrase, i + 1)) >= 0) {
      if (n++ !== nth) continue;
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + phrase.length);
      let scrolled = false;
      if (!fits(node.parentElement, range.getBoundingClientRect())) {
        node.parentElement.scrollIntoView({block: 'center'});
        scrolled = true;
      }
      const rects = [...range.getClientRects()].filter(q => q.width > 0);
      return {scrolled, first: [rects[0].left, rects[0].top, rects[0].bottom],
              last: [rects[rects.length - 1].right, rects[rects.length - 1].top, rects[rects.length - 1].bottom]};
    }
  }
  return null;
}"""


HIGHLIGHTS = "new Set([...document.querySelectorAll('.lsf-htx-richtext .htx-highlight')].map(e => e.dataset.index)).size"


def highlights(page) -> int:
    """How many regions the text shows (whichever tab the side panel is on)."""
    return page.evaluate(f"() => {HIGHLIGHTS}")


@dataclass
class Actions:
    """Drives the labelling screen and counts what a person does: clicks, key presses, text
    selections (one drag each), typed values (one each), and scrolls (one each time the target of
    the next action is outside the visible part of the page)."""

    page: object
    text: str
    counts: dict = field(default_factory=lambda: dict.fromkeys(("clicks", "keys", "selections", "typed", "scrolls"), 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def _nth(self, phrase: str, start: int) -> int:
        assert self.text[start:start + len(phrase)] == phrase, (phrase, start)
        return self.text[:start].count(phrase)

    def _locate(self, phrase: str, start: int) -> dict:
        box = self.page.evaluate(PHRASE, [phrase, self._nth(phrase, start), IN_VIEW])
        assert box is not None, f"{phrase!r} not on the page"
        self.counts["scrolls"] += box["scrolled"]
        return box

    def select(self, phrase: str, start: int) -> None:
        """Drag over the phrase (one text selection)."""
        regions = highlights(self.page)
        box = self._locate(phrase, start)
        (x0, t0, b0), (x1, t1, b1) = box["first"], box["last"]
        self.counts["selections"] += 1
        for _ in range(3):  # a drag the editor missed (not ready yet) is made again, not counted again
            self.page.mouse.move(x0 + 1, (t0 + b0) / 2)
            self.page.mouse.down()
            self.page.mouse.move(x1 - 1, (t1 + b1) / 2, steps=6)
            self.page.mouse.up()
            try:
                self.page.wait_for_function(f"(n) => {HIGHLIGHTS} > n", arg=regions, timeout=2000)
                return
            except Exception:
                pass
        raise AssertionError(f"selecting {phrase!r} made no region")

    def click_text(self, phrase: str, start: int) -> None:
        """Click the middle of the phrase's last line (a region there is selected or linked)."""
        box = self._locate(phrase, start)
        x1, t1, b1 = box["last"]
        x0 = box["first"][0] if box["first"][1] == t1 else x1 - 8
        self.page.mouse.click((x0 + x1) / 2, (t1 + b1) / 2)
        self.counts["clicks"] += 1

    def click(self, locator) -> None:
        locator.wait_for(state="visible", timeout=10000)
        if not locator.evaluate(IN_VIEW):
            locator.scroll_into_view_if_needed()
            self.counts["scrolls"] += 1
        locator.click()
        self.counts["clicks"] += 1

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)
        self.page.wait_for_timeout(100)  # the editor handles a hotkey asynchronously
        self.counts["keys"] += 1

    def type(self, value: str) -> None:
        self.page.keyboard.type(value)
        self.counts["typed"] += 1


def hotkeys(config: str) -> dict[tuple[str, str], str]:
    """(control, value) -> hotkey, for every label and choice of a labelling config that has one."""
    out = {}
    for parent in ET.fromstring(config).iter():
        for child in parent:
            if child.tag in ("Label", "Choice") and child.get("hotkey"):
                out[(parent.get("name"), child.get("value"))] = child.get("hotkey")
    return out


def playwright_key(hotkey: str) -> str:
    return "+".join(part.capitalize() if part in ("shift", "ctrl", "alt") else part for part in hotkey.split("+"))


def choose(act: Actions, keys: dict, control: str, value: str) -> None:
    """Set an attribute of the selected region: its hotkey when the config has one, else a click."""
    if (control, value) in keys:
        act.key(playwright_key(keys[(control, value)]))
    else:
        act.click(act.page.locator(f'input[name="{value}"]'))


def reference(record: dict) -> tuple[dict, list[dict]]:
    event = next(e for e in record["events"] if e["id"] == REFERENCE_EVENT)
    entities = {e["id"]: e for e in record["entities"]}
    return event, [entities[a["entity"]] for a in event["arguments"]]


def trigger_selected(page) -> bool:
    return page.locator('button[aria-label="Create Relation"]').is_visible()


def annotate_reference(act: Actions, config: str, gold: dict, on_trigger=None) -> None:
    """The reference event, as an annotator does it: each filler (label, select, its attributes,
    a TIME's value), the trigger and its attributes, one relation per role, each relation's label,
    submit. Hotkeys where the config has them."""
    page, keys = act.page, hotkeys(config)
    event, fillers = reference(gold)
    assert len({e["type"] for e in fillers}) == len(fillers)  # a relation is told by its filler's type
    for ent in sorted(fillers, key=lambda e: e["start"]):
        act.key(playwright_key(keys[("entity", ent["type"])]))
        act.select(ent["text"], ent["start"])
        act.click_text(ent["text"], ent["start"])  # select the new region
        for name, value in sorted(ent.get("attributes", {}).items()):
            choose(act, keys, name, value)
        if "normalized" in ent:
            act.click(page.locator('[name="normalized"]'))
            act.type(ent["normalized"])
            act.key("Enter")
        act.key("u")  # unselect, so the next label hotkey does not relabel this region
    trig = event["trigger"]
    act.key(playwright_key(keys[("event", event["type"])]))
    act.select(trig["text"], trig["start"])
    act.click_text(trig["text"], trig["start"])
    for name in ("status", "polarity", "genericity", "evidentiality", "attack_type"):
        choose(act, keys, name, event["attributes"][name])
    if on_trigger:
        on_trigger()
    for ent in fillers:
        if not trigger_selected(page):
            act.click_text(trig["text"], trig["start"])
        act.click(page.locator('button[aria-label="Create Relation"]'))
        act.click_text(ent["text"], ent["start"])
    act.click(page.get_by_text("Relations", exact=True).first)
    items = page.locator(".lsf-relations__item")
    assert items.count() == len(fillers)
    for i in range(len(fillers)):
        item = items.nth(i)
        ent = next(e for e in fillers if item.inner_text().split()[-1] == e["type"])  # "5 Attack 2 PER": from, to
        role = next(a["role"] for a in event["arguments"] if a["entity"] == ent["id"])
        item.hover()
        act.click(item.locator('button[aria-label="Show Relation Labels"]'))
        act.click(item.locator(".lsf-relation-meta button").first)
        act.click(page.locator("[role=option]", has_text=re.compile(f"^{role}$")).first)
        act.key("Escape")


def submit(act: Actions) -> None:
    act.click(act.page.locator('button[aria-label="Submit current annotation"]'))


def documented_counts() -> dict[str, int]:
    """The action counts docs/label-studio.md states, e.g. `before: 61 actions`, `after: 48 actions`."""
    text = (ROOT / "docs" / "label-studio.md").read_text(encoding="utf-8")
    return {k: int(v) for k, v in re.findall(r"\b(before|after): \*\*(\d+) actions\*\*", text)}


def snapshot(*folders: Path) -> dict:
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


class Stream:
    """One annotator's label stream ("Label All Tasks") in a browser context of their own."""

    def __init__(self, browser, url: str, project_id: int, email: str, password: str):
        self.page = browser.new_context(viewport=VIEWPORT).new_page()
        self.current: str | None = None
        self.seen: list[str] = []
        login(self.page, url, email, password)
        self.page.goto(f"{url}/projects/{project_id}/data?labeling=1")

    def next_header(self, headers: set[str]) -> str | None:
        """Wait for the next task (another than the one on screen); the header it shows (None at the
        end of the stream)."""
        page = self.page
        page.wait_for_function("""([headers, current]) => document.querySelector('.lsf-htx-richtext')
            && [...document.querySelectorAll('h1,h2,h3,h4,h5,h6')].some(h => h.innerText.trim() !== current
                                                                           && headers.includes(h.innerText.trim()))
            || /No More Tasks Left in Queue|No more annotations/.test(document.body.innerText)""",
                               arg=[sorted(headers), self.current], timeout=60000)
        if page.locator(".ant-modal:visible").count():  # the project's instructions, shown on opening
            page.keyboard.press("Escape")
            page.locator(".ant-modal").first.wait_for(state="hidden", timeout=10000)
        shown = [h for h in headers if page.get_by_text(h, exact=True).count()]
        if not shown:
            return None
        assert len(shown) == 1 and page.get_by_text(shown[0], exact=True).first.is_visible()
        assert shown[0] not in self.seen, f"the stream gave {shown[0]!r} twice"
        self.current = shown[0]
        self.seen.append(shown[0])
        page.wait_for_timeout(800)  # let the editor settle before keys
        return shown[0]

    def regions(self) -> int:
        return highlights(self.page)


def label_one(act: Actions, text: str, check=None) -> None:
    """A small annotation: the first 'police' as an ORG mention (`check` runs with the region selected)."""
    start = text.index("police")
    act.key("2")
    act.select("police", start)
    act.click_text("police", start)
    act.key("s")
    if check:
        check()
    act.key("u")
    submit(act)


def test_two_annotators_label_stream_then_pull_both_layers(label_studio_postgresql, tmp_path):
    """On the PostgreSQL-backed server, as a team server runs (the other browser tests use SQLite)."""
    from playwright.sync_api import sync_playwright

    label_studio = label_studio_postgresql

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus, ignore=shutil.ignore_patterns("*-muc*"))  # the seed articles only
    ann_dir = tmp_path / "annotations"
    env = label_studio.cli_env()
    title = "team of two"
    run = CliRunner().invoke
    pushed = run(app, ["push", "--project", title, "--corpus", str(corpus), "--overlap", "2"], env=env)
    assert pushed.exit_code == 0, pushed.output
    accounts = {}
    for who in ("ann-a", "ann-b"):
        email = f"{who}@team.invalid"
        made = run(app, ["annotators", "add", email, "--credentials", str(tmp_path / f"{who}.txt"),
                         "--annotations", str(ann_dir)], env=env)
        assert made.exit_code == 0, made.output
        assert email not in made.output and "@" not in made.output  # no address on the terminal
        pseudonym = re.search(r"\b(annotator-\d+)\b", made.output).group(1)
        creds = dict(line.split("=", 1) for line in (tmp_path / f"{who}.txt").read_text().splitlines())
        accounts[who] = (creds["login"], creds["password"], pseudonym)
    assert accounts["ann-a"][2] != accounts["ann-b"][2]

    admin = Server(label_studio.url, label_studio.token)
    project = admin.project(title)
    tasks = {t["data"]["header"]: t for t in admin.tasks(project.id)}
    assert len(tasks) == 3
    by_doc = {t["data"]["doc_id"]: t for t in tasks.values()}
    nbc = by_doc[REFERENCE_DOC]["data"]
    longest = max((t["data"] for t in tasks.values()), key=lambda d: len(d["text"]))  # the column is checked on it
    assert longest["doc_id"] != REFERENCE_DOC
    assert nbc["header"] == "Two suspects dead in Belgium anti-terror raids | NBC News | published 2015-01-15"
    gold = fileio.read_json(ROOT / "annotations" / REFERENCE_DOC / "gold.json")
    config = ls_config.render()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)

        # A labels the first task of the stream, then stops.
        a = Stream(browser, label_studio.url, project.id, *accounts["ann-a"][:2])
        header = a.next_header(set(tasks))
        assert a.regions() == 0
        label_one(Actions(a.page, tasks[header]["data"]["text"]), tasks[header]["data"]["text"])

        # B works through the whole stream: the task A submitted comes without A's regions.
        b = Stream(browser, label_studio.url, project.id, *accounts["ann-b"][:2])
        after = None
        while (header := b.next_header(set(tasks))) is not None:
            assert b.regions() == 0, f"{accounts['ann-b'][2]} sees regions on {header!r}"
            text = tasks[header]["data"]["text"]
            if header == longest["header"]:
                label_one(Actions(b.page, text), text, lambda: assert_column_in_view(b.page, tmp_path, header))
                continue
            if header != nbc["header"]:
                label_one(Actions(b.page, text), text)
                continue
            after = Actions(b.page, text)

            def on_trigger(page=b.page):
                page.screenshot(path=str(tmp_path / "labelling-screen.png"))
                keep(tmp_path / "labelling-screen.png")
                hint = page.get_by_text("Attack: roles (relation from the trigger to the filler)")
                assert hint.is_visible() and page.get_by_text("Attacker <- PER, ORG, GPE").is_visible()
            annotate_reference(after, config, gold, on_trigger)
            submit(after)
        assert after is not None
        assert sorted(b.seen) == sorted(tasks)

        # A comes back: the rest of the stream, each task already done by B, none of B's regions.
        while (header := a.next_header(set(tasks))) is not None:
            assert a.regions() == 0, f"{accounts['ann-a'][2]} sees regions on {header!r}"
            label_one(Actions(a.page, tasks[header]["data"]["text"]), tasks[header]["data"]["text"])
        assert sorted(a.seen) == sorted(tasks)

        # The admin's view of the reference task: two annotations, one per annotator.
        page = browser.new_context(viewport=VIEWPORT).new_page()
        login(page, label_studio.url, label_studio.email, label_studio.password)
        page.goto(f"{label_studio.url}/projects/{project.id}/data?task={by_doc[REFERENCE_DOC]['id']}")
        page.wait_for_selector(".lsf-htx-richtext", timeout=60000)
        for _, _, pseudonym in accounts.values():  # the tabs name each annotation by pseudonym, not address
            page.get_by_text(pseudonym, exact=True).first.wait_for(timeout=10000)
        assert "@team.invalid" not in page.inner_text("body")
        page.screenshot(path=str(tmp_path / "two-annotators.png"))
        keep(tmp_path / "two-annotators.png")

        before = count_before(browser, label_studio, admin, gold, nbc)
        browser.close()

    print(f"\nreference event: before {before.total} actions {before.counts}; after {after.total} actions {after.counts}")

    pulled = run(app, ["pull", "--project", title, "--annotations", str(ann_dir), "--corpus", str(corpus)], env=env)
    assert pulled.exit_code == 0, pulled.output
    names = {accounts[w][2] for w in accounts}
    for doc in by_doc:
        assert {p.stem for p in (ann_dir / doc).glob("annotator-*.json")} == names, doc
    mine = fileio.read_json(ann_dir / REFERENCE_DOC / f"{accounts['ann-b'][2]}.json")
    assert same_event(mine, gold)
    before_snapshot = snapshot(ann_dir)
    again = run(app, ["pull", "--project", title, "--annotations", str(ann_dir), "--corpus", str(corpus)], env=env)
    assert again.exit_code == 0, again.output
    assert "0 files written" in again.output and "(unchanged, nothing new)" in again.output
    assert snapshot(ann_dir) == before_snapshot
    assert documented_counts() == {"before": before.total, "after": after.total}, \
        "docs/label-studio.md states other action counts: update them"


def same_event(record: dict, gold: dict) -> bool:
    """The record has the gold reference event: trigger, type, attributes, and each argument's role,
    span, type, mention and normalized value."""
    want, want_fillers = reference(gold)
    entities = {e["id"]: e for e in record["entities"]}
    for event in record["events"]:
        if (event["type"], event["trigger"]) != (want["type"], want["trigger"]) or event["attributes"] != want["attributes"]:
            continue
        def argument(a, ents):
            e = ents[a["entity"]]
            return (a["role"], e["type"], e["start"], e["end"], e["attributes"], e.get("normalized"))
        gold_ents = {e["id"]: e for e in want_fillers}
        return sorted(argument(a, entities) for a in event["arguments"]) == sorted(argument(a, gold_ents) for a in want["arguments"])
    return False


def assert_column_in_view(page, tmp_path: Path, header: str) -> None:
    """With a mention selected, its attribute column is to the right of the text, and stays in view
    when the text is scrolled to its end."""
    column = page.get_by_text("Select a region to set its attributes")
    choice = page.locator('input[name="NOM"]')
    text_box = page.locator(".lsf-htx-richtext").bounding_box()
    for el in (column, choice):
        assert el.bounding_box()["x"] >= text_box["x"] + text_box["width"], "the attribute column is not beside the text"
    title = page.get_by_text(header, exact=True)
    assert title.bounding_box()["x"] < text_box["x"] + text_box["width"] and title.evaluate(IN_VIEW)
    page.evaluate("() => document.querySelector('.lsf-htx-richtext').lastElementChild.scrollIntoView({block: 'end'})")
    page.wait_for_timeout(300)
    last = page.evaluate("() => document.querySelector('.lsf-htx-richtext').getBoundingClientRect().bottom")
    assert not title.evaluate(IN_VIEW) and last <= VIEWPORT["height"], "the text did not scroll to its end"
    assert choice.evaluate(IN_VIEW) and column.evaluate(IN_VIEW), "the attribute column left the view when the text scrolled"
    page.screenshot(path=str(tmp_path / "labelling-scrolled.png"))
    keep(tmp_path / "labelling-scrolled.png")


def count_before(browser, label_studio, admin: Server, gold: dict, nbc: dict) -> Actions:
    """The same sequence on the screen as it was before (attributes under the text, no attribute
    hotkeys, no role hints), as the admin in a project of its own; the annotation must come out the same."""
    config = BEFORE_CONFIG.read_text(encoding="utf-8")
    project = admin.create_project("team of two: screen before", config)
    admin.import_tasks(project.id, [push.task_data(fileio.read_json(ROOT / "corpus" / f"{REFERENCE_DOC}.json"))])
    [task] = admin.tasks(project.id)
    page = browser.new_context(viewport=VIEWPORT).new_page()
    login(page, label_studio.url, label_studio.email, label_studio.password)
    page.goto(f"{label_studio.url}/projects/{project.id}/data?task={task['id']}")
    page.wait_for_selector(".lsf-htx-richtext", timeout=60000)
    page.wait_for_timeout(500)
    act = Actions(page, nbc["text"])
    annotate_reference(act, config, gold)
    submit(act)
    page.wait_for_function("() => !document.querySelector('button[aria-label=\"Submit current annotation\"]')", timeout=30000)
    for _ in range(40):  # the button goes before the server has answered
        exported = fileio.loads_json(admin.export(project.id))
        if exported[0].get("annotations"):
            break
        page.wait_for_timeout(250)
    result = convert.convert_export(exported, lambda t, a: "annotator-1")
    assert len(result.records) == 1 and same_event(result.records[0], gold), result.issues
    return act
