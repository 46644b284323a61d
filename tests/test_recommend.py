"""The recommender: Label Studio's ML backend protocol over what the corpus already knows."""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from raidcorpus import checks, convert, fileio, muckeys, recommend
from raidcorpus.cli import app
from raidcorpus.ls_config import ENTITY, EVENT
from raidcorpus.text import sha256_text

ROOT = Path(__file__).resolve().parents[1]
NBC = "2015-01-15-nbc-two-suspects-dead-in-belgium-raids"


def corpus_doc(doc: str) -> dict:
    return fileio.read_json(ROOT / "corpus" / f"{doc}.json")


def config_labels() -> dict[str, set[str]]:
    """Labels control name -> its label values, read from the committed labelling config."""
    tree = ET.parse(ROOT / "labelstudio" / "config.xml")
    return {node.get("name"): {lb.get("value") for lb in node.iter("Label")} for node in tree.iter("Labels")}


def items(*triples):
    return [(control, string, label, ()) for control, string, label in triples]


@pytest.fixture
def served():
    """A recommender over the repository's annotations, serving on a free port of 127.0.0.1."""
    rec = recommend.Recommender(ROOT / "annotations", ROOT / "corpus")
    rec.reload()
    server = recommend.make_server(rec, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def call(port: int, method: str, path: str, body=None, raw: bytes | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    out = response.status, json.loads(response.read() or b"{}")
    conn.close()
    return out


# --- the string matcher ---------------------------------------------------------------------


def test_strings_are_found_again_whole_word_in_other_documents_only():
    m = recommend.StringMatcher()
    m.learn("a", "annotator-1", items((ENTITY, "Verviers", "GPE"), (EVENT, "raid", "Raid")))
    text = "The raid in Verviers; raiders and Vervierss are not words of it. Verviers again."
    got = m.match("b", text, {})
    assert [(s.control, text[s.start:s.end], s.label) for s in got] == [
        (ENTITY, "Verviers", "GPE"), (ENTITY, "Verviers", "GPE"), (EVENT, "raid", "Raid")]
    # its own document never proposes its strings (the other annotator's work stays unseen)
    assert m.match("a", text, {}) == []


def test_the_label_given_most_often_wins_and_its_attributes_come_with_it():
    m = recommend.StringMatcher()
    m.learn("a", "annotator-1", [(ENTITY, "they", "PER", (("mention", "PRO"),))])
    m.learn("b", "annotator-1", [(ENTITY, "they", "PER", (("mention", "PRO"),))])
    m.learn("c", "annotator-2", [(ENTITY, "they", "ORG", (("mention", "PRO"),))])
    [s] = m.match("d", "and they said", {"PER": 0, "ORG": 1})
    assert (s.label, s.attributes, s.score) == ("PER", (("mention", "PRO"),), 0.667)
    # learning a layer again replaces what it said; forgetting removes it
    m.learn("a", "annotator-1", [(ENTITY, "they", "ORG", (("mention", "PRO"),))])
    assert m.match("d", "and they said", {"PER": 0, "ORG": 1})[0].label == "ORG"
    m.forget("a", "annotator-1")
    m.forget("c", "annotator-2")
    assert m.match("d", "and they said", {})[0].label == "PER"
    m.forget("b", "annotator-1")
    assert m.match("d", "and they said", {}) == [] and m.size == (0, 0)


def test_the_longest_string_wins_where_strings_overlap():
    m = recommend.StringMatcher()
    m.learn("a", "x", items((ENTITY, "police", "ORG"), (ENTITY, "the Belgian police", "ORG"), (ENTITY, "Belgian", "GPE")))
    text = "the Belgian police said"
    assert [text[s.start:s.end] for s in m.match("b", text, {})] == ["the Belgian police"]


def test_arguments_are_proposed_from_the_roles_other_documents_give_in_the_same_sentence():
    text = "Two gunmen stormed the offices in Paris. The gunmen fled."
    record = {"entities": [
        {"id": "E1", "type": "PER", "start": 4, "end": 10, "text": "gunmen", "attributes": {}},
        {"id": "E2", "type": "FAC", "start": 19, "end": 30, "text": "the offices", "attributes": {}},
        {"id": "E3", "type": "GPE", "start": 34, "end": 39, "text": "Paris", "attributes": {}}],
        "events": [{"id": "V1", "type": "Attack", "trigger": {"start": 11, "end": 18, "text": "stormed"}, "attributes": {},
                    "arguments": [{"role": "Attacker", "entity": "E1", "type": "PER"}, {"role": "Target", "entity": "E2", "type": "FAC"},
                                  {"role": "Place", "entity": "E3", "type": "GPE"}]}]}
    rec = recommend.Recommender(Path("/nonexistent"), ROOT / "corpus")
    rec.matcher.learn("other", "annotator-1", recommend.layer_items(record))
    [p] = rec.predict([{"id": 1, "data": {"doc_id": "new-doc", "text": text}}])
    spans = {r["id"]: r["value"]["text"] for r in p["result"] if r["type"] == "labels"}
    relations = sorted((spans[r["from_id"]], r["labels"][0], spans[r["to_id"]]) for r in p["result"] if r["type"] == "relation")
    # the second "gunmen" is in another sentence: it fills nothing
    assert relations == [("stormed", "Attacker", "gunmen"), ("stormed", "Place", "Paris"), ("stormed", "Target", "the offices")]
    assert [r["to_id"] for r in p["result"] if r["type"] == "relation" and r["labels"] == ["Attacker"]] == ["pred-en-4-10"]
    conv = convert.results_to_record(p["result"], text, document="new-doc", annotator="annotator-9")
    assert conv.issues == [] and len(conv.record["events"][0]["arguments"]) == 3
    # the document that taught it is never proposed its own roles
    [own] = rec.predict([{"id": 2, "data": {"doc_id": "other", "text": text}}])
    assert own["result"] == []


# --- MUC-4 key fillers -------------------------------------------------------------------------


def key_block(message: str, **lines: str) -> str:
    """One key block as the NIST files write it: every slot '-' unless given (by its name, '_' for ' ')."""
    given = {k.replace("__", ": ").replace("_", " "): v for k, v in lines.items()}
    given.setdefault("MESSAGE: ID", message)
    given.setdefault("MESSAGE: TEMPLATE", "1")
    return "".join(f"{i}.".ljust(4) + slot.ljust(32) + given.get(slot, "-") + "\n"
                   for i, slot in enumerate(muckeys.slots())) + "\n"


def write_key(folder: Path, doc: str, text: str, *blocks: str) -> dict:
    """A real muc4-key record, made by muckeys from key blocks located in text, written where `keys` writes it."""
    [(message, templates)] = muckeys.by_message("".join(blocks)).items()
    record = muckeys.key_record(message, templates, text, sha256_text(text), "test", "1.0")
    (folder / doc).mkdir(parents=True, exist_ok=True)
    (folder / doc / recommend.KEY_FILE).write_text(json.dumps(record), encoding="utf-8")
    return record


def test_located_key_fillers_become_entity_suggestions(tmp_path, caplog):
    caplog.set_level("INFO", logger="raidcorpus.recommend")
    text = "URBAN GUERRILLAS ATTACKED THE EMBASSY IN LIMA WITH DYNAMITE.\nTHE URBAN\nGUERRILLAS FLED."
    doc = "dev-muc3-0001"
    record = write_key(tmp_path, doc, text,
                       key_block("DEV-MUC3-0001", PERP__INDIVIDUAL_ID='"URBAN GUERRILLAS"', PHYS_TGT__ID='"EMBASSY"',
                                 INCIDENT__INSTRUMENT_ID='"DYNAMITE"', HUM_TGT__DESCRIPTION='"CIVILIANS"',
                                 INCIDENT__LOCATION="PERU: LIMA (CITY)", INCIDENT__TYPE="BOMBING"),
                       key_block("DEV-MUC3-0001", MESSAGE__TEMPLATE="2", PERP__INDIVIDUAL_ID='"URBAN GUERRILLAS"'))
    got = recommend.key_fillers(doc, tmp_path, text)
    # both occurrences (the second across a line break), once although two templates name them
    assert [(text[s:e], label, slot) for s, e, label, slot in got] == [
        ("URBAN GUERRILLAS", "PER", "PERP: INDIVIDUAL ID"), ("EMBASSY", "FAC", "PHYS TGT: ID"),
        ("DYNAMITE", "WEA", "INCIDENT: INSTRUMENT ID"), ("URBAN\nGUERRILLAS", "PER", "PERP: INDIVIDUAL ID")]
    assert recommend.key_fillers("no-such-doc", tmp_path, text) == []
    # another version of the text: the mention that no longer slices is left out, with its address
    moved = text.replace("EMBASSY", "OFFICES")  # same length: the other offsets hold
    assert [text[s:e] for s, e, _, _ in recommend.key_fillers(doc, tmp_path, moved)] == [
        "URBAN GUERRILLAS", "DYNAMITE", "URBAN\nGUERRILLAS"]
    assert "span-text-mismatch" in caplog.text and "/templates/0/slots/PHYS TGT: ID/0/values/0/mentions/0" in caplog.text
    assert record["templates"][0]["slots"]["HUM TGT: DESCRIPTION"][0]["values"][0]["mentions"] == []
    assert checks.check_record(record, "muc4-key.json") == []  # the fixture is a record the schema takes


def test_a_committed_key_record_gives_its_fillers():
    doc = "tst3-muc4-0002"
    text = corpus_doc(doc)["text"]
    got = recommend.key_fillers(doc, ROOT / "annotations", text)
    found = [(text[s:e], label, slot) for s, e, label, slot in got]
    assert found.count(("JESUITS", "PER", "HUM TGT: DESCRIPTION")) == 2 and ("MAIDS", "PER", "HUM TGT: DESCRIPTION") in found
    assert {slot for _, _, _, slot in got} <= set(recommend.SLOT_TYPES) and all(text[s:e] for s, e, _, _ in got)


def test_a_key_filler_takes_the_place_of_a_string_match(tmp_path):
    rec = recommend.Recommender(tmp_path, ROOT / "corpus")
    rec.matcher.learn("other", "annotator-1", items((ENTITY, "EMBASSY", "LOC")))
    text = "BOMB AT THE EMBASSY"
    write_key(tmp_path, "dev-muc3-0002", text, key_block("DEV-MUC3-0002", PHYS_TGT__ID='"EMBASSY"'))
    [p] = rec.predict([{"id": 1, "data": {"doc_id": "dev-muc3-0002", "text": text}}])
    [region] = [r for r in p["result"] if r["type"] == "labels"]
    assert region["value"] == {"start": 12, "end": 19, "text": "EMBASSY", "labels": ["FAC"]}


# --- the protocol over HTTP --------------------------------------------------------------------


def test_health_setup_and_predict_answer_as_label_studio_expects(served):
    rec, port = served
    assert call(port, "GET", "/health")[1]["status"] == "UP"
    assert call(port, "POST", "/setup", {"project": "1.1", "schema": "<View/>", "access_token": "x"}) == (
        200, {"model_version": recommend.MODEL_VERSION})
    doc = corpus_doc(NBC)
    tasks = [{"id": 7, "data": {"doc_id": NBC, "text": doc["text"]}}, {"id": 8, "data": {}}]
    code, body = call(port, "POST", "/predict", {"tasks": tasks, "project": "1.1", "label_config": "<View/>"})
    assert code == 200 and len(body["results"]) == 2 and body["results"][1]["result"] == []
    result = body["results"][0]["result"]
    labels = config_labels()
    spans = [r for r in result if r["type"] == "labels"]
    assert len(spans) > 20
    for r in spans:
        v = r["value"]
        assert v["text"] == doc["text"][v["start"]:v["end"]]
        assert r["from_name"] in (ENTITY, EVENT) and v["labels"][0] in labels[r["from_name"]]
    # what Label Studio would hand back converts to a record without an issue
    conv = convert.results_to_record(result, doc["text"], document=NBC, annotator="annotator-9")
    assert conv.issues == [] and len(conv.record["entities"]) + len(conv.record["events"]) == len(spans)
    # nothing of this document's own layers is proposed: every span is a string of another document
    own = {e["text"] for p in (ROOT / "annotations" / NBC).glob("*.json") for e in fileio.read_json(p)["entities"]}
    others = {e["text"] for p in (ROOT / "annotations").glob("*/*.json") if p.parent.name != NBC and p.name != recommend.KEY_FILE for e in fileio.read_json(p)["entities"]}
    assert {r["value"]["text"] for r in spans if r["from_name"] == ENTITY} <= others
    assert own - others  # the document has strings of its own that were not proposed


def test_predictions_match_much_of_the_gold_of_a_document_it_never_saw(served):
    """The figure docs/label-studio.md gives: precision and recall of the matcher against gold, per document."""
    rec, port = served
    doc = corpus_doc(NBC)
    [p] = rec.predict([{"id": 1, "data": {"doc_id": NBC, "text": doc["text"]}}])
    gold = fileio.read_json(ROOT / "annotations" / NBC / "gold.json")
    want = {(e["start"], e["end"], e["type"]) for e in gold["entities"]}
    want |= {(v["trigger"]["start"], v["trigger"]["end"], v["type"]) for v in gold["events"]}
    got = {(r["value"]["start"], r["value"]["end"], r["value"]["labels"][0]) for r in p["result"] if r["type"] == "labels"}
    assert len(got & want) / len(got) >= 0.85 and len(got & want) / len(want) >= 0.3
    # arguments: 17 of 33 proposed are gold's (of its 73)
    spans = {r["id"]: (r["value"]["start"], r["value"]["end"]) for r in p["result"] if r["type"] == "labels"}
    args = {(spans[r["from_id"]], r["labels"][0], spans[r["to_id"]]) for r in p["result"] if r["type"] == "relation"}
    ents = {e["id"]: (e["start"], e["end"]) for e in gold["entities"]}
    gold_args = {((v["trigger"]["start"], v["trigger"]["end"]), a["role"], ents[a["entity"]]) for v in gold["events"] for a in v["arguments"]}
    assert len(args & gold_args) / len(args) >= 0.45 and len(args & gold_args) / len(gold_args) >= 0.2


def test_the_webhook_learns_an_annotation_and_forgets_it_when_deleted(served):
    rec, port = served
    text = "Gunmen stormed the Zorblax depot."
    other = corpus_doc(NBC)["text"] + " Zorblax"
    ann = {"id": 41, "result": [{"id": "r1", "from_name": ENTITY, "to_name": "text", "type": "labels",
                                 "value": {"start": 19, "end": 26, "text": "Zorblax", "labels": ["ORG"]}}]}
    payload = {"action": "ANNOTATION_CREATED", "annotation": ann,
               "task": {"id": 5, "data": {"doc_id": "new-doc", "text": text, "sha256": sha256_text(text)}}}
    assert call(port, "POST", "/webhook", payload)[0] == 200

    def proposed():
        [p] = rec.predict([{"id": 1, "data": {"doc_id": NBC, "text": other}}])
        return [r["value"]["labels"] for r in p["result"] if r["type"] == "labels" and r["value"]["text"] == "Zorblax"]

    assert proposed() == [["ORG"]]
    # a payload whose text is not what its hash says is not learnt
    bad = payload | {"annotation": ann | {"id": 42}, "task": {"id": 6, "data": {"doc_id": "x", "text": text, "sha256": "0" * 64}}}
    call(port, "POST", "/webhook", bad)
    assert ("x", "label-studio:42") not in rec.matcher._layers
    call(port, "POST", "/webhook", {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 41}]})
    assert proposed() == []


def test_bad_requests_get_an_error_not_a_crash(served):
    _, port = served
    assert call(port, "POST", "/predict", raw=b"{not json")[0] == 400
    assert call(port, "POST", "/predict", {"tasks": "x"})[0] == 400
    assert call(port, "POST", "/predict", raw=b"[1]")[0] == 400
    assert call(port, "GET", "/nowhere")[0] == 404
    assert call(port, "GET", "/health")[0] == 200  # still serving


def test_regions_accepted_from_a_prediction_are_told_from_hand_made_ones():
    results = [{"id": "a", "type": "labels", "origin": "prediction"}, {"id": "b", "type": "labels", "origin": "manual"},
               {"id": "c", "type": "labels", "origin": "prediction-changed"}, {"id": "a", "type": "choices", "origin": "prediction"},
               {"id": "d", "type": "labels"}]
    assert recommend.predicted_origins(results) == {"a": "prediction", "c": "prediction-changed"}


def test_a_broken_layer_stops_the_command_with_one_line(tmp_path):
    shutil.copytree(ROOT / "annotations" / NBC, tmp_path / NBC)
    layer = tmp_path / NBC / "annotator-1.json"
    record = fileio.read_json(layer)
    record["entities"][0]["start"] += 1
    layer.write_text(json.dumps(record), encoding="utf-8")
    got = CliRunner().invoke(app, ["recommend", "--port", "0", "--annotations", str(tmp_path), "--corpus", str(ROOT / "corpus")])
    assert got.exit_code == 1
    lines = got.output.strip().splitlines()
    assert len(lines) == 1 and "[span-text-mismatch]" in lines[0] and f"doc={NBC}" in lines[0]


# --- against the real server, in the browser ------------------------------------------------------


def login(page, label_studio) -> None:
    page.goto(f"{label_studio.url}/user/login/")
    page.fill('input[name="email"]', label_studio.email)
    page.fill('input[name="password"]', label_studio.password)
    page.click('button[type="submit"]')
    page.wait_for_load_state("networkidle")


@pytest.mark.labelstudio
@pytest.mark.browser
def test_a_task_opens_with_the_predicted_regions_and_only_a_submit_makes_them_a_layer(label_studio, tmp_path):
    import httpx
    from playwright.sync_api import sync_playwright

    from raidcorpus.labelstudio import Server
    from test_browser import ARGS, CHROMIUM

    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    title = "recommender session"
    env = label_studio.cli_env()
    assert CliRunner().invoke(app, ["push", "--project", title, "--corpus", str(corpus)], env=env).exit_code == 0
    server = Server(label_studio.url, label_studio.token)
    project = server.project(title)
    task = next(t for t in server.tasks(project.id) if t["data"]["doc_id"] == NBC)

    rec = recommend.Recommender(ROOT / "annotations", ROOT / "corpus")
    rec.reload()
    backend = recommend.make_server(rec, 0)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    api = httpx.Client(base_url=label_studio.url, headers={"Authorization": f"Token {label_studio.token}"}, timeout=60)
    try:
        backend_url = f"http://127.0.0.1:{backend.server_address[1]}"
        ml = recommend.connect(server, project.id, backend_url)
        assert recommend.connect(server, project.id, backend_url) == ml  # once only
        [expected] = rec.predict([task])
        want = sorted((r["value"]["start"], r["value"]["end"]) for r in expected["result"] if r["type"] == "labels")

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            login(page, label_studio)
            page.goto(f"{label_studio.url}/projects/{project.id}/data?task={task['id']}")
            page.wait_for_selector(".lsf-htx-richtext", timeout=60000)
            page.wait_for_function("n => document.querySelectorAll('.lsf-htx-richtext .htx-highlight').length >= n",
                                   arg=len(want), timeout=60000)
            page.screenshot(path=str(tmp_path / "predicted.png"))
            shown = page.evaluate("() => new Set([...document.querySelectorAll('.lsf-outliner-item')].map(e => e.textContent)).size")
            assert shown > 0
            # a prediction is no annotation: nothing reaches a layer before the annotator submits
            assert api.get(f"/api/tasks/{task['id']}/annotations/").json() == []
            [stored] = api.get("/api/predictions/", params={"task": task["id"]}).json()
            assert stored["model_version"] == recommend.MODEL_VERSION
            assert sorted((r["value"]["start"], r["value"]["end"]) for r in stored["result"] if r["type"] == "labels") == want
            page.click('button[aria-label="Submit current annotation"]')
            page.wait_for_function("() => !document.querySelector('button[aria-label=\"Submit current annotation\"]')", timeout=30000)
            browser.close()

        [ann] = api.get(f"/api/tasks/{task['id']}/annotations/").json()
        origins = recommend.predicted_origins(ann["result"])
        assert len(origins) == len(want) and set(origins.values()) == {"prediction"}
        conv = convert.results_to_record(ann["result"], task["data"]["text"], document=NBC, annotator="annotator-1")
        assert conv.issues == [] and {e["id"] for e in conv.record["entities"] + conv.record["events"]} == set(origins)
        # Label Studio made the backend's webhook when it connected: the submitted annotation was learnt
        hooks = api.get("/api/webhooks/", params={"project": project.id}).json()
        assert any(h["url"] == backend_url + "/webhook" for h in hooks)
        for _ in range(100):
            if (NBC, f"label-studio:{ann['id']}") in rec.matcher._layers:
                break
            threading.Event().wait(0.1)
        assert (NBC, f"label-studio:{ann['id']}") in rec.matcher._layers
    finally:
        api.close()
        backend.shutdown()
        backend.server_close()
