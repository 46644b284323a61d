"""The bigbio_kb config, checked with BigBIO's invariants (bigscience-workshop/biomedical's schema tests):
ids unique across the dataset, every reference resolves, every offset slices to its text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
from datasets import load_dataset  # noqa: E402

from raidcorpus.dataset import bigbio, build  # noqa: E402

FIXTURE = Path(__file__).parent / "data" / "build"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("bigbio") / "repo"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    out = build.build("0.1.0", root / "dist" / "raid-attack-events", root).out
    return load_dataset(str(out), "bigbio_kb"), load_dataset(str(out), "documents")


def _pieces(span: dict, text: str, where: str) -> None:
    assert len(span["text"]) == len(span["offsets"]), where
    for piece, (a, b) in zip(span["text"], span["offsets"]):
        assert text[a:b] == piece, f"{where} {a}:{b}: the text has {text[a:b]!r}, the span says {piece!r}"


def test_bigbio_kb_keeps_its_invariants(built):
    kb, docs = built
    ids: set[str] = set()
    checked = 0
    for split in kb:
        texts = {d["id"]: d["text"] for d in docs[split]}
        for row in kb[split]:
            text = texts[row["document_id"]]
            items = [row["id"]] + [x["id"] for key in ("passages", "entities", "events", "coreferences", "relations") for x in row[key]]
            assert len(items) == len(set(items)) and not ids & set(items), f"{row['id']}: an id is used twice"
            ids |= set(items)
            assert "".join(p for x in row["passages"] for p in x["text"]) == text  # the passages are the article
            for x in row["passages"] + row["entities"]:
                _pieces(x, text, f"{row['id']} {x['id']}")
            for v in row["events"]:
                _pieces(v["trigger"], text, f"{row['id']} {v['id']}")
            entities = {e["id"] for e in row["entities"]}
            events = {v["id"] for v in row["events"]}
            for v in row["events"]:
                for a in v["arguments"]:
                    assert a["ref_id"] in entities, f"{v['id']}: argument {a['role']} points at {a['ref_id']}, no entity"
                    checked += 1
            for c in row["coreferences"]:
                assert c["entity_ids"] and set(c["entity_ids"]) <= entities | events, c["id"]
    assert checked > 5


def test_bigbio_kb_holds_every_gold_item(built):
    kb, docs = built
    for split in kb:
        by_id = {d["id"]: d for d in docs[split]}
        for row in kb[split]:
            doc = by_id[row["document_id"]]
            assert len(row["entities"]) == len(doc["entities"]) and len(row["events"]) == len(doc["events"])
            assert sum(len(v["arguments"]) for v in row["events"]) == sum(len(v["arguments"]) for v in doc["events"])
            assert len(row["coreferences"]) == len(doc["entity_clusters"]) + len(doc["event_clusters"])
            assert {e["type"] for e in row["entities"]} <= set(docs[split].features["entities"].feature["type"].names)


def test_kb_row_is_the_bigbio_shape():
    row = {"id": "d", "text": "Police raided a flat.", "entity_clusters": [], "event_clusters": [],
           "entities": [{"id": "T1", "type": "PER", "start": 0, "end": 6, "text": "Police"}],
           "events": [{"id": "E1", "type": "Raid", "trigger": {"start": 7, "end": 13, "text": "raided"},
                       "arguments": [{"role": "Agent", "entity_id": "T1", "entity_type": "PER"}]}]}
    kb = bigbio.kb_row(row)
    assert kb["passages"] == [{"id": "d:passage", "type": "article", "text": ["Police raided a flat."], "offsets": [[0, 21]]}]
    assert kb["entities"] == [{"id": "d:T1", "type": "PER", "text": ["Police"], "offsets": [[0, 6]], "normalized": []}]
    assert kb["events"][0]["arguments"] == [{"role": "Agent", "ref_id": "d:T1"}]
    assert kb["events"][0]["trigger"] == {"text": ["raided"], "offsets": [[7, 13]]}
