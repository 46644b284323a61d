"""Write the tiny corpus the dataset tests build from: three articles, their layers, clusters, splits.

Offsets are found with str.find so the fixture cannot drift from its texts. Run it again after
editing it: `python tests/data/build/make_fixtures.py`; test_build_fixtures checks it is current.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent

TEXTS = {
    "alpha-news-2015-01-15": (
        "Two suspects killed in Verviers raid\n\n"
        "Police raided a flat in Verviers on Thursday, foiling an imminent attack. "
        "Two suspects were killed and a third was arrested, officials said.\n"
        "No police officers were hurt. The suspects had returned from Syria.\n"
        "Investigators seized weapons and explosives at the flat in Liège province.\n"
    ),
    "beta-times-2015-01-16": (
        "Belgian police kill three in raid\r\n\r\n"
        "Belgian police killed three suspects in a raid in Verviers on Thursday, a prosecutor said. "
        "Belgium raised its threat level from 2 to 3 after the raid. \u2615 Caf\u00e9 owners near the station "
        "described heavy gunfire.\r\n"
    ),
    "gamma-post-2016-03-22": (
        "Bombings hit Brussels\n\n"
        "Two bombs exploded at Zaventem Airport on Tuesday morning, killing at least 11 people. "
        "A third blast hit a metro train in Brussels. "
        "ISIS claimed the bombings. \u0627\u0644\u0633\u0644\u0627\u0645 Police arrested Mohamed Abrini in April.\n"
    ),
}

META = {
    "alpha-news-2015-01-15": ("Two suspects killed in Verviers raid", "Alpha News", "2015-01-15"),
    "beta-times-2015-01-16": ("Belgian police kill three in raid", "Beta Times", "2015-01-16"),
    "gamma-post-2016-03-22": ("Bombings hit Brussels", "Gamma Post", "2016-03-22"),
}

# id, type, surface text, occurrence (0 = first), mention, normalized, approx
ENTITIES = {
    "alpha-news-2015-01-15": [
        ("T1", "PER", "Police", 0, "NOM", None, None),
        ("T2", "FAC", "a flat in Verviers", 0, "NOM", None, None),
        ("T3", "GPE", "Verviers", 1, "NAM", None, None),
        ("T4", "TIME", "Thursday", 0, "NAM", "2015-01-15", None),
        ("T5", "PER", "Two suspects", 1, "NOM", None, None),
        ("T6", "NUM", "Two", 1, "NOM", 2, "exact"),
        ("T7", "PER", "a third", 0, "NOM", None, None),
        ("T8", "PER", "police officers", 0, "NOM", None, None),
        ("T9", "PER", "The suspects", 0, "NOM", None, None),
        ("T10", "GPE", "Syria", 0, "NAM", None, None),
        ("T11", "PER", "Investigators", 0, "NOM", None, None),
        ("T12", "WEA", "weapons", 0, "NOM", None, None),
        ("T13", "WEA", "explosives", 0, "NOM", None, None),
        ("T14", "FAC", "the flat in Li\u00e8ge province", 0, "NOM", None, None),
        ("T15", "GPE", "Li\u00e8ge province", 0, "NAM", None, None),
    ],
    "beta-times-2015-01-16": [
        ("T1", "ORG", "Belgian police", 1, "NOM", None, None),
        ("T2", "PER", "three suspects", 0, "NOM", None, None),
        ("T3", "NUM", "three", 1, "NOM", 3, "exact"),
        ("T4", "GPE", "Verviers", 0, "NAM", None, None),
        ("T5", "TIME", "Thursday", 0, "NAM", "2015-01-15", None),
        ("T6", "GPE", "Belgium", 0, "NAM", None, None),
        ("T7", "NUM", "2", 0, "NOM", 2, "exact"),
        ("T8", "NUM", "3", 0, "NOM", 3, "exact"),
        ("T9", "PER", "Caf\u00e9 owners", 0, "NOM", None, None),
        ("T10", "FAC", "the station", 0, "NOM", None, None),
    ],
    "gamma-post-2016-03-22": [
        ("T1", "WEA", "Two bombs", 0, "NOM", None, None),
        ("T2", "FAC", "Zaventem Airport", 0, "NAM", None, None),
        ("T3", "TIME", "Tuesday morning", 0, "NAM", "2016-03-22", None),
        ("T4", "PER", "at least 11 people", 0, "NOM", None, None),
        ("T5", "NUM", "at least 11", 0, "NOM", 11, "at_least"),
        ("T6", "VEH", "a metro train", 0, "NOM", None, None),
        ("T7", "GPE", "Brussels", 1, "NAM", None, None),
        ("T8", "ORG", "ISIS", 0, "NAM", None, None),
        ("T9", "PER", "Police", 0, "NOM", None, None),
        ("T10", "PER", "Mohamed Abrini", 0, "NAM", None, None),
        ("T11", "TIME", "April", 0, "NAM", "2016-04", None),
    ],
}

ACTUAL = {"status": "actual", "polarity": "positive", "genericity": "specific", "evidentiality": "asserted"}

# id, type, trigger, occurrence, arguments [(role, entity id)], attribute overrides
EVENTS = {
    "alpha-news-2015-01-15": [
        ("E1", "Raid", "raided", 0, [("Agent", "T1"), ("Target", "T2"), ("Place", "T3"), ("Time", "T4")], {}),
        ("E2", "Attack", "attack", 0, [], {"status": "foiled", "attack_type": "unknown"}),
        ("E3", "Die", "killed", 1, [("Victim", "T5")], {"evidentiality": "attributed"}),
        ("E4", "Arrest", "arrested", 0, [("Person", "T7")], {"evidentiality": "attributed"}),
        ("E5", "Injure", "hurt", 0, [("Victim", "T8")], {"polarity": "negative"}),
        ("E6", "Movement", "returned", 0, [("Traveller", "T9"), ("Origin", "T10")], {}),
        ("E7", "Seizure", "seized", 0, [("Agent", "T11"), ("Item", "T12"), ("Item", "T13"), ("Place", "T14")], {}),
    ],
    "beta-times-2015-01-16": [
        ("E1", "Die", "killed", 0, [("Agent", "T1"), ("Victim", "T2"), ("Place", "T4"), ("Time", "T5")], {}),
        ("E2", "Raid", "raid", 1, [("Agent", "T1"), ("Place", "T4"), ("Time", "T5")], {"evidentiality": "attributed"}),
        ("E3", "ThreatLevelChange", "raised", 0, [("Agent", "T6"), ("FromLevel", "T7"), ("ToLevel", "T8")], {}),
        ("E4", "Raid", "raid", 2, [], {}),
    ],
    "gamma-post-2016-03-22": [
        ("E1", "Attack", "exploded", 0, [("Instrument", "T1"), ("Target", "T2"), ("Place", "T2"), ("Time", "T3"), ("Attacker", "T8")], {"attack_type": "bombing_explosion"}),
        ("E2", "Die", "killing", 0, [("Victim", "T4"), ("Place", "T2")], {}),
        ("E3", "Attack", "blast", 0, [("Target", "T6"), ("Place", "T7")], {"attack_type": "bombing_explosion"}),
        ("E4", "Attack", "bombings", 0, [("Attacker", "T8")], {"attack_type": "bombing_explosion"}),
        ("E5", "Arrest", "arrested", 0, [("Agent", "T9"), ("Person", "T10"), ("Time", "T11")], {}),
    ],
}

ENTITY_CLUSTERS = {
    "alpha-news-2015-01-15": [("C1", ["T5", "T9"]), ("C2", ["T2", "T14"])],
    "beta-times-2015-01-16": [],
    "gamma-post-2016-03-22": [],
}
EVENT_CLUSTERS = {
    "alpha-news-2015-01-15": [],
    "beta-times-2015-01-16": [("V1", ["E2", "E4"])],
    "gamma-post-2016-03-22": [("V1", ["E1", "E4"])],
}


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find(text: str, surface: str, occurrence: int) -> int:
    pos = -1
    for _ in range(occurrence + 1):
        pos = text.find(surface, pos + 1)
        if pos < 0:
            sys.exit(f"{surface!r} occurrence {occurrence} not found")
    return pos


def corpus_record(doc: str) -> dict:
    title, outlet, published = META[doc]
    text = TEXTS[doc]
    return {
        "kind": "document", "schema_version": "1.0", "id": doc, "title": title, "outlet": outlet,
        "published": published, "language": "en", "url": f"https://example.org/{doc}", "text": text,
        "raw_text": text, "raw_sha256": sha(text), "sha256": sha(text), "inferred": {}, "removed": [], "source_file": None,
    }


def layer(doc: str, annotator: str, drop_entity: str | None = None, flip: str | None = None) -> dict:
    """One annotation record; annotators differ from gold by a dropped entity or a flipped attribute."""
    text = TEXTS[doc]
    gold = annotator == "gold"
    prov = {"method": "agreed", "annotators": ["annotator-1", "annotator-2"]}
    entities = []
    for eid, etype, surface, occ, mention, norm, approx in ENTITIES[doc]:
        if eid == drop_entity:
            continue
        start = find(text, surface, occ)
        ent = {"id": eid, "type": etype, "start": start, "end": start + len(surface), "text": surface,
               "attributes": {"mention": mention}}
        if approx:
            ent["attributes"]["approx"] = approx
        if etype in ("TIME", "NUM"):
            ent["normalized"] = norm
        if gold:
            ent["provenance"] = prov
        entities.append(ent)
    types = {e["id"]: e["type"] for e in entities}
    events = []
    for vid, vtype, trig, occ, args, attrs in EVENTS[doc]:
        start = find(text, trig, occ)
        attributes = {**ACTUAL, **attrs}
        if flip == vid:
            attributes["evidentiality"] = "unconfirmed"
        ev = {"id": vid, "type": vtype, "trigger": {"start": start, "end": start + len(trig), "text": trig},
              "arguments": [{"role": r, "entity": e, "type": types[e]} for r, e in args if e in types],
              "attributes": attributes}
        if gold:
            ev["provenance"] = {"method": "decision", "decision": "D1"} if vid == "E1" else prov
        events.append(ev)
    ids = {e["id"] for e in entities}
    return {
        "kind": "annotation", "schema_version": "1.0", "document": doc, "annotator": annotator,
        "text_sha256": sha(text), "source": {"tool": "fixture"}, "entities": entities, "events": events,
        "entity_clusters": [{"id": c, "members": m} for c, m in ENTITY_CLUSTERS[doc] if set(m) <= ids],
        "event_clusters": [{"id": c, "members": m} for c, m in EVENT_CLUSTERS[doc]],
    }


def span(doc: str, surface: str, occurrence: int = 0) -> dict:
    start = find(TEXTS[doc], surface, occurrence)
    return {"start": start, "end": start + len(surface), "text": surface}


CLUSTERS = {
    "kind": "event_clusters",
    "schema_version": "1.0",
    "clusters": [
        {
            "id": "verviers-raid-2015-01-15", "type": "Raid", "name": "Verviers counter-terrorism raid",
            "date": "2015-01-15", "date_precision": "day", "place": "Verviers, Belgium", "place_precision": "town",
            "members": [{"document": "alpha-news-2015-01-15", "event": "E1"},
                        {"document": "beta-times-2015-01-16", "event": "E2"},
                        {"document": "beta-times-2015-01-16", "event": "E4"}],  # E2 and E4 corefer (V1)
            "reports": [
                {"field": "killed", "document": "alpha-news-2015-01-15", "value": 2,
                 "evidence": span("alpha-news-2015-01-15", "Two suspects were killed")},
                {"field": "killed", "document": "beta-times-2015-01-16", "value": 3,
                 "evidence": span("beta-times-2015-01-16", "killed three suspects")},
                {"field": "arrested", "document": "alpha-news-2015-01-15", "value": 1,
                 "evidence": span("alpha-news-2015-01-15", "a third was arrested")},
            ],
            "note": "The two sources disagree on the number of suspects killed.",
        },
        {
            "id": "brussels-bombings-2016-03-22", "type": "Attack", "name": "Brussels bombings",
            "date": "2016-03-22", "date_precision": "day", "place": "Brussels, Belgium", "place_precision": "town",
            "members": [{"document": "gamma-post-2016-03-22", "event": "E1"},
                        {"document": "gamma-post-2016-03-22", "event": "E4"}],  # E1 and E4 corefer (V1)
            "reports": [
                {"field": "killed", "document": "gamma-post-2016-03-22", "value": 11,
                 "evidence": span("gamma-post-2016-03-22", "killing at least 11 people")},
            ],
        },
    ],
}

SPLITS = {
    "kind": "splits",
    "schema_version": "1.0",
    "splits": {"train": ["gamma-post-2016-03-22"], "test": ["alpha-news-2015-01-15", "beta-times-2015-01-16"]},
}


def outputs() -> dict[str, str]:
    """Relative path -> file content, for writing and for the staleness test."""
    files = {}
    dump = lambda obj: json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"  # noqa: E731
    for doc in TEXTS:
        files[f"corpus/{doc}.json"] = dump(corpus_record(doc))
        files[f"annotations/{doc}/gold.json"] = dump(layer(doc, "gold"))
        files[f"annotations/{doc}/annotator-1.json"] = dump(layer(doc, "annotator-1", drop_entity="T3"))
        files[f"annotations/{doc}/annotator-2.json"] = dump(layer(doc, "annotator-2", flip="E1"))
    files["annotations/clusters.yaml"] = yaml.safe_dump(CLUSTERS, sort_keys=False, allow_unicode=True)
    files["splits.yaml"] = yaml.safe_dump(SPLITS, sort_keys=False)
    files["CHANGELOG.md"] = (
        "# Changelog\n\n## [0.2.0] - 2026-12-01\n\n- Fixture: a second version.\n\n"
        "## [0.1.0] - 2026-11-21\n\n- Fixture: first version.\n"
    )
    return files


if __name__ == "__main__":
    for rel, content in outputs().items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8"))
    print(f"wrote {len(outputs())} files under {HERE}")
