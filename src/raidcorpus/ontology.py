"""The ontology, read from the JSON Schema: the one place types, roles and attributes are listed.

The schema a command reads is the one made current by `use` (the CLI's --schema option, or
$RAIDCORPUS_SCHEMA); without one it is the copy shipped inside the package. In the repository
that copy is made from schema/raidcorpus.schema.json, the documented source, by `raidcorpus docs`,
and `raidcorpus docs --check` fails when the two differ.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path

import jsonschema_rs

from .errors import Problem, UserError, pointer

SCHEMA_NAME = "raidcorpus.schema.json"
SCHEMA_SOURCE = Path("schema") / SCHEMA_NAME  # in the repository, relative to its top: the documented source
SCHEMA_PACKAGED = Path("src") / "raidcorpus" / "data" / SCHEMA_NAME  # its copy, shipped in the wheel
SCHEMA_PATH = Path(str(resources.files(__package__).joinpath("data", SCHEMA_NAME)))  # the copy, where it is installed


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


# What from_schema reads, as a JSON Schema of its own: a schema file without these parts is
# refused with the pointer of the first missing one, before any command uses it.
_CLOSED = {"type": "object", "required": ["oneOf"], "properties": {"oneOf": {
    "type": "array", "minItems": 1, "items": {"type": "object", "required": ["const"], "properties": {"const": {"type": "string"}}}}}}
_OWNER = {"type": "object", "required": ["allOf"], "properties": {"allOf": {"type": "array", "items": {"type": "object"}}}}
_ATTRIBUTES = {"type": "object", "required": ["properties"], "properties": {"properties": {
    "type": "object", "additionalProperties": {"type": "object", "required": ["$ref"], "properties": {"$ref": {"type": "string"}}}}}}
_SHAPE = {
    "type": "object",
    "required": ["title", "x-raidcorpus-version", "$defs"],
    "properties": {
        "title": {"type": "string"},
        "x-raidcorpus-version": {"type": "string"},
        "$defs": {
            "type": "object",
            "required": ["EntityType", "EventType", "Entity", "Event", "EntityAttributes", "EventAttributes",
                         "IsoTime", "Id", "DocumentId", "AnnotatorId"],
            "properties": {
                "EntityType": _CLOSED, "EventType": _CLOSED, "Entity": _OWNER, "Event": _OWNER,
                "EntityAttributes": _ATTRIBUTES, "EventAttributes": _ATTRIBUTES,
                **{k: {"type": "object", "required": ["pattern"]} for k in ("IsoTime", "Id", "DocumentId", "AnnotatorId")},
            },
        },
    },
}


def _problem(path: Path, where, message: str, slug: str = "bad-schema") -> UserError:
    return UserError(Problem(str(path), None, pointer(where), slug, " ".join(message.split())).line())


def check_schema(schema, path: Path) -> Ontology:
    """The ontology of a loaded schema document, or UserError naming the first thing that makes it
    unusable: not a JSON Schema (Draft 2020-12), or without the parts the ontology is read from."""
    try:
        jsonschema_rs.meta.validate(schema)
    except jsonschema_rs.ValidationError as e:
        raise _problem(path, e.instance_path, f"not a valid JSON Schema: {e.message}") from None
    except Exception as e:  # a schema the meta-schema cannot even be applied to
        raise _problem(path, (), f"not a valid JSON Schema: {e}") from None
    for e in jsonschema_rs.validator_for(_SHAPE).iter_errors(schema):
        raise _problem(path, e.instance_path, f"not a raidcorpus schema: {e.message}")
    defs = schema["$defs"]
    for value in _values(defs["EventType"]):
        for part in (f"roles_{value.name}", f"args_{value.name}"):
            if not isinstance(defs.get(part), dict):
                raise _problem(path, ("$defs", part), f"event type {value.name!r} has no {part} definition")
    try:
        jsonschema_rs.validator_for(schema, retriever=_no_remote)
    except jsonschema_rs.ValidationError as e:  # an unresolvable $ref, a pattern that is not a regex
        raise _problem(path, e.instance_path, f"not a usable JSON Schema: {e.message}") from None
    except (jsonschema_rs.ReferencingError, ValueError) as e:
        raise _problem(path, (), f"not a usable JSON Schema: {e}") from None
    try:
        return from_schema(schema)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as e:
        raise _problem(path, ("$defs",), f"not a raidcorpus schema: cannot read the ontology ({type(e).__name__}: {e})") from None


def _no_remote(uri: str):
    raise ValueError(f"{uri} is not followed: a schema may refer only to itself")


@lru_cache(maxsize=8)
def _read(path: Path) -> dict:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise _problem(path, (), f"cannot read the schema: {e.strerror or e}", "unreadable-file") from None
    try:
        schema = json.loads(data)
    except UnicodeDecodeError:
        raise _problem(path, (), "the schema is not UTF-8", "not-utf8") from None
    except ValueError as e:
        raise _problem(path, (), f"the schema is not JSON: {e}", "invalid-json") from None
    if not isinstance(schema, dict):
        raise _problem(path, (), "not a raidcorpus schema: expected a JSON object")
    return schema


@lru_cache(maxsize=8)
def _load(path: Path) -> Ontology:
    return check_schema(_read(path), path) if path != SCHEMA_PATH else from_schema(_read(path))


class _Current:
    """The schema every command reads (see `use`), and its ontology once read."""

    path: Path = SCHEMA_PATH
    ontology: Ontology | None = None


def use(path: str | Path | None) -> Path:
    """Make the schema at `path` (None: the packaged one) the one every command of this process
    reads. A schema given by the user is checked first: one addressed line if it is unusable."""
    target = Path(path) if path else SCHEMA_PATH
    onto = _load(target) if path else None  # the packaged one is checked by the tests, and read only when needed
    _Current.path, _Current.ontology = target, onto
    return target


def reread() -> None:
    """Forget every schema read so far (after the packaged copy is rewritten by `raidcorpus docs`)."""
    _read.cache_clear()
    _load.cache_clear()
    _Current.ontology = None


def current_path() -> Path:
    """The file of the schema in use."""
    return _Current.path


def load_schema(path: str | Path | None = None) -> dict:
    """The schema document at `path` (default: the one in use); read once per process."""
    return _read(Path(path) if path else _Current.path)


def load(path: str | Path | None = None) -> Ontology:
    """The ontology of the schema at `path` (default: the one in use); read once per process."""
    if path:
        return _load(Path(path))
    if _Current.ontology is None:
        _Current.ontology = _load(_Current.path)
    return _Current.ontology
