"""The MUC-3/4 answer keys: key files to muc4-key records and back, and string fillers located in a text.

Pure functions. A key file is a run of 25-slot blocks (TASK/TASKDOC/templ-doc-basic); a slot
holds one fill per line: alternatives joined by '/', a leading '?' for an optional fill, and
after a colon the quoted fillers of another slot the fill is about (the cross-reference). Each
line is read by the slot's grammar and written back by `render_fill`; a line whose rendering
differs from it (whitespace aside) is kept verbatim, so nothing is lost (`malformed` lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .ontology import load_schema

LAYER = "muc4-key"
MADE_BY = "the MUC-3/4 participants and NRaD (1991-92)"
NOTE = "official MUC-3/4 answer keys: human-made at template level, not gold of the raidcorpus ontology"
MESSAGE_ID = re.compile(r"^(DEV-MUC3|TST[1-4]-MUC[34])-[0-9]{4}\b")
_MONTHS = {m: i for i, m in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}
_DATE = re.compile(r"^(\d{1,2}) ([A-Z]{3})[A-Z]* (\d{2})$")
_SLOT_LINE = re.compile(r"^(\d{1,2})\.\s+(.*)$")
_PLACE = re.compile(r"^(.*?)\s*\(([^()]*)\)$")


def slots() -> tuple[str, ...]:
    """The 25 slot names, in key-file order, from the schema (none in an ontology of one's own without them)."""
    return tuple(load_schema()["$defs"].get("MucSlot", {}).get("enum", ()))


def string_slots() -> frozenset[str]:
    """The slots whose values are quoted text fillers (the ones located in the text)."""
    return frozenset(load_schema()["$defs"].get("MucSlot", {}).get("x-string-slots", ()))


def doc_id(message_id: str) -> str:
    """The corpus id of a message (the contract with ingest): DEV-MUC3-0001 -> dev-muc3-0001."""
    return message_id.lower()


# -- one line ---------------------------------------------------------------------------------

def split_top(s: str, sep: str) -> list[str]:
    """s split at `sep` outside quoted strings (with backslash escapes) and brackets."""
    parts, depth, quoted, start, i = [], 0, False, 0, 0
    while i < len(s):
        c = s[i]
        if quoted:
            if c == "\\" and i + 1 < len(s):
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == sep and depth == 0:
            parts.append(s[start:i])
            start = i + 1
        i += 1
    parts.append(s[start:])
    return parts


def unquote(s: str) -> str | None:
    """The string of a quoted filler ("A \\"B\\"" -> A "B"), or None when s is not one quoted string."""
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        return None
    body = s[1:-1]
    if re.search(r'(?<!\\)"', body):
        return None
    return body.replace('\\"', '"')


def quote(s: str) -> str:
    return '"' + s.replace('"', '\\"') + '"'


def iso_date(s: str) -> str | None:
    """'31 OCT 89' -> '1989-10-31' (the keys' years are 19xx), None when it is no real date."""
    m = _DATE.match(s.strip())
    if not m or m.group(2) not in _MONTHS:
        return None
    try:
        return date(1900 + int(m.group(3)), _MONTHS[m.group(2)], int(m.group(1))).isoformat()
    except ValueError:
        return None


def _date(alt: str) -> dict:
    s = alt.strip()
    out: dict = {}
    if s.startswith("(") and s.endswith(")"):
        out["parenthesized"] = True
        s = s[1:-1].strip()
    ends = s.split(" - ") if " - " in s else (["", s[1:]] if s.startswith("-") else [s])
    if len(ends) == 1:
        out.update(date=s, iso=iso_date(s))
    elif len(ends) == 2:
        start, end = (e.strip() or None for e in ends)
        out.update({"from": start, "to": end})
        out["iso"] = f"{iso_date(start) if start else '..'}/{iso_date(end) if end else '..'}" \
            if (not start or iso_date(start)) and (not end or iso_date(end)) else None
    else:
        raise ValueError(alt)
    return out


def _render_date(d: dict) -> str:
    if "date" in d:
        s = d["date"]
    else:
        s = f"{d['from'] or ''} - {d['to'] or ''}".strip()
    return f"({s})" if d.get("parenthesized") else s


def _place(part: str) -> dict:
    m = _PLACE.match(part.strip())
    return {"name": m.group(1), "type": m.group(2)} if m else {"name": part.strip()}


def _render_value(v) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return ": ".join(p["name"] + (f" ({p['type']})" if "type" in p else "") for p in v)
    if "string" in v:
        return quote(v["string"])
    return _render_date(v)


def render_fill(fill: dict) -> str:
    """One fill as a key line writes it."""
    if "verbatim" in fill:
        return fill["verbatim"]
    out = ("? " if fill["optional"] else "") + " / ".join(_render_value(v) for v in fill["values"])
    if fill["refs"]:
        out += ": " + " / ".join(quote(r) for r in fill["refs"])
    return out


def _squeeze(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _read_fill(slot: str, line: str) -> dict:
    s = line.strip()
    optional = s.startswith("?")
    if optional:
        s = s[1:].strip()
    head, refs = s, []
    if slot not in ("INCIDENT: DATE", "INCIDENT: LOCATION", "MESSAGE: ID"):
        parts = split_top(s, ":")
        if len(parts) == 2 and parts[1].strip().startswith('"'):
            head = parts[0]
            refs = [unquote(r) for r in split_top(parts[1], "/")]
            if None in refs:
                raise ValueError(line)
    values: list = []
    for alt in split_top(head, "/"):
        if slot in string_slots() and alt.strip() not in ("*", "-"):
            got = unquote(alt)
            if got is None:
                raise ValueError(line)
            values.append({"string": got, "mentions": [], "ambiguous": False})
        elif slot == "INCIDENT: DATE" and alt.strip() not in ("*", "-"):
            values.append(_date(alt))
        elif slot == "INCIDENT: LOCATION" and alt.strip() not in ("*", "-"):
            values.append([_place(p) for p in split_top(alt, ":")])
        else:
            if not alt.strip() or '"' in alt:
                raise ValueError(line)
            values.append(alt.strip())
    return {"optional": optional, "values": values, "refs": refs}


def read_fill(slot: str, line: str) -> dict:
    """A slot line as a fill; kept verbatim when the grammar does not read it back as it was."""
    try:
        fill = _read_fill(slot, line)
    except ValueError:
        return {"verbatim": line.strip()}
    if _squeeze(render_fill(fill)) != _squeeze(line):
        return {"verbatim": line.strip()}
    return fill


# -- blocks and files -------------------------------------------------------------------------

@dataclass
class Block:
    """One key block as read: its slot lines (slot -> the lines of its fills) and the comments around it."""

    lines: dict[str, list[str]] = field(default_factory=dict)
    comments: list[dict] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)  # the block's lines as written (comments and blank lines left out)


def read_blocks(key_text: str) -> list[Block]:
    """The blocks of a key file, in order. Comment lines (';') are kept on the block they precede (after -1)
    or the slot they follow; a comment after the last block stays on the last block."""
    names = slots()
    blocks: list[Block] = []
    pending: list[dict] = []
    slot = None
    for line in key_text.splitlines():
        m = _SLOT_LINE.match(line)
        if line.startswith(";"):
            if blocks and slot is not None and slot != names[-1]:
                blocks[-1].comments.append({"after": names.index(slot), "line": line})
            else:
                pending.append({"after": -1, "line": line})
            continue
        if not line.strip():
            continue
        if m:
            number, rest = int(m.group(1)), m.group(2)
            if number >= len(names) or not rest.startswith(names[number]):
                raise ValueError(f"not a slot line: {line!r}")
            slot = names[number]
            if number == 0:
                blocks.append(Block(comments=pending))
                pending = []
            blocks[-1].lines.setdefault(slot, []).append(rest[len(slot):])
        elif line[0].isspace() and slot is not None:
            blocks[-1].lines[slot].append(line)
        else:
            raise ValueError(f"not a slot line: {line!r}")
        blocks[-1].raw.append(line)
    if pending and blocks:
        blocks[-1].comments += [{"after": len(names) - 1, "line": c["line"]} for c in pending]
    return blocks


def template_of(block: Block) -> dict:
    """A key block as a template (schema MucTemplate)."""
    if sorted(block.lines) != sorted(slots()):
        raise ValueError(f"a block without its 25 slots: {block.raw[:1]}")
    filled = {slot: [read_fill(slot, line) for line in block.lines[slot]] for slot in slots()}
    head = block.lines["MESSAGE: ID"][0].strip()
    sites = re.search(r"\((.*)\)\s*$", head)
    number = block.lines["MESSAGE: TEMPLATE"][0].strip()
    m = re.match(r"^(\d+)\s*(\(OPTIONAL\))?$", number)
    out = {
        "template": int(m.group(1)) if m else None,
        "optional": bool(m and m.group(2)),
        "made_by": [s.strip() for s in re.split(r"[,/]", sites.group(1))] if sites else [],
        "comments": block.comments,
        "slots": filled,
    }
    if list(block.lines) != list(slots()):
        out["slot_order"] = list(block.lines)  # a block written out of order is written back so
    return out


def message_of(template: dict) -> str:
    m = MESSAGE_ID.match(render_fill(template["slots"]["MESSAGE: ID"][0]))
    if not m:
        raise ValueError(f"no message id in {template['slots']['MESSAGE: ID']}")
    return m.group(0)


def render_block(template: dict) -> str:
    """A template written back as a key block (slot numbers, names, one fill per line)."""
    out = []
    names = slots()
    for slot in template.get("slot_order", names):
        label = f"{names.index(slot)}.".ljust(4) + slot
        for i, fill in enumerate(template["slots"][slot]):
            out.append((label.ljust(36) if i == 0 else " " * 36) + render_fill(fill))
    return "\n".join(out) + "\n"


def same_modulo_whitespace(a: str, b: str) -> bool:
    return _squeeze(a) == _squeeze(b)


def malformed(template: dict) -> list[tuple[str, str]]:
    """(slot, line) of every line kept verbatim."""
    return [(slot, f["verbatim"]) for slot, fills in template["slots"].items() for f in fills if "verbatim" in f]


# -- located fillers --------------------------------------------------------------------------

def locate(filler: str, text: str) -> list[dict]:
    """Every occurrence of a filler in text, as spans of text: case ignored, and any run of
    whitespace (a line break too) in the text matches a space of the filler. Whole words only."""
    words = filler.split()
    if not words:
        return []
    pattern = r"\s+".join(map(re.escape, words))
    if words[0][0].isalnum():
        pattern = r"(?<![A-Za-z0-9])" + pattern
    if words[-1][-1].isalnum():
        pattern += r"(?![A-Za-z0-9])"
    return [{"start": m.start(), "end": m.end(), "text": m.group(0)} for m in re.finditer(pattern, text, re.IGNORECASE)]


def locate_all(template: dict, text: str) -> dict:
    """The template with every string filler's mentions in text filled in (a new dict)."""
    out = dict(template, slots={})
    for slot, fills in template["slots"].items():
        new = []
        for fill in fills:
            if "values" in fill:
                values = [dict(v, mentions=(found := locate(v["string"], text)), ambiguous=len(found) > 1)
                          if isinstance(v, dict) and "string" in v else v for v in fill["values"]]
                fill = dict(fill, values=values)
            new.append(fill)
        out["slots"][slot] = new
    return out


def unlocated(template: dict) -> list[tuple[str, str]]:
    """(slot, filler) of every string filler with no occurrence."""
    return [(slot, v["string"]) for slot, fills in template["slots"].items() for f in fills
            for v in f.get("values", ()) if isinstance(v, dict) and "string" in v and not v["mentions"]]


def key_record(message: str, templates: list[dict], text: str, text_sha256: str, source_file: str,
               schema_version: str) -> dict:
    """The muc4-key record of one message: its templates with fillers located in `text`."""
    return {
        "kind": "muc4_key",
        "schema_version": schema_version,
        "document": doc_id(message),
        "layer": LAYER,
        "message": message,
        "provenance": {"made_by": MADE_BY, "level": "template", "gold": False, "note": NOTE},
        "source_file": source_file,
        "text_sha256": text_sha256,
        "templates": [locate_all(t, text) for t in templates],
    }


def by_message(key_text: str) -> dict[str, list[dict]]:
    """message id -> its templates (in file order), from one key file."""
    out: dict[str, list[dict]] = {}
    for block in read_blocks(key_text):
        t = template_of(block)
        out.setdefault(message_of(t), []).append(t)
    return out


# -- message texts ----------------------------------------------------------------------------

def split_messages(file_text: str) -> list[tuple[str, str]]:
    """(message id, text) of each message of a NIST text file; text is the message less its first
    line (the id line), as the corpus record's text is taken to be."""
    starts = [m.start() for m in re.finditer(r"^(?:DEV-MUC3|TST[1-4]-MUC[34])-[0-9]{4}\b", file_text, re.MULTILINE)]
    out = []
    for i, start in enumerate(starts):
        raw = file_text[start:starts[i + 1] if i + 1 < len(starts) else len(file_text)]
        first, _, rest = raw.partition("\n")
        out.append((MESSAGE_ID.match(first).group(0), rest))
    return out


# -- the verb: sources/ keys -> annotations/<doc>/muc4-key.json ----------------------------------

KEY_FILE = f"{LAYER}.json"


@dataclass
class Report:
    """What `raidcorpus keys` wrote and what it could not place, for the maintainer."""

    records: int = 0
    written: int = 0
    templates: int = 0
    strings: int = 0
    located: int = 0
    unlocated: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [*self.malformed, *self.unlocated,
                f"{self.records} key records ({self.templates} templates), {self.written} written, "
                f"{len(self.malformed)} malformed lines kept verbatim; {self.located} of {self.strings} string fillers "
                f"located, {len(self.unlocated)} not"]


def key_files(sources: Path) -> list[Path]:
    return sorted(Path(sources).glob("TASK/CORPORA/*/key-*"))


def write_records(root: Path, sources: Path, schema_version: str) -> Report:
    """One muc4-key record per message of the key files under `sources`, its fillers located in the
    text of the message's corpus record (which must exist), written under root/annotations/."""
    from . import fileio
    from .records import Reader

    reader = Reader(root / "corpus", level=3, shown_root=root)
    report = Report()
    made = []  # every record made and checked before the first is written: nothing half-written
    for path in key_files(sources):
        shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        for message, templates in by_message(path.read_text(encoding="ascii")).items():
            doc = doc_id(message)
            corpus = reader.document(doc)  # one line when there is none: ingest the messages first
            record = key_record(message, templates, corpus["text"], corpus["sha256"], shown, schema_version)
            report.records += 1
            report.templates += sum(t["template"] is not None for t in templates)
            for i, t in enumerate(record["templates"]):
                where = f"{shown} doc={doc} message={message} block={i}"
                report.malformed += [f"{where} slot={slot!r} malformed line kept verbatim: {line}" for slot, line in malformed(t)]
                found = [v for fills in t["slots"].values() for f in fills for v in f.get("values", ())
                         if isinstance(v, dict) and "string" in v]
                report.strings += len(found)
                report.located += sum(bool(v["mentions"]) for v in found)
                report.unlocated += [f"{where} slot={slot!r} unlocated filler: {s!r}" for slot, s in unlocated(t)]
            target = fileio.inside(root / "annotations", doc, KEY_FILE)
            made.append((target, reader.check(record, target, "muc4_key")))
    for target, record in made:
        report.written += fileio.write_json(target, record)
    return report
