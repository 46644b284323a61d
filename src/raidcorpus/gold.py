"""The gold layer as a pure function of the annotator layers and the curators' decisions.

Every item is accepted because all annotators who could have it agree, or because a decision
says so; a decision may also reject, edit or add an item, and one that matches nothing is stale.
Used by the adjudicate verb, by the checks (a stale decisions file) and by curate and status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import align, itemkey
from .errors import Problem
from .ontology import Ontology, load as load_ontology
from .unionfind import components

ACTIONS_WITHOUT_EDIT = ("take", "reject")  # arguments and coreference links: present or not


@dataclass
class Conflict:
    """A disputed item: its key and each annotator's version (None: the annotator does not have it)."""

    key: str
    versions: dict[str, object]
    text: str = ""  # the span text, to help a curator
    actions: tuple[str, ...] = ("take", "reject", "edit")


@dataclass
class Outcome:
    """What adjudicating one document gave: the gold record, or why there is none."""

    document: str
    gold: dict | None = None
    undecided: list[Conflict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    agreed: int = 0
    decided: int = 0  # disputed items settled by a decision
    overridden: int = 0  # agreed items (or attributes) a decision rejected or edited
    added: int = 0  # items no layer has, added by a decision
    dropped: list[str] = field(default_factory=list)  # items left out because an end was left out
    stale: list[tuple[int, str]] = field(default_factory=list)  # (index in the decisions list, message)


def _layer_version(item: dict | None) -> dict | None:
    """An item as a curator needs to see it: no ids, no provenance."""
    if item is None:
        return None
    return {k: v for k, v in item.items() if k not in ("id", "provenance", "arguments", "type", "start", "end", "text", "trigger")}


class _Builder:
    """Walks the items of one document in a fixed order and resolves each one."""

    def __init__(self, doc: str, layers: dict[str, align.Layer], decisions: list[dict], text: str, onto: Ontology, where: str):
        self.doc, self.layers, self.text, self.onto, self.where = doc, layers, text, onto, where
        self.names = sorted(layers)
        self.out = Outcome(doc)
        self.by_item: dict[str, dict] = {}
        self.used: set[str] = set()
        seen_ids: set[str] = set()
        self.index: dict[str, int] = {}
        for i, d in enumerate(decisions):
            key = itemkey.parse_key(d.get("item"), where, doc, f"/decisions/{i}/item")
            if isinstance(key, Problem):  # decisions files are checked on reading; this is for any other caller
                self.out.problems.append(key)
                continue
            d = {**d, "item": str(key)}  # a link's ends in their canonical order
            self.index.setdefault(d["id"], i)
            if d["id"] in seen_ids:
                self.out.problems.append(Problem(where, doc, f"/decisions/{i}/id", "duplicate-decision",
                                                 f"decision id {d['id']!r} is used twice"))
            if d["item"] in self.by_item:
                self.out.problems.append(Problem(where, doc, f"/decisions/{i}/item", "duplicate-decision",
                                                 f"item {d['item']} has two decisions ({self.by_item[d['item']]['id']}, {d['id']})"))
            seen_ids.add(d["id"])
            self.by_item.setdefault(d["item"], d)
        self.origin: dict[str, tuple[str, object]] = {}  # gold item key -> ("agreed", names) | ("decision", id)
        self.added_args: dict[str, dict] = {}  # argument key -> {event, role, entity}, for `add` decisions
        for item, d in list(self.by_item.items()):
            if d["action"] == "add" and itemkey.key(item).kind == "attr":
                del self.by_item[item]  # reported here, not once more where the attribute is resolved
                self.problem("decision-not-possible", f"decision {d['id']} ({item}): 'add' creates an entity, event, argument or coreference link; "
                             "an attribute is changed with 'edit' on its attr: key", d["id"], "action")

    def _decision_of(self, key: str) -> str | None:
        d = self.by_item.get(key)
        return d["id"] if d else None

    def stale(self, d: dict, key: str, why: str) -> None:
        index, message = self.index.get(d["id"], 0), f"decision {d['id']} ({key}) is stale: {why}; remove it"
        self.out.stale.append((index, message))
        self.out.problems.append(Problem(self.where, self.doc, f"/decisions/{index}/item", "stale-decision", message))

    def added_keys(self, kind: str) -> set[str]:
        """The keys of the items of this kind (entity, event, arg, coref) that `add` decisions create."""
        return {k for k, d in self.by_item.items() if d["action"] == "add" and itemkey.key(k).kind == kind}

    def override(self, key: str, actions: tuple[str, ...]) -> dict | None:
        """The decision on an item every layer (with its ends) agrees on, if any: only an override
        (one of `actions`) makes sense there; anything else is reported."""
        d = self.by_item.get(key)
        if d is None:
            return None
        self.used.add(key)
        if d["action"] == "take":
            self.stale(d, key, "every layer agrees on this item, so there is nothing to take")
            return None
        if d["action"] not in actions:
            self.problem("decision-not-possible", f"decision {d['id']} ({key}): '{d['action']}' is not possible here, every layer "
                         f"has this item; to override it use {' or '.join(actions)}", d["id"], "action")
            return None
        self.out.overridden += 1
        return d

    def problem(self, slug: str, message: str, did: str | None = None, at: str = "item") -> None:
        """A problem of the decisions, addressed at the decision `did` (its field `at`) when there is one."""
        where = f"/decisions/{self.index[did]}/{at}" if did in self.index else "/decisions"
        self.out.problems.append(Problem(self.where, self.doc, where, slug, message))

    def provenance(self, origin: tuple[str, object]) -> dict:
        if origin[0] == "agreed":
            return {"method": "agreed", "annotators": list(origin[1])}
        return {"method": "decision", "decision": origin[1]}

    def decide(self, conflict: Conflict, have: list[str]) -> tuple[dict | None, bool]:
        """(decision, include?) for a conflict; (None, False) and the conflict recorded when undecided."""
        d = self.by_item.get(conflict.key)
        if d is None:
            self.out.undecided.append(conflict)
            return None, False
        self.used.add(d["item"])
        action = d["action"]
        if action not in conflict.actions:
            self.problem("decision-not-possible", f"decision {d['id']} ({conflict.key}): {action!r} is not possible here; "
                         f"use {' or '.join(conflict.actions)}", d["id"], "action")
            return None, False
        if action == "take" and d.get("layer") not in have:
            self.problem("decision-not-possible", f"decision {d['id']} ({conflict.key}): layer {d.get('layer')!r} does not have "
                         f"this item; layers that do: {', '.join(have) or 'none'}", d["id"], "layer")
            return None, False
        if action == "edit" and d.get("layer") is not None and d["layer"] not in have:
            self.problem("decision-not-possible", f"decision {d['id']} ({conflict.key}): edit starts from layer {d['layer']!r}, "
                         "which does not have this item", d["id"], "layer")
            return None, False
        self.out.decided += 1
        return d, action != "reject"

    # -- mentions: entities and events ----------------------------------------------------
    def mentions(self, pool: str, attrs_of) -> dict[str, dict]:
        """Gold entities or events (by key), each with its resolved attributes."""
        found: dict[str, dict] = {}
        kind = "entity" if pool == "entities" else "event"
        keys = sorted({k for lay in self.layers.values() for k in getattr(lay, pool)} | self.added_keys(kind), key=_order)
        for key in keys:
            items = {a: getattr(self.layers[a], pool).get(key) for a in self.names}
            have = [a for a in self.names if items[a] is not None]
            if not have:  # an `add` decision: no layer has the item
                item = self.added_mention(key, self.by_item[key], attrs_of)
                if item is not None:
                    found[key] = item
                continue
            if len(have) == len(self.names):
                item = dict(items[have[0]])
                overrides: list[str] = []
                item["attributes"] = self.attributes(key, {a: attrs_of(self.onto, items[a]) for a in have}, overrides)
                self.origin[key] = ("decision", overrides[0]) if overrides else ("agreed", tuple(self.names))
                d = self.override(key, ("reject", "edit"))
                if d is None:
                    self.out.agreed += 1
                elif d["action"] == "reject":
                    continue
                else:
                    item = self.edit_agreed(key, item, d, attrs_of)
                    if item is None:
                        continue
                    self.origin[key] = ("decision", d["id"])
            else:
                conflict = Conflict(key, {a: _layer_version(items[a]) for a in self.names}, _span_text(items[have[0]]))
                d, keep = self.decide(conflict, have)
                if d is None and key not in self.by_item:
                    # undecided: kept provisionally so that the items hanging on it are listed too
                    item = dict(items[have[0]])
                    item["attributes"] = attrs_of(self.onto, item)
                    self.origin[key] = ("undecided", None)
                    found[key] = item
                    continue
                if not keep:
                    continue
                base = dict(items[d.get("layer") or have[0]])
                if d["action"] == "edit":
                    base = self.edited(key, base, d["value"], d["id"])
                    if base is None:
                        continue
                    known = set(attrs_of(self.onto, base))
                    extra = sorted(set(d["value"].get("attributes") or {}) - known)
                    if extra:
                        self.problem("bad-decision-value", f"decision {d['id']} ({key}): {base['type']} has no attribute "
                                     f"{', '.join(extra)}", d["id"], "value")
                        continue
                base["attributes"] = attrs_of(self.onto, base)
                item = base
                self.origin[key] = ("decision", d["id"])
            found[key] = item
        seen: dict[str, str] = {}
        for key, item in found.items():  # an edit must not move an item onto another one
            now = align.entity_key(item) if pool == "entities" else align.event_key(item)
            if now in seen:
                self.problem("decision-conflict", f"{pool} {seen[now]} and {key} are the same item {now} after the decisions; "
                             "reject one of them", self._decision_of(key) or self._decision_of(seen[now]))
            seen[now] = key
        return found

    def edit_agreed(self, key: str, item: dict, d: dict, attrs_of) -> dict | None:
        """An agreed entity or event with an `edit` decision applied; its resolved attributes are kept
        unless the edit gives them."""
        resolved = item["attributes"]
        out = self.edited(key, {k: v for k, v in item.items() if k != "attributes"}, d["value"], d["id"])
        if out is None:
            return None
        return self._with_attributes(key, out, resolved, d, attrs_of)

    def _with_attributes(self, key: str, item: dict, resolved: dict, d: dict, attrs_of) -> dict | None:
        names = attrs_of(self.onto, {**item, "attributes": {}})
        given = d.get("value", {}).get("attributes") or {}
        extra = sorted(set(given) - set(names))
        if extra:
            self.problem("bad-decision-value", f"decision {d['id']} ({key}): {item['type']} has no attribute {', '.join(extra)}", d["id"], "value")
            return None
        attrs = {}
        for name in names:
            if name == "normalized":
                attrs[name] = d["value"]["normalized"] if "normalized" in d.get("value", {}) else resolved.get(name)
            else:
                attrs[name] = given.get(name, resolved.get(name))
        return {**item, "attributes": attrs}

    def added_mention(self, key: str, d: dict, attrs_of) -> dict | None:
        """The entity or event an `add` decision creates; its key gives type and span, `value` the rest
        (attributes, normalized, subword)."""
        self.used.add(key)
        mention = itemkey.key(key).mention
        kind, etype, start, end = mention.kind, mention.type, mention.start, mention.end
        known = self.onto.event(etype) is not None if kind == "event" else etype in {v.name for v in self.onto.entity_types}
        if not known:
            self.problem("unknown-type", f"decision {d['id']} ({key}): {etype!r} is not an {kind} type of the schema", d["id"])
            return None
        value = d.get("value") or {}
        allowed = {"attributes", "subword"} | ({"normalized"} if kind == "entity" else set())
        unknown = sorted(set(value) - allowed)
        if unknown or not isinstance(value.get("attributes", {}), dict):
            self.problem("bad-decision-value", f"decision {d['id']} ({key}): an add gives type and span in its item key; value may only give "
                         f"{', '.join(sorted(allowed))} (attributes a mapping){'; found ' + ', '.join(unknown) if unknown else ''}", d["id"], "value")
            return None
        if kind == "entity":
            item = {"type": etype, "start": start, "end": end, **({"subword": True} if value.get("subword") else {})}
        else:
            item = {"type": etype, "trigger": {"start": start, "end": end, **({"subword": True} if value.get("subword") else {})}}
        item = self._with_attributes(key, item, {}, d, attrs_of)
        if item is not None:
            self.origin[key] = ("decision", d["id"])
            self.out.added += 1
        return item

    def edited(self, key: str, base: dict, value: dict, did: str) -> dict | None:
        allowed = {"type", "start", "end", "attributes", "normalized", "trigger", "subword"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            self.problem("bad-decision-value", f"decision {did} ({key}): value has fields {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(allowed))}", did, "value")
            return None
        offsets = [(n, value.get(n)) for n in ("start", "end")] + [(f"trigger.{n}", (value.get("trigger") or {}).get(n)) for n in ("start", "end")]
        bad = [n for n, v in offsets if v is not None and (not isinstance(v, int) or isinstance(v, bool))]
        if bad or not all(isinstance(value.get(n, {}), dict) for n in ("attributes", "trigger")):
            self.problem("bad-decision-value", f"decision {did} ({key}): offsets must be integers and attributes/trigger mappings", did, "value")
            return None
        out = dict(base)
        for name, v in value.items():
            if name == "attributes":
                out["attributes"] = {**(base.get("attributes") or {}), **v}
            elif name == "trigger":
                out["trigger"] = {**base["trigger"], **v}
            else:
                out[name] = v
        return out

    def attributes(self, key: str, values: dict[str, dict], overrides: list[str] | None = None) -> dict:
        """Resolve each attribute of an agreed item; the result is name -> value (None: unset).
        A decision on an attribute every layer agrees on overrides it; its id goes to `overrides`."""
        names = next(iter(values.values()))
        out = {}
        for name in names:
            seen = {a: v.get(name) for a, v in values.items()}
            akey = align.attribute_key(key, name)
            required = self._required(name)
            if len(set(map(repr, seen.values()))) == 1:
                out[name] = next(iter(seen.values()))
                d = self.override(akey, ("edit",) if required else ("edit", "reject"))
                if d is not None:
                    if d["action"] == "reject":
                        out[name] = None
                    elif name not in d.get("value", {}):
                        self.problem("bad-decision-value", f"decision {d['id']} ({akey}): value must give {name!r}, e.g. {{{name}: ...}}", d["id"], "value")
                    else:
                        out[name] = d["value"][name]
                    if overrides is not None:
                        overrides.append(d["id"])
                continue
            actions = ("take", "edit") if required else ("take", "reject", "edit")
            d, keep = self.decide(Conflict(akey, seen, actions=actions), [a for a in seen])
            if d is None:
                out[name] = seen[self.names[0]]  # placeholder; the document will not be written
            elif d["action"] == "take":
                out[name] = seen[d["layer"]]
            elif d["action"] == "edit":
                if name not in d["value"]:
                    self.problem("bad-decision-value", f"decision {d['id']} ({akey}): value must give {name!r}, e.g. {{{name}: ...}}", d["id"], "value")
                out[name] = d["value"].get(name)
            else:
                out[name] = None
        return out

    def _required(self, name: str) -> bool:
        attrs = {a.name: a for a in self.onto.entity_attributes + self.onto.event_attributes}
        return name in attrs and attrs[name].required

    # -- arguments and coreference links: present or absent --------------------------------
    def scoped(self, key: str, ends: tuple[str, str], has, gold: set[str]) -> bool:
        """Resolve an item that needs both its ends in gold, among the layers that have both ends."""
        if not all(e in gold for e in ends):
            self.out.dropped.append(key)
            return False
        scope = [a for a in self.names if all(self._has_mention(a, e) for e in ends)]
        have = [a for a in scope if has(a)]
        if have == scope:
            if self.override(key, ("reject",)) is not None:
                return False
            if scope == self.names:
                self.origin[key] = ("agreed", tuple(self.names))
                self.out.agreed += 1
            else:  # an end came in by a decision, and every layer with both ends agrees
                cause = next(self.origin[e] for e in ends if self.origin[e][0] != "agreed")
                self.origin[key] = cause
            return True
        versions = {a: ("present" if a in have else "absent") for a in scope}
        d, keep = self.decide(Conflict(key, versions, actions=ACTIONS_WITHOUT_EDIT), have)
        if keep:
            self.origin[key] = ("decision", d["id"])
        return keep

    def _has_mention(self, annotator: str, key: str) -> bool:
        lay = self.layers[annotator]
        return key in lay.entities or key in lay.events

    def arguments(self, events: dict[str, dict], entities: dict[str, dict]) -> dict[str, list[str]]:
        """event key -> gold argument keys."""
        out: dict[str, list[str]] = {k: [] for k in events}
        gold = set(entities) | set(events)
        layered = {k for lay in self.layers.values() for k in lay.arguments}
        keys = sorted({k for lay in self.layers.values() for k, a in lay.arguments.items() if a["event"] in events}
                      | (self.added_keys("arg") - layered))
        for key in keys:
            if key not in layered:
                arg = self.added_argument(key, events, entities)
                if arg is not None:
                    out[arg["event"]].append(key)
                continue
            arg = next(lay.arguments[key] for lay in self.layers.values() if key in lay.arguments)
            has = lambda a, k=key: k in self.layers[a].arguments  # noqa: E731
            if self.scoped(key, (arg["event"], arg["entity"]), has, gold):
                out[arg["event"]].append(key)
        return out

    def added_argument(self, key: str, events: dict[str, dict], entities: dict[str, dict]) -> dict | None:
        d = self.by_item[key]
        self.used.add(key)
        parsed = itemkey.key(key)  # arg:<event key>:<role>:<entity key>, checked on reading
        event, role, entity = str(parsed.mention), parsed.name, str(parsed.other)
        missing = [k for k, pool in ((event, events), (entity, entities)) if k not in pool]
        if missing:
            self.problem("decision-not-possible", f"decision {d['id']} ({key}): {' and '.join(missing)} not in gold, "
                         "so the argument cannot be added", d["id"])
            return None
        arg = {"event": event, "role": role, "entity": entity}
        self.added_args[key] = arg
        self.origin[key] = ("decision", d["id"])
        self.out.added += 1
        return arg

    def argument(self, key: str) -> dict:
        if key in self.added_args:
            return self.added_args[key]
        return next(lay.arguments[key] for lay in self.layers.values() if key in lay.arguments)

    def links(self, kind: str, gold: dict[str, dict]) -> list[str]:
        layered = {k for lay in self.layers.values() for k in lay.links(kind)}
        added = {k for k in self.added_keys("coref") if itemkey.key(k).mention.kind == kind} - layered
        kept, ends = [], set(gold)
        for key in sorted(layered | added):
            a, b = _ends(key)
            if key in added:
                d = self.by_item[key]
                self.used.add(key)
                missing = [e for e in (a, b) if e not in ends]
                if missing:
                    self.problem("decision-not-possible", f"decision {d['id']} ({key}): {' and '.join(missing)} not in gold, "
                                 "so the link cannot be added", d["id"])
                    continue
                self.origin[key] = ("decision", d["id"])
                self.out.added += 1
                kept.append(key)
                continue
            has = lambda n, k=key: k in self.layers[n].links(kind)  # noqa: E731
            if self.scoped(key, (a, b), has, ends):
                kept.append(key)
        return kept


def _ends(key: str) -> tuple[str, str]:
    """The two mention keys a coreference link key joins."""
    link = itemkey.key(key)
    return str(link.mention), str(link.other)


def _order(key: str):
    """Text order of a mention key: start, end, then type."""
    mention = itemkey.key(key).mention
    return mention.start, mention.end, mention.type


def _span_text(item: dict) -> str:
    return item["trigger"]["text"] if "trigger" in item else item["text"]


def _clusters(links: list[str], order: dict[str, int]) -> list[list[str]]:
    """Connected components of the accepted links, members and clusters in text order."""
    pairs = [_ends(key) for key in links]
    nodes = dict.fromkeys(x for pair in pairs for x in pair)
    clusters = [sorted(g, key=order.__getitem__) for g in components(nodes, pairs)]
    return sorted(clusters, key=lambda c: order[c[0]])


def build_gold(doc: str, layers: dict[str, align.Layer], decisions: list[dict], document: dict,
               onto: Ontology | None = None, where: str = "", source: dict | None = None) -> Outcome:
    """Adjudicate one document (pure: no files). `decisions` are validated Decision objects."""
    onto = onto or load_ontology()
    b = _Builder(doc, layers, decisions, document["text"], onto, where or f"annotations/{doc}/decisions.yaml")
    entities = b.mentions("entities", align.entity_attributes)
    events = b.mentions("events", align.event_attributes)
    args = b.arguments(events, entities)
    links = {kind: b.links(kind, entities if kind == "entity" else events) for kind in ("entity", "event")}
    for item, d in sorted(b.by_item.items(), key=lambda x: b.index.get(x[1]["id"], 0)):
        if item not in b.used:
            b.stale(d, item, "it matches no item of the layers (the layers changed, or the key is mistyped); "
                             "use 'add' for an item no layer has")
    if b.out.undecided or b.out.problems:
        return b.out

    text = document["text"]
    ent_keys = sorted(entities, key=lambda k: _order(align.entity_key(entities[k])) + (k,))
    ev_keys = sorted(events, key=lambda k: _order(align.event_key(events[k])) + (k,))
    gid = {k: f"T{i}" for i, k in enumerate(ent_keys, 1)}
    gid.update({k: f"E{i}" for i, k in enumerate(ev_keys, 1)})
    order = {k: i for i, k in enumerate(ent_keys + ev_keys)}
    gold_entities = []
    for k in ent_keys:
        e = entities[k]
        rec = {"id": gid[k], "type": e["type"], "start": e["start"], "end": e["end"], "text": text[e["start"]:e["end"]],
               "attributes": {n: v for n, v in e["attributes"].items() if v is not None and n != "normalized"},
               "provenance": b.provenance(b.origin[k])}
        if e["type"] in onto.value_types:
            rec["normalized"] = e["attributes"].get("normalized")
        if e.get("subword"):
            rec["subword"] = True
        gold_entities.append(rec)
    gold_events = []
    for k in ev_keys:
        ev = events[k]
        t = ev["trigger"]
        role_order = {r.name: i for i, r in enumerate(onto.event(ev["type"]).roles)} if onto.event(ev["type"]) else {}
        ranked = []
        for akey in args[k]:
            a = b.argument(akey)
            rank = (role_order.get(a["role"], len(role_order)), a["role"], order[a["entity"]])
            ranked.append((rank, {"role": a["role"], "entity": gid[a["entity"]], "type": entities[a["entity"]]["type"],
                                  "provenance": b.provenance(b.origin[akey])}))
        arguments = [arg for _, arg in sorted(ranked, key=lambda x: x[0])]
        gold_events.append({
            "id": gid[k], "type": ev["type"],
            "trigger": {"start": t["start"], "end": t["end"], "text": text[t["start"]:t["end"]], **({"subword": True} if t.get("subword") else {})},
            "arguments": arguments,
            "attributes": {n: v for n, v in ev["attributes"].items() if v is not None},
            "provenance": b.provenance(b.origin[k]),
        })
    clusters = {}
    for kind, prefix in (("entity", "C"), ("event", "EC")):
        out = []
        for i, members in enumerate(_clusters(links[kind], order), 1):
            origins = [b.origin[lk] for lk in links[kind] if set(_ends(lk)) <= set(members)]
            decided = sorted(str(o[1]) for o in origins if o[0] == "decision")
            prov = {"method": "decision", "decision": decided[0]} if decided else {"method": "agreed", "annotators": list(b.names)}
            out.append({"id": f"{prefix}{i}", "members": [gid[m] for m in members], "provenance": prov})
        clusters[kind] = out
    for d in b.by_item.values():  # a rejected link that accepted links join anyway is a contradiction
        if d["action"] == "reject" and itemkey.key(d["item"]).kind == "coref" and d["item"] in b.used:
            x, y = _ends(d["item"])
            kind = itemkey.key(x).kind
            if any(gid.get(x) in c["members"] and gid.get(y) in c["members"] for c in clusters[kind]):
                b.problem("decision-conflict", f"decision {d['id']} rejects {d['item']}, but other accepted links put both in one "
                          "cluster; reject one of those too", d["id"], "action")
    if b.out.problems:
        return b.out
    b.out.gold = {
        "kind": "annotation",
        "schema_version": onto.version,
        "document": doc,
        "annotator": "gold",
        "text_sha256": document["sha256"],
        "source": {"method": "raidcorpus adjudicate", "layers": ",".join(b.names), **(source or {})},
        "entities": gold_entities,
        "events": gold_events,
        "entity_clusters": clusters["entity"],
        "event_clusters": clusters["event"],
    }
    return b.out
