"""Alignment of annotator layers: stable, readable keys for every item, shared by agree and adjudicate.

Two layers talk about the same item when its key is the same: entities on (type, start, end),
events on (type, trigger start, trigger end), arguments on (event key, role, filler entity key),
attributes on (item key, attribute name), coreference on pairs of mention keys in one cluster.
Keys never use the annotators' own ids, which differ from layer to layer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Iterable

from . import fileio, itemkey
from .errors import UserError
from .ontology import Ontology

NOT_LAYERS = {"gold.json", "muc4-key.json"}  # the adjudicated layer is an output, never an input; the MUC keys are no layer of ours


def entity_key(ent: dict) -> str:
    return itemkey.mention_key("entity", ent["type"], ent["start"], ent["end"])


def event_key(ev: dict) -> str:
    trig = ev["trigger"]
    return itemkey.mention_key("event", ev["type"], trig["start"], trig["end"])


argument_key = itemkey.argument_key
attribute_key = itemkey.attribute_key
link_key = itemkey.link_key


def entity_attribute_names(onto: Ontology, etype: str) -> list[str]:
    """Attributes an entity of this type carries, read from the schema; 'normalized' for value types."""
    names = [a.name for a in onto.entity_attributes if not a.scope or etype in a.scope]
    if etype in onto.value_types:
        names.append("normalized")
    return names


def event_attribute_names(onto: Ontology, etype: str) -> list[str]:
    return [a.name for a in onto.event_attributes if not a.scope or etype in a.scope]


def entity_attributes(onto: Ontology, ent: dict) -> dict:
    """name -> value (None when absent) for every attribute the entity's type carries."""
    attrs = ent.get("attributes") or {}
    out = {}
    for name in entity_attribute_names(onto, ent["type"]):
        out[name] = ent.get("normalized") if name == "normalized" else attrs.get(name)
    return out


def event_attributes(onto: Ontology, ev: dict) -> dict:
    attrs = ev.get("attributes") or {}
    return {name: attrs.get(name) for name in event_attribute_names(onto, ev["type"])}


@dataclass
class Layer:
    """One annotator's record of one document, indexed by item key."""

    annotator: str
    record: dict
    entities: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    arguments: dict[str, dict] = field(default_factory=dict)  # key -> {event, role, entity, arg}
    entity_clusters: list[set[str]] = field(default_factory=list)
    event_clusters: list[set[str]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # keys used twice (second one ignored)

    def links(self, kind: str) -> set[str]:
        """Every pair of mentions in one cluster, as coreference link keys (computed once)."""
        cache = self.__dict__.setdefault("_links", {})
        if kind not in cache:
            clusters = self.entity_clusters if kind == "entity" else self.event_clusters
            cache[kind] = {link_key(a, b) for c in clusters for a, b in combinations(sorted(c), 2)}
        return cache[kind]

    def mentions(self, kind: str) -> dict[str, dict]:
        return self.entities if kind == "entity" else self.events


def index_layer(record: dict) -> Layer:
    """Key every item of an annotation record; items with a repeated key keep the first occurrence."""
    layer = Layer(record["annotator"], record)
    key_of: dict[str, str] = {}
    for ent in record.get("entities", []):
        key = entity_key(ent)
        if key in layer.entities:
            layer.duplicates.append(key)
        else:
            layer.entities[key] = ent
        key_of[ent["id"]] = key
    for ev in record.get("events", []):
        key = event_key(ev)
        if key in layer.events:
            layer.duplicates.append(key)
            continue
        layer.events[key] = ev
        key_of[ev["id"]] = key
        for arg in ev.get("arguments", []):
            filler = key_of.get(arg["entity"])
            if filler is None:
                continue  # a dangling reference: validate reports it
            akey = argument_key(key, arg["role"], filler)
            layer.arguments.setdefault(akey, {"event": key, "role": arg["role"], "entity": filler, "arg": arg})
    for name, target in (("entity_clusters", layer.entity_clusters), ("event_clusters", layer.event_clusters)):
        for cluster in record.get(name, []):
            members = {key_of[m] for m in cluster["members"] if m in key_of}
            if len(members) >= 2:
                target.append(members)
    return layer


# -- finding the layers of each document ---------------------------------------------------


def _layer_files(path: Path) -> Iterable[Path]:
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise UserError(f"{path}: no such file or folder")
    for f in fileio.iter_files([path], suffixes=(".json",)):
        if f.name not in NOT_LAYERS:
            yield f


def annotator_names(folder: Path) -> list[str]:
    """The annotators collect([folder]) finds, sorted: the same walk (fileio.iter_files' folders and
    names), without a Path per file; build lists a corpus of 100,000 documents with it."""
    names: set[str] = set()
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in fileio.SKIPPED_FOLDERS and not d.startswith(".")]
        names.update(n[:-5] for n in files if n.endswith(".json") and not n.startswith(".") and n not in NOT_LAYERS)
    return sorted(names)


def collect(paths: Iterable[str | Path], annotators: Iterable[str] | None = None) -> dict[str, dict[str, Path]]:
    """document -> annotator -> file, from annotation folders or files (gold and decisions left out).

    A file's document and annotator are its folder and file name (annotations/<doc>/<annotator>.json);
    records.Reader.read_layers checks that the record says the same.
    """
    wanted = set(annotators) if annotators else None
    found: dict[str, dict[str, Path]] = {}
    for p in paths:
        for f in _layer_files(Path(p)):
            doc, annotator = f.parent.name, f.stem
            if f.name in NOT_LAYERS or (wanted is not None and annotator not in wanted):
                continue
            found.setdefault(doc, {})[annotator] = f
    return {doc: dict(sorted(layers.items())) for doc, layers in sorted(found.items())}
