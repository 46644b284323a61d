"""The ontology, read from the JSON Schema: the one place types, roles and attributes are listed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schema" / "raidcorpus.schema.json"


@dataclass(frozen=True)
class Value:
    """A closed-vocabulary value: an entity type, event type, role or attribute value."""

    name: str
    description: str
    examples: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    examples: tuple[str, ...]
    fillers: tuple[str, ...]


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    examples: tuple[str, ...]
    roles: tuple[Role, ...]

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


@dataclass(frozen=True)
class Attribute:
    """An attribute with its values; `scope` lists the entity or event types it applies to (empty: all)."""

    name: str
    description: str
    values: tuple[Value, ...]
    required: bool
    scope: tuple[str, ...] = ()

    @cached_property  # read in hot loops; the ontology never changes
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.values)


@dataclass(frozen=True)
class Ontology:
    title: str
    version: str
    entity_types: tuple[Value, ...]
    event_types: tuple[EventType, ...]
    entity_attributes: tuple[Attribute, ...]
    event_attributes: tuple[Attribute, ...]
    value_types: tuple[str, ...] = field(default=("TIME", "NUM"))

    @cached_property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.entity_types)

    @cached_property
    def event_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.event_types)

    def event(self, name: str) -> EventType | None:
        return next((e for e in self.event_types if e.name == name), None)

    @cached_property
    def role_names(self) -> tuple[str, ...]:
        """Every role name, in first-seen order."""
        seen: dict[str, None] = {}
        for e in self.event_types:
            for r in e.roles:
                seen.setdefault(r.name, None)
        return tuple(seen)


def _values(node: dict) -> tuple[Value, ...]:
    return tuple(
        Value(o["const"], o.get("description", ""), tuple(o.get("examples", ())), o.get("title", ""))
        for o in node["oneOf"]
    )


def _scope(conditions: list[dict], prop: str, attr: str) -> tuple[str, ...]:
    """Types whose if/then branch makes `attr` required inside `prop` (how the schema scopes an attribute)."""
    found = []
    for cond in conditions:
        const = cond.get("if", {}).get("properties", {}).get("type", {}).get("const")
        then = cond.get("then", {}).get("properties", {}).get(prop, {})
        if const and attr in then.get("required", ()):
            found.append(const)
    return tuple(found)


def _attributes(schema: dict, owner: str, prop: str) -> tuple[Attribute, ...]:
    defs = schema["$defs"]
    node = defs[owner + "Attributes"]
    required = set(node.get("required", ()))
    conditions = defs[owner]["allOf"]
    attrs = []
    for name, ref in node["properties"].items():
        target = defs[ref["$ref"].rsplit("/", 1)[-1]]
        scope = () if name in required else _scope(conditions, prop, name)
        if not scope and name not in required:
            # Scoped by an else-branch instead (e.g. approx allowed for NUM only).
            scope = tuple(
                c["if"]["properties"]["type"]["const"]
                for c in conditions
                if "else" in c and name in json.dumps(c["else"])
            )
        attrs.append(Attribute(name, target.get("description", ""), _values(target), name in required, scope))
    return tuple(attrs)


def from_schema(schema: dict) -> Ontology:
    """Build the ontology from a loaded schema document."""
    defs = schema["$defs"]
    events = []
    for value in _values(defs["EventType"]):
        args = defs[f"args_{value.name}"]
        fillers = {
            c["if"]["properties"]["role"]["const"]: tuple(c["then"]["properties"]["type"]["enum"])
            for c in args["allOf"]
        }
        roles = tuple(
            Role(r.name, r.description, r.examples, fillers[r.name]) for r in _values(defs[f"roles_{value.name}"])
        )
        events.append(EventType(value.name, value.description, value.examples, roles))
    return Ontology(
        title=schema["title"],
        version=schema["x-raidcorpus-version"],
        entity_types=_values(defs["EntityType"]),
        event_types=tuple(events),
        entity_attributes=_attributes(schema, "Entity", "attributes"),
        event_attributes=_attributes(schema, "Event", "attributes"),
    )


@lru_cache(maxsize=4)
def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=4)
def load(path: str | Path = SCHEMA_PATH) -> Ontology:
    """The ontology of the schema at `path` (cached: the schema is read once per process)."""
    return from_schema(load_schema(path))
