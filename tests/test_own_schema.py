"""The whole workflow on an ontology of the user's own (`--schema`), in a folder of its own.

The second schema keeps the record formats of the shipped one and replaces its ontology with a
small one about hiring: two entity types (PER, ORG), one event type (Hire) with two roles and
one attribute (polarity). Two articles are ingested, annotated twice through a Label Studio
export (converted without a server, as `pull` would), validated, compared, adjudicated, built
and loaded back with `datasets`. Nothing of the raid ontology may appear on the way (the card's
prose is still this project's: its templates describe the raid corpus).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from raidcorpus import convert, fileio, ontology

ROLES = {"Employer": ["ORG"], "Employee": ["PER"]}
ARTICLES = {
    "acme.txt": "Acme Robotics said on Monday that it has hired Jane Doe as its chief executive. "
                "Doe previously ran Beta Labs, which did not hire a successor.\n",
    "gamma.txt": "Gamma Foods hired two engineers from Delta Systems last week.\n",
}


def hiring_schema() -> dict:
    """The shipped schema with its ontology replaced: what a user writes for their own domain."""
    schema = json.loads(ontology.SCHEMA_PATH.read_text(encoding="utf-8"))
    schema["title"] = "Hiring events"
    schema["x-raidcorpus-version"] = "0.1"
    defs = schema["$defs"]
    for name in [n for n in defs if n.startswith(("roles_", "args_", "attr_")) and n != "attr_polarity"]:
        del defs[name]
    defs["EntityType"] = {"title": "Entity type", "oneOf": [
        {"const": "PER", "title": "person", "description": "A person or group of people.", "examples": ["Jane Doe"]},
        {"const": "ORG", "title": "organization", "description": "A company or other organization.", "examples": ["Acme Robotics"]},
    ]}
    defs["EventType"] = {"title": "Event type", "oneOf": [
        {"const": "Hire", "description": "An organization takes someone on.", "examples": ["hired"]},
    ]}
    defs["roles_Hire"] = {"title": "Hire roles", "oneOf": [
        {"const": role, "description": f"The {role.lower()}.", "examples": []} for role in ROLES]}
    defs["args_Hire"] = {"properties": {"role": {"$ref": "#/$defs/roles_Hire"}}, "allOf": [
        {"if": {"properties": {"role": {"const": role}}, "required": ["role"]}, "then": {"properties": {"type": {"enum": fillers}}}}
        for role, fillers in ROLES.items()]}
    defs["Event"]["allOf"] = [{"if": {"properties": {"type": {"const": "Hire"}}, "required": ["type"]},
                               "then": {"properties": {"arguments": {"items": {"$ref": "#/$defs/args_Hire"}}}}}]
    defs["EventAttributes"] = {"type": "object", "description": "polarity is required.", "required": ["polarity"],
                               "additionalProperties": False, "properties": {"polarity": {"$ref": "#/$defs/attr_polarity"}}}
    defs["EntityAttributes"] = {"type": "object", "description": "No entity attributes.", "additionalProperties": False, "properties": {}}
    defs["Entity"]["allOf"] = [{"properties": {"normalized": {"type": "null"}}}]  # no TIME or NUM values here
    return schema


def layer(text: str, entities, events) -> dict:
    """An annotation layer's entities and events from (type, surface, occurrence) descriptions."""
    def span(surface, nth=0):
        found = [m.start() for m in re.finditer(rf"\b{re.escape(surface)}\b", text)][nth]
        return found, found + len(surface)

    ents = []
    for i, (etype, surface, *nth) in enumerate(entities, 1):
        start, end = span(surface, *nth)
        ents.append({"id": f"T{i}", "type": etype, "start": start, "end": end, "text": surface, "attributes": {}})
    by_text = {e["text"]: e for e in ents}
    evs = []
    for i, (trigger, polarity, args) in enumerate(events, 1):
        start, end = span(trigger)
        evs.append({"id": f"E{i}", "type": "Hire", "trigger": {"start": start, "end": end, "text": trigger},
                    "attributes": {"polarity": polarity},
                    "arguments": [{"role": role, "entity": by_text[s]["id"], "type": by_text[s]["type"]} for role, s in args]})
    return {"entities": ents, "events": evs, "entity_clusters": [], "event_clusters": []}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("hiring")
    schema = root / "hiring.schema.json"
    schema.write_text(json.dumps(hiring_schema(), indent=2), encoding="utf-8")
    (root / "incoming").mkdir()
    for name, text in ARTICLES.items():
        (root / "incoming" / name).write_text(text, encoding="utf-8")
    return root, schema


def run(root: Path, schema: Path, *args) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RAIDCORPUS_SCHEMA"} | {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "raidcorpus.cli", "--schema", str(schema), *map(str, args)],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_the_whole_loop_on_a_schema_of_ones_own(project):
    root, schema = project

    # ingest: records name the schema's version
    proc = run(root, schema, "ingest", "incoming", "--out", "corpus")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    docs = {fileio.read_json(p)["text"]: fileio.read_json(p) for p in (root / "corpus").glob("*.json")}
    assert len(docs) == 2 and {d["schema_version"] for d in docs.values()} == {"0.1"}
    acme, gamma = docs[ARTICLES["acme.txt"]], docs[ARTICLES["gamma.txt"]]

    # ls-config: the labelling screen of this ontology, and nothing of the raid one
    proc = run(root, schema, "ls-config")
    assert proc.returncode == 0, proc.stderr
    config = (root / "labelstudio" / "config.xml").read_text(encoding="utf-8")
    for name in ("PER", "ORG", "Hire", "Employer", "Employee", "polarity"):
        assert f'"{name}"' in config
    for name in ("GPE", "Raid", "Attacker", "attack_type", "mention"):
        assert f'"{name}"' not in config

    # two annotators in Label Studio; the export converted without a server, as pull does
    acme_1 = layer(acme["text"], [("ORG", "Acme Robotics"), ("PER", "Jane Doe"), ("PER", "Doe", 1), ("ORG", "Beta Labs")],
                   [("hired", "positive", [("Employer", "Acme Robotics"), ("Employee", "Jane Doe")]),
                    ("hire", "negative", [("Employer", "Beta Labs")])])
    acme_2 = copy.deepcopy(acme_1)
    acme_2["events"][1]["attributes"]["polarity"] = "positive"  # the one disagreement
    gamma_both = layer(gamma["text"], [("ORG", "Gamma Foods"), ("PER", "two engineers"), ("ORG", "Delta Systems")],
                       [("hired", "positive", [("Employer", "Gamma Foods"), ("Employee", "two engineers")])])
    tasks = []
    for n, (doc, first, second) in enumerate(((acme, acme_1, acme_2), (gamma, gamma_both, gamma_both)), 1):
        tasks.append({"id": n, "data": {"doc_id": doc["id"], "text": doc["text"], "sha256": doc["sha256"]},
                      "annotations": [{"id": 10 * n + k, "completed_by": user, "result": convert.record_to_results(rec)}
                                      for k, (user, rec) in enumerate(((21, first), (22, second)))]})
    (root / "export.json").write_text(json.dumps(tasks), encoding="utf-8")
    proc = run(root, schema, "convert", "export.json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = sorted(p.relative_to(root / "annotations").as_posix() for p in (root / "annotations").glob("*/*.json"))
    assert written == sorted(f"{d['id']}/annotator-{k}.json" for d in (acme, gamma) for k in (1, 2))
    assert fileio.read_json(root / "annotations" / acme["id"] / "annotator-2.json")["events"][1]["attributes"] == {"polarity": "positive"}

    # validate everything; the same layer is invalid under the shipped schema
    proc = run(root, schema, "validate")
    assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stdout + proc.stderr
    plain = subprocess.run([sys.executable, "-m", "raidcorpus.cli", "validate", "annotations", "--level", "1"],
                           cwd=root, capture_output=True, text=True, timeout=120, env={k: v for k, v in os.environ.items() if k != "RAIDCORPUS_SCHEMA"})
    assert plain.returncode == 1 and "[unknown-type]" in plain.stdout and "[bad-attribute]" in plain.stdout, plain.stdout

    # agree: the ontology's own labels and attribute
    proc = run(root, schema, "agree", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert '"polarity"' in proc.stdout and '"Hire"' in proc.stdout and "attack_type" not in proc.stdout

    # adjudicate: the disagreement is undecided until a decision settles it
    proc = run(root, schema, "adjudicate", "--report", "undecided.yaml")
    assert proc.returncode == 1 and "1 undecided items" in proc.stderr, proc.stdout + proc.stderr
    template = yaml.safe_load((root / "undecided.yaml").read_text(encoding="utf-8"))
    at = acme["text"].index(" hire ") + 1
    item = template["decisions"][0]["item"]
    assert [d["item"] for d in template["decisions"]] == [f"attr:event:Hire:{at}-{at + 4}:polarity"], template
    decisions = {"kind": "decisions", "schema_version": "0.1", "document": acme["id"], "decisions": [
        {"id": "d1", "item": item, "action": "take", "layer": "annotator-1", "reason": "'did not hire': the text says it did not happen"}]}
    (root / "annotations" / acme["id"] / "decisions.yaml").write_text(yaml.safe_dump(decisions, sort_keys=False), encoding="utf-8")
    proc = run(root, schema, "adjudicate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gold = fileio.read_json(root / "annotations" / acme["id"] / "gold.json")
    assert [e["attributes"]["polarity"] for e in gold["events"]] == ["positive", "negative"]
    assert run(root, schema, "adjudicate", "--check").returncode == 0

    # build and load back with datasets: the class names are this ontology's
    (root / "splits.yaml").write_text(yaml.safe_dump({"kind": "splits", "schema_version": "0.1",
                                                      "splits": {"train": [acme["id"]], "test": [gamma["id"]]}}), encoding="utf-8")
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## [0.1.0] - 2026-11-27\n\n- First hiring events.\n", encoding="utf-8")
    proc = run(root, schema, "validate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run(root, schema, "build", "--version", "0.1.0", "--out", "dist/hiring")
    assert proc.returncode == 0, proc.stdout + proc.stderr

    from datasets import load_dataset

    docs_ds = load_dataset(str(root / "dist" / "hiring"), "documents")
    assert sorted(docs_ds) == ["test", "train"]
    row = docs_ds["train"][0]
    features = docs_ds["train"].features
    assert features["entities"].feature["type"].names == ["PER", "ORG"]
    assert features["events"].feature["type"].names == ["Hire"]
    assert [features["entities"].feature["type"].int2str(e["type"]) for e in row["entities"]] == ["ORG", "PER", "PER", "ORG"]
    assert [v["attributes"]["polarity"] for v in row["events"]] == [
        features["events"].feature["attributes"]["polarity"].str2int(p) for p in ("positive", "negative")]
    mentions = load_dataset(str(root / "dist" / "hiring"), "mentions", split="test")
    assert [(m["type"], m["trigger"], sorted(a["role"] for a in m["arguments"])) for m in mentions] == [
        ("Hire", "hired", ["Employee", "Employer"])]
    card = (root / "dist" / "hiring" / "README.md").read_text(encoding="utf-8")
    header = card.split("---")[1]  # the card's YAML header: the features with their class names
    assert "'0': Hire" in header and "Attack" not in header and "GPE" not in header
