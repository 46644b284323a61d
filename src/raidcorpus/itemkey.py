"""Gold item keys as a small typed value: what a key names, parsed once, written one way.

A key names an item the same way in every layer and in the decisions files, without the
annotators' own ids: `entity:TYPE:S-E`, `event:TYPE:S-E`, `attr:<mention key>:NAME`,
`arg:<event key>:ROLE:<entity key>`, `coref:<mention key>|<mention key>`. The text form is what
decisions files hold on disk; code reads a key with `parse_key` (a Problem when malformed, so a
hand-edited key never ends in a traceback) and writes one with `str()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import Problem

MENTION_KINDS = ("entity", "event")
KINDS = ("entity", "event", "attr", "arg", "coref")
MAX_OFFSET_DIGITS = 9  # an article is at most 2 MiB (ingest.MAX_ARTICLE_BYTES): 7 digits; int() refuses 4,300
_NAME = re.compile(r"[^\s:|]+")
_SPAN = re.compile(r"([0-9]+)-([0-9]+)")
EXAMPLES = ("entity:PER:10-15, event:Raid:20-26, attr:event:Raid:20-26:status, "
            "arg:event:Raid:20-26:Place:entity:GPE:30-38, coref:entity:PER:10-15|entity:PER:40-43")


@dataclass(frozen=True, order=True)
class Mention:
    """An entity or event of a layer by what it is: kind, type and span (the trigger's, for an event)."""

    kind: str
    type: str
    start: int
    end: int

    def __str__(self) -> str:
        return mention_key(self.kind, self.type, self.start, self.end)


@dataclass(frozen=True)
class ItemKey:
    """One gold item: a mention (kind entity or event), an attribute of one (`name`), an argument
    (the event, `name` the role, `other` the entity), or a coreference link (`mention`, `other`)."""

    kind: str
    mention: Mention
    name: str | None = None
    other: Mention | None = None

    def __str__(self) -> str:
        if self.kind in MENTION_KINDS:
            return str(self.mention)
        if self.kind == "attr":
            return attribute_key(str(self.mention), self.name)
        if self.kind == "arg":
            return argument_key(str(self.mention), self.name, str(self.other))
        return link_key(str(self.mention), str(self.other))

    def mentions(self) -> tuple[Mention, ...]:
        """The mentions the item is about: itself, the item an attribute is on, an argument's or a link's ends."""
        return (self.mention,) if self.other is None else (self.mention, self.other)


class _Malformed(ValueError):
    """A malformed key (internal to parse_key: callers get a Problem)."""


def _mention(text: str, kinds: tuple[str, ...] = MENTION_KINDS) -> Mention:
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in kinds:
        raise _Malformed(f"{text!r} is not a mention key {' or '.join(k + ':TYPE:START-END' for k in kinds)}")
    kind, etype, span = parts
    if not _NAME.fullmatch(etype):
        raise _Malformed(f"{text!r} has no type")
    m = _SPAN.fullmatch(span)
    if not m:
        raise _Malformed(f"{text!r}: the span {span!r} is not START-END with two non-negative integers")
    if max(len(m[1]), len(m[2])) > MAX_OFFSET_DIGITS:
        raise _Malformed(f"{text!r}: an offset of more than {MAX_OFFSET_DIGITS} digits")
    # An end not after its start is well formed: the layers' records have their own check (bad-span),
    # and a decision on such a key names no item (stale-decision) or adds a bad span (checked in gold).
    return Mention(kind, etype, int(m[1]), int(m[2]))


def _parse(text: str) -> ItemKey:
    kind, sep, rest = text.partition(":")
    if kind in MENTION_KINDS:
        return ItemKey(kind, _mention(text))
    if not sep or kind not in KINDS:
        raise _Malformed(f"{text!r} does not start with one of {', '.join(k + ':' for k in KINDS)}")
    if kind == "attr":
        item, _, name = rest.rpartition(":")
        if not _NAME.fullmatch(name):
            raise _Malformed(f"{text!r} names no attribute (attr:<mention key>:NAME)")
        return ItemKey("attr", _mention(item), name)
    if kind == "arg":
        parts = rest.split(":")
        if len(parts) != 7:
            raise _Malformed(f"{text!r} is not arg:<event key>:ROLE:<entity key>")
        role = parts[3]
        if not _NAME.fullmatch(role):
            raise _Malformed(f"{text!r} names no role")
        return ItemKey("arg", _mention(":".join(parts[:3]), ("event",)), role, _mention(":".join(parts[4:]), ("entity",)))
    ends = rest.split("|")
    if len(ends) != 2:
        raise _Malformed(f"{text!r} is not coref:<mention key>|<mention key>")
    a, b = _mention(ends[0]), _mention(ends[1])
    if a.kind != b.kind or a == b:
        raise _Malformed(f"{text!r}: a link joins two different mentions of one kind")
    return ItemKey("coref", a, other=b)


def parse_key(text, path: str = "", doc: str | None = None, at: str = "/") -> ItemKey | Problem:
    """The typed key of a key's text form, or a `bad-item-key` Problem addressed at (path, doc, at)."""
    if not isinstance(text, str):
        return Problem(path, doc, at, "bad-item-key", f"an item key is text, not {type(text).__name__}; e.g. {EXAMPLES}")
    try:
        return _parse(text)
    except _Malformed as e:
        return Problem(path, doc, at, "bad-item-key", f"{e}; keys look like {EXAMPLES}")


def key(text: str) -> ItemKey:
    """The typed key of a key the code made itself (from a layer) or checked on reading: malformed is a bug."""
    got = parse_key(text)
    if isinstance(got, Problem):
        raise ValueError(got.message)
    return got


# -- the text forms, written here only (align keys every layer with them) ------------------------


def mention_key(kind: str, etype: str, start: int, end: int) -> str:
    return f"{kind}:{etype}:{start}-{end}"


def attribute_key(item: str, name: str) -> str:
    return f"attr:{item}:{name}"


def argument_key(event: str, role: str, entity: str) -> str:
    return f"arg:{event}:{role}:{entity}"


def link_key(a: str, b: str) -> str:
    """A coreference link between two mentions, order-free (the ends in the order of their text forms)."""
    a, b = sorted((a, b))
    return f"coref:{a}|{b}"
