"""bigbio_kb: a documents row in BigBIO's knowledge-base schema, the shape BigBIO's loaders read.

BigBIO's kb schema (bigscience-workshop/biomedical, schemas/kb.py) has one example per document
with passages, entities, events, coreferences and relations; every span is a list of text
pieces with a list of [start, end] offsets into the document. Here the article is one passage;
entity and event ids are `<document>:<id in the layer>`, unique across the dataset; an event's
arguments point at entity ids (`ref_id`); coreferences are the within-document entity and event
clusters. What the kb schema has no place for (attributes, normalized values, provenance,
cross-document clusters) stays in the `documents` config.
"""

from __future__ import annotations

PASSAGE_TYPE = "article"


def _span(start: int, end: int, text: str | None) -> dict:
    return {"text": [text], "offsets": [[start, end]]}


def kb_row(row: dict) -> dict:
    """The bigbio_kb row of a documents row (names as strings, as the build's rows hold them)."""
    doc = row["id"]

    def gid(local: str) -> str:
        return f"{doc}:{local}"

    text = row["text"]
    return {
        "id": doc,
        "document_id": doc,
        "passages": [{"id": gid("passage"), "type": PASSAGE_TYPE, "text": [text],
                      "offsets": [[0, len(text) if text is not None else 0]]}],
        "entities": [
            {"id": gid(e["id"]), "type": e["type"], **_span(e["start"], e["end"], e["text"]), "normalized": []}
            for e in row["entities"]
        ],
        "events": [
            {
                "id": gid(v["id"]), "type": v["type"],
                "trigger": _span(v["trigger"]["start"], v["trigger"]["end"], v["trigger"]["text"]),
                "arguments": [{"role": a["role"], "ref_id": gid(a["entity_id"])} for a in v["arguments"]],
            }
            for v in row["events"]
        ],
        "coreferences": [
            {"id": gid(c["id"]), "entity_ids": [gid(m) for m in c["members"]]}
            for c in list(row["entity_clusters"]) + list(row["event_clusters"])
        ],
        "relations": [],
    }
