"""export: a built dataset folder -> the formats event-extraction and NER tools read.

Formats (one folder per format under --out, one file or folder per split):

- textee: TextEE / OneIE sentence JSON lines (token spans, end exclusive);
- brat:   brat standoff, one .txt and .ann per document, annotation.conf from the schema;
- spacy:  spaCy DocBin, entities in doc.ents (outermost) and span groups, triggers and
          arguments in span groups;
- conll:  CoNLL-style BIO for entities, one token and tag per line.

Every format has a reader here too (`read_*`), which turns the files back into annotation
records of the same shape as annotations/<doc>/<annotator>.json, so that what a format cannot
carry is counted (`losses`) by comparing the round trip with the records it came from. The
readers are also what `raidcorpus score` uses for the TextEE format.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow.parquet as pq

from .. import align, fileio, ontology
from . import outdir, rows
from .card import readable
from .features import for_config
from .layout import parquet_name
from ..errors import Problem, ProblemError, UserError
from ..text import span_fits

FORMATS = ("textee", "brat", "spacy", "conll")
CHAR_OFFSET = "char_offset"  # our addition to TextEE lines: where the sentence starts in the article
# The document line spaCy's CoNLL NER converter splits on (spacy.training.converters.conll_ner_to_docs):
# it must be this exact string, four columns, or the line is read as tokens.
DOCSTART = "-DOCSTART- -X- O O"
# TextEE's file names (train.json, dev.json, test.json, JSON lines) for the splits of splits.yaml.
MENTION = "mention"  # the entity attribute (ACE mention level) TextEE calls mention_type
TEXTEE_SPLITS = {"train": "train", "validation": "dev", "test": "test"}


# --- the dataset folder as annotation records -----------------------------------------------


def record_of(row: dict) -> dict:
    """A documents row (class names as strings) as an annotation record plus its text."""
    onto = ontology.load()
    return {
        "document": row["id"],
        "annotator": "gold",
        "text": row["text"],
        "entities": [
            {
                "id": e["id"], "type": e["type"], "start": e["start"], "end": e["end"], "text": e["text"],
                "attributes": {a.name: e[a.name] for a in onto.entity_attributes if e.get(a.name) is not None},
                **({"normalized": e["normalized"]} if e.get("normalized") is not None else {}),
                "provenance": e.get("provenance"),
            }
            for e in row["entities"]
        ],
        "events": [
            {
                "id": v["id"], "type": v["type"], "trigger": dict(v["trigger"]),
                "arguments": [{"role": a["role"], "entity": a["entity_id"], "type": a["entity_type"]} for a in v["arguments"]],
                "attributes": {k: x for k, x in v["attributes"].items() if x is not None},
                "provenance": v.get("provenance"), "cross_document_id": v.get("cross_document_id"),
            }
            for v in row["events"]
        ],
        "entity_clusters": [{"id": c["id"], "members": list(c["members"])} for c in row["entity_clusters"]],
        "event_clusters": [{"id": c["id"], "members": list(c["members"])} for c in row["event_clusters"]],
    }


def read_folder(folder: Path) -> Iterator[tuple[str, dict]]:
    """(split, record) for every document of a built (full) dataset folder, in split order."""
    release = folder / "release.json"
    if not release.is_file():
        raise UserError(f"{folder}: not a built dataset folder (no release.json): build it with 'raidcorpus build'")
    facts = json.loads(release.read_text(encoding="utf-8"))
    if facts.get("variant") != "full":
        raise UserError(f"{folder}: the {facts.get('variant')} variant has no article text: rehydrate it first ('raidcorpus rehydrate')")
    features = for_config("documents")
    for split in facts["splits"]:
        path = folder / "documents" / parquet_name(split)
        if not path.is_file():
            continue
        for batch in pq.ParquetFile(path).iter_batches(batch_size=64):
            for row in batch.to_pylist():
                yield split, record_of(readable(features, row))


# --- tokens ---------------------------------------------------------------------------------


@dataclass
class Tokenized:
    """A document's sentences and tokens (those of the ner config), with token lookups by offset."""

    sents: rows.Sentences
    tokens: list = field(default_factory=list)  # (sentence, index in sentence, start, end, text)

    @classmethod
    def of(cls, text: str, nlp) -> "Tokenized":
        sents = rows.Sentences(text, nlp)
        toks = [(n, i, t.idx, t.idx + len(t.text), t.text) for n, s in enumerate(sents.tokens) for i, t in enumerate(s)]
        return cls(sents, toks)

    def token_span(self, start: int, end: int) -> tuple[int, int, int] | None:
        """(sentence, first token, end token exclusive) of the tokens a character span touches, or None
        when they are in two sentences (or there are none)."""
        touched = [t for t in self.tokens if t[2] < end and start < t[3]]
        if not touched or touched[0][0] != touched[-1][0]:
            return None
        return touched[0][0], touched[0][1], touched[-1][1] + 1


# --- TextEE / OneIE -------------------------------------------------------------------------


def textee_lines(rec: dict, tok: Tokenized, lang: str = "en") -> list[dict]:
    doc = rec["document"]
    ents_by_sent: dict[int, list[dict]] = {}
    where: dict[str, tuple[int, int, int]] = {}
    for e in rec["entities"]:
        span = tok.token_span(e["start"], e["end"])
        if span is None:
            continue
        where[e["id"]] = span
        n, a, b = span
        mention = {"id": f"{doc}:{e['id']}", "entity_type": e["type"], "text": _token_text(tok, n, a, b), "start": a, "end": b,
                   "mention_type": (e.get("attributes") or {}).get(MENTION) or "UNK"}
        if e.get("normalized") is not None:
            mention["value"] = e["normalized"]
        ents_by_sent.setdefault(n, []).append(mention)
    evs_by_sent: dict[int, list[dict]] = {}
    for v in rec["events"]:
        span = tok.token_span(v["trigger"]["start"], v["trigger"]["end"])
        if span is None:
            continue
        n, a, b = span
        args = []
        for arg in v["arguments"]:
            filler = where.get(arg["entity"])
            if filler is None or filler[0] != n:
                continue  # a filler in another sentence: TextEE arguments stay in their window
            args.append({"entity_id": f"{doc}:{arg['entity']}", "role": arg["role"],
                         "text": _token_text(tok, n, filler[1], filler[2]), "start": filler[1], "end": filler[2]})
        evs_by_sent.setdefault(n, []).append(
            {"id": f"{doc}:{v['id']}", "event_type": v["type"],
             "trigger": {"text": _token_text(tok, n, a, b), "start": a, "end": b}, "arguments": args}
        )
    out = []
    for n, toks in enumerate(tok.sents.tokens):
        out.append(
            {
                "doc_id": doc,
                "wnd_id": f"{doc}-{n}",
                "text": tok.sents.text[tok.sents.starts[n] : tok.sents.ends[n]],
                "lang": lang,
                "tokens": [t.text for t in toks],
                "entity_mentions": ents_by_sent.get(n, []),
                "event_mentions": evs_by_sent.get(n, []),
                "relation_mentions": [],
                CHAR_OFFSET: tok.sents.starts[n],
            }
        )
    return out


def _token_text(tok: Tokenized, n: int, a: int, b: int) -> str:
    toks = tok.sents.tokens[n]
    return tok.sents.text[toks[a].idx : toks[b - 1].idx + len(toks[b - 1].text)]


def _local(global_id: str) -> str:
    return global_id.rsplit(":", 1)[-1]


def token_offsets(text: str, tokens: list[str], where: str, doc: str | None = None) -> list[tuple[int, int]]:
    """Character offsets of tokens found one after the other in a sentence text."""
    out, pos = [], 0
    for i, t in enumerate(tokens):
        at = text.find(t, pos)
        if at < 0:
            raise ProblemError(Problem(where, doc, f"/tokens/{i}", "span-text-mismatch", f"token {t!r} is not in the text after offset {pos}"))
        out.append((at, at + len(t)))
        pos = at + len(t)
    return out


def records_from_textee(lines: list[dict], where: str, absolute: bool = True) -> dict[str, dict]:
    """document -> annotation record from TextEE sentence lines. With `absolute`, offsets are into the
    article (the line's char_offset plus the token's place in the sentence); without it, into a
    continuum where sentence n starts at n * 10**6, which is what two TextEE files can be compared on
    when only one of them says where its sentences start."""
    onto = ontology.load()
    mention_types = next((a.names for a in onto.entity_attributes if a.name == MENTION), ())
    records: dict[str, dict] = {}
    for i, line in enumerate(lines):
        try:
            doc, wnd, text, tokens = line["doc_id"], line["wnd_id"], line["text"], line["tokens"]
            ents, evs = line.get("entity_mentions", []), line.get("event_mentions", [])
        except (KeyError, TypeError):
            raise ProblemError(Problem(f"{where}:{i + 1}", None, "/", "missing-field",
                                       "not a TextEE line: doc_id, wnd_id, text and tokens are required")) from None
        w = f"{where}:{i + 1}"
        offs = token_offsets(text, tokens, w, doc)
        if absolute and CHAR_OFFSET in line:
            base = line[CHAR_OFFSET]
        else:
            m = re.search(r"-(\d+)$", str(wnd))
            base = (int(m.group(1)) if m else i) * 10**6
        rec = records.setdefault(doc, {"document": doc, "annotator": "textee", "entities": [], "events": [],
                                       "entity_clusters": [], "event_clusters": []})

        def span(s: dict, ptr: str) -> tuple[int, int]:
            a, b = s.get("start"), s.get("end")
            if not span_fits(a, b, len(tokens)):
                raise ProblemError(Problem(w, doc, ptr, "offset-out-of-range", f"token span {a}:{b} does not fit {len(tokens)} tokens"))
            return base + offs[a][0], base + offs[b - 1][1]

        types = {}
        for j, e in enumerate(ents):
            if e.get("entity_type") not in onto.entity_names:
                raise ProblemError(Problem(w, doc, f"/entity_mentions/{j}/entity_type", "unknown-type",
                                           f"{e.get('entity_type')!r} is not an entity type of the schema"))
            a, b = span(e, f"/entity_mentions/{j}")
            eid = _local(str(e["id"])) if ":" in str(e["id"]) else f"{wnd}:{e['id']}"
            types[e["id"]] = (eid, e["entity_type"])
            ent = {"id": eid, "type": e["entity_type"], "start": a, "end": b, "text": e.get("text", ""),
                   "attributes": {"mention": e["mention_type"]} if e.get("mention_type") in mention_types else {}}
            if e.get("value") is not None:
                ent["normalized"] = e["value"]
            rec["entities"].append(ent)
        for j, v in enumerate(evs):
            if v.get("event_type") not in onto.event_names:
                raise ProblemError(Problem(w, doc, f"/event_mentions/{j}/event_type", "unknown-type",
                                           f"{v.get('event_type')!r} is not an event type of the schema"))
            a, b = span(v.get("trigger") or {}, f"/event_mentions/{j}/trigger")
            args = []
            for k, arg in enumerate(v.get("arguments", [])):
                if arg.get("entity_id") not in types:
                    raise ProblemError(Problem(w, doc, f"/event_mentions/{j}/arguments/{k}/entity_id", "dangling-reference",
                                               f"{arg.get('entity_id')!r} is no entity mention of this line"))
                eid, etype = types[arg["entity_id"]]
                args.append({"role": arg.get("role"), "entity": eid, "type": etype})
            vid = _local(str(v["id"])) if ":" in str(v["id"]) else f"{wnd}:{v['id']}"
            rec["events"].append({"id": vid, "type": v["event_type"], "trigger": {"start": a, "end": b, "text": v["trigger"].get("text", "")},
                                  "arguments": args, "attributes": {}})
    return records


def read_jsonl(path: Path) -> list[dict]:
    """The lines of a JSON Lines file, through the project's one reader (fileio.iter_jsonl)."""
    return [obj for _, obj in fileio.iter_jsonl(path)]


# --- brat standoff --------------------------------------------------------------------------


def annotation_conf() -> str:
    """brat's annotation.conf for the schema: entity types, events with their roles and filler types,
    attributes with their values, and Equiv for coreference."""
    onto = ontology.load()
    lines = ["# Generated by raidcorpus from the schema; do not edit.", "[entities]"]
    lines += list(onto.entity_names)
    lines += ["", "[relations]", "Equiv\tArg1:<ANY>, Arg2:<ANY>, <REL-TYPE>:symmetric-transitive",
              "<OVERLAP>\tArg1:<ANY>, Arg2:<ANY>, <OVL-TYPE>:<ANY>", "", "[events]"]
    for t in onto.event_types:
        lines.append(f"{t.name}\t" + ", ".join(f"{r.name}*:{'|'.join(r.fillers)}" for r in t.roles))
    lines += ["", "[attributes]"]
    for a in onto.entity_attributes:
        lines.append(f"{a.name}\tArg:{'|'.join(a.scope) if a.scope else '<ENTITY>'}, Value:{'|'.join(a.names)}")
    for a in onto.event_attributes:
        lines.append(f"{a.name}\tArg:{'|'.join(a.scope) if a.scope else '<EVENT>'}, Value:{'|'.join(a.names)}")
    return "\n".join(lines) + "\n"


def _fragments(text: str, start: int, end: int) -> str:
    """brat spans may not hold a line break: a span across one is written as fragments."""
    parts, a = [], start
    for i in range(start, end):
        if text[i] == "\n":
            if i > a:
                parts.append((a, i))
            a = i + 1
    if end > a:
        parts.append((a, end))
    return ";".join(f"{x} {y}" for x, y in parts)


def brat_ann(rec: dict, text: str) -> str:
    """The .ann lines of a record. Mentions sharing a span (a figure both NUM and the PER it counts)
    are one text-bound annotation, as brat readers want one entity per span: the type first in the
    schema wins (as in the ner config), and arguments and coreference links of the others point at
    it; the others' types and attributes are counted as lost by the round trip."""
    onto = ontology.load()
    lines, tid, ids = [], 0, {}
    rank = {name: i for i, name in enumerate(onto.entity_names)}
    winner: dict[tuple[int, int], dict] = {}
    for e in rec["entities"]:
        span = (e["start"], e["end"])
        if span not in winner or rank.get(e["type"], len(rank)) < rank.get(winner[span]["type"], len(rank)):
            winner[span] = e
    kept = [e for e in rec["entities"] if winner[(e["start"], e["end"])] is e]
    for e in kept:
        tid += 1
        ids[e["id"]] = f"T{tid}"
        lines.append(f"T{tid}\t{e['type']} {_fragments(text, e['start'], e['end'])}\t{e['text'].replace(chr(10), ' ')}")
    for e in rec["entities"]:
        ids.setdefault(e["id"], ids[winner[(e["start"], e["end"])]["id"]])
    trig = {}
    for v in rec["events"]:
        tid += 1
        trig[v["id"]] = f"T{tid}"
        t = v["trigger"]
        lines.append(f"T{tid}\t{v['type']} {_fragments(text, t['start'], t['end'])}\t{t['text'].replace(chr(10), ' ')}")
    aid = nid = 0
    for n, v in enumerate(rec["events"], 1):
        ids[v["id"]] = f"E{n}"
        seen: Counter = Counter()
        args = []
        for arg in v["arguments"]:
            seen[arg["role"]] += 1
            role = arg["role"] + (str(seen[arg["role"]]) if seen[arg["role"]] > 1 else "")
            args.append(f"{role}:{ids[arg['entity']]}")
        lines.append(f"E{n}\t{v['type']}:{trig[v['id']]}" + "".join(" " + a for a in args))
    for items, attrs in ((kept, onto.entity_attributes), (rec["events"], onto.event_attributes)):
        for item in items:
            for a in attrs:
                value = (item.get("attributes") or {}).get(a.name)
                if value is not None:
                    aid += 1
                    lines.append(f"A{aid}\t{a.name} {ids[item['id']]} {value}")
    for e in kept:
        if e.get("normalized") is not None:
            nid += 1
            lines.append(f"#{nid}\tAnnotatorNotes {ids[e['id']]}\tnormalized={e['normalized']}")
    for c in rec["entity_clusters"]:
        members = list(dict.fromkeys(ids[m] for m in c["members"]))
        if len(members) > 1:
            lines.append("*\tEquiv " + " ".join(members))
    for c in rec["event_clusters"]:
        lines.append("*\tEquiv " + " ".join(trig[m] for m in c["members"]))
    return "\n".join(lines) + ("\n" if lines else "")


def read_brat(ann: str, text: str, doc: str, where: str) -> dict:
    """An annotation record from a .ann file, read field by field as brat's standoff format defines it."""
    onto = ontology.load()
    spans: dict[str, dict] = {}
    events: dict[str, dict] = {}
    attrs: list[tuple[str, str, str]] = []
    notes: list[tuple[str, str]] = []
    equivs: list[list[str]] = []
    for i, line in enumerate(ann.splitlines()):
        w = f"{where}:{i + 1}"
        if not line.strip():
            continue
        fields = line.split("\t")
        kind = fields[0][:1]
        try:
            if kind == "T":
                label, locs = fields[1].split(" ", 1)
                frags = [tuple(int(x) for x in f.split(" ")) for f in locs.split(";")]
                start, end = frags[0][0], frags[-1][1]
                joined = " ".join(text[a:b] for a, b in frags)
                if joined != fields[2]:
                    raise ProblemError(Problem(w, doc, "/", "span-text-mismatch", f"{fields[0]} text is {joined!r}, the line says {fields[2]!r}"))
                spans[fields[0]] = {"type": label, "start": start, "end": end, "text": text[start:end]}
            elif kind == "E":
                parts = fields[1].split(" ")
                etype, trig = parts[0].split(":")
                args = [(re.sub(r"\d+$", "", p.split(":")[0]), p.split(":")[1]) for p in parts[1:]]
                events[fields[0]] = {"type": etype, "trigger": trig, "args": args}
            elif kind == "A" or kind == "M":
                name, target, *value = fields[1].split(" ")
                attrs.append((target, name, value[0] if value else "true"))
            elif kind == "#":
                _, target = fields[1].split(" ")
                notes.append((target, fields[2]))
            elif kind == "*":
                equivs.append(fields[1].split(" ")[1:])
            else:
                raise ProblemError(Problem(w, doc, "/", "schema-mismatch", f"unknown annotation kind {fields[0]!r}"))
        except (ValueError, IndexError):
            raise ProblemError(Problem(w, doc, "/", "schema-mismatch", f"not a brat standoff line: {line[:60]!r}")) from None
    triggers = {v["trigger"] for v in events.values()}
    rec = {"document": doc, "annotator": "brat", "entities": [], "events": [], "entity_clusters": [], "event_clusters": []}
    by_id: dict[str, dict] = {}
    for tid, s in spans.items():
        if tid in triggers:
            continue
        e = {"id": tid, **s, "attributes": {}}
        by_id[tid] = e
        rec["entities"].append(e)
    trig_event = {}
    for eid, v in events.items():
        t = spans[v["trigger"]]
        ev = {"id": eid, "type": v["type"], "trigger": {k: t[k] for k in ("start", "end", "text")},
              "arguments": [{"role": r, "entity": x, "type": spans[x]["type"]} for r, x in v["args"]], "attributes": {}}
        by_id[eid] = ev
        trig_event[v["trigger"]] = eid
        rec["events"].append(ev)
    for target, name, value in attrs:
        by_id[target]["attributes"][name] = value
    for target, note in notes:
        if note.startswith("normalized="):
            by_id[target]["normalized"] = note[len("normalized="):]
    for n, members in enumerate(equivs, 1):
        if all(m in trig_event for m in members):
            rec["event_clusters"].append({"id": f"EC{n}", "members": [trig_event[m] for m in members]})
        else:
            rec["entity_clusters"].append({"id": f"C{n}", "members": members})
    del onto
    return rec


def _read_exact(path: Path) -> str:
    """A file's text with line ends as they are: brat offsets count a \r\n as two characters."""
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


# --- spaCy DocBin ---------------------------------------------------------------------------


def spacy_doc(rec: dict, nlp):
    """A spaCy Doc: outermost entities in doc.ents; every entity mention in spans['entities'];
    triggers in spans['triggers'], argument fillers (labelled with their role) in spans['arguments'];
    each event's trigger and arguments together in spans['event:<id>'] (trigger first); the document
    id and the event attributes in user_data."""
    doc = nlp.make_doc(rec["text"])

    def span(start, end, label):
        return doc.char_span(start, end, label=label, alignment_mode="expand")

    ents = {e["id"]: e for e in rec["entities"]}
    doc.ents = [span(e["start"], e["end"], e["type"]) for e in rows.outermost(rec["entities"])]
    doc.spans["entities"] = [span(e["start"], e["end"], e["type"]) for e in rec["entities"]]
    doc.spans["triggers"] = [span(v["trigger"]["start"], v["trigger"]["end"], v["type"]) for v in rec["events"]]
    doc.spans["arguments"] = []
    for v in rec["events"]:
        fill = [span(ents[a["entity"]]["start"], ents[a["entity"]]["end"], a["role"]) for a in v["arguments"]]
        doc.spans["arguments"].extend(fill)
        doc.spans[f"event:{v['id']}"] = [span(v["trigger"]["start"], v["trigger"]["end"], v["type"])] + fill
    doc.user_data["document"] = rec["document"]
    doc.user_data["event_attributes"] = {v["id"]: dict(v.get("attributes") or {}) for v in rec["events"]}
    return doc


def record_from_spacy(doc) -> dict:
    by_span = {}
    rec = {"document": doc.user_data.get("document"), "annotator": "spacy", "entities": [], "events": [],
           "entity_clusters": [], "event_clusters": []}
    for n, s in enumerate(doc.spans["entities"], 1):
        e = {"id": f"T{n}", "type": s.label_, "start": s.start_char, "end": s.end_char, "text": s.text, "attributes": {}}
        by_span.setdefault((s.start_char, s.end_char, s.label_), e["id"])
        rec["entities"].append(e)
    ents_by_span = {(e["start"], e["end"]): e for e in rec["entities"]}
    attrs = doc.user_data.get("event_attributes", {})
    for key in doc.spans:
        if not key.startswith("event:"):
            continue
        group = doc.spans[key]
        trig, fillers = group[0], list(group)[1:]
        args = []
        for f in fillers:
            e = ents_by_span.get((f.start_char, f.end_char))
            if e is not None:
                args.append({"role": f.label_, "entity": e["id"], "type": e["type"]})
        vid = key[len("event:"):]
        rec["events"].append({"id": vid, "type": trig.label_, "trigger": {"start": trig.start_char, "end": trig.end_char, "text": trig.text},
                              "arguments": args, "attributes": dict(attrs.get(vid, {}))})
    return rec


# --- CoNLL BIO ------------------------------------------------------------------------------


def conll_lines(rec: dict, nlp) -> list[str]:
    row = {"id": rec["document"], "text": rec["text"], "entities": rec["entities"]}
    out = [DOCSTART, ""]
    for r in rows.ner_rows(row, nlp):
        for tok, tag in zip(r["tokens"], r["ner_tags"]):
            out.append(f"{tok} {tag}")
        out.append("")
    return out


def records_from_conll(lines: list[str], texts: dict[str, str] | None, order: list[str], where: str) -> dict[str, dict]:
    """Entity records from BIO lines; the n-th -DOCSTART- block is document order[n], whose text
    (when given) places the tokens back at character offsets."""
    out: dict[str, dict] = {}
    blocks: list[list[tuple[str, str]]] = []
    for i, line in enumerate(lines):
        if line.startswith("-DOCSTART-"):
            blocks.append([])
            continue
        if not line.strip():
            blocks[-1].append(("", "")) if blocks else None
            continue
        parts = line.split(" ")
        if len(parts) != 2 or not blocks:
            raise ProblemError(Problem(f"{where}:{i + 1}", None, "/", "schema-mismatch", "expected 'TOKEN TAG' after a -DOCSTART- line"))
        blocks[-1].append((parts[0], parts[1]))
    if len(blocks) != len(order):
        raise ProblemError(Problem(str(where), None, "/", "schema-mismatch", f"{len(blocks)} documents, expected {len(order)}"))
    for doc, block in zip(order, blocks):
        text = (texts or {}).get(doc)
        pos, ents, cur = 0, [], None
        for tok, tag in block + [("", "")]:
            if not tok:
                if cur:
                    ents.append(cur)
                cur = None
                continue
            if text is not None:
                at = text.find(tok, pos)
                a, b = at, at + len(tok)
                pos = b
            else:
                a, b = pos, pos + len(tok)
                pos = b + 1
            if tag.startswith("B-") or (tag.startswith("I-") and (cur is None or cur["type"] != tag[2:])):
                if cur:
                    ents.append(cur)
                cur = {"type": tag[2:], "start": a, "end": b}
            elif tag.startswith("I-"):
                cur["end"] = b
            else:
                if cur:
                    ents.append(cur)
                cur = None
        recs = [{"id": f"T{n}", **e, "text": text[e["start"]:e["end"]] if text else "", "attributes": {}} for n, e in enumerate(ents, 1)]
        out[doc] = {"document": doc, "annotator": "conll", "entities": recs, "events": [], "entity_clusters": [], "event_clusters": []}
    return out


# --- writing and the round trip -------------------------------------------------------------


def losses(original: dict, back: dict) -> Counter:
    """What the round trip did not bring back, counted per kind of item (matched on align's keys)."""
    a, b = align.index_layer(original), align.index_layer(back)
    onto = ontology.load()
    lost: Counter = Counter()
    lost["entities"] = len(set(a.entities) - set(b.entities))
    lost["events"] = len(set(a.events) - set(b.events))
    lost["arguments"] = len(set(a.arguments) - set(b.arguments))
    for pool, attrs_of, name in (("entities", align.entity_attributes, "entity attributes"),
                                 ("events", align.event_attributes, "event attributes")):
        for key, item in getattr(a, pool).items():
            other = getattr(b, pool).get(key)
            for attr, value in attrs_of(onto, item).items():
                if value is not None and (other is None or attrs_of(onto, other).get(attr) != value):
                    lost[name] += 1
    lost["entity coreference links"] = len(a.links("entity") - b.links("entity"))
    lost["event coreference links"] = len(a.links("event") - b.links("event"))
    return lost


def not_carried(recs: list[dict]) -> Counter:
    """What none of the formats holds, which the round trip cannot see because the records it compares
    leave it out: the gold items' provenance, the within-document cluster ids (coreference comes back
    as links, brat's Equiv lines have no id) and the cross-document cluster ids of events."""
    lost: Counter = Counter()
    for r in recs:
        lost["provenance"] += sum(1 for x in r["entities"] + r["events"] if x.get("provenance"))
        lost["cluster ids"] += len(r["entity_clusters"]) + len(r["event_clusters"])
        lost["cross-document cluster ids"] += sum(1 for v in r["events"] if v.get("cross_document_id"))
    return lost


@dataclass
class ExportReport:
    files: list[Path]
    counts: Counter  # items written: documents, sentences, entities, events, arguments
    lost: Counter  # items of the records the round trip did not bring back
    notes: list[str] = field(default_factory=list)  # splits written empty or not written, and why


def _write_textee(out: Path, split: str, recs: list[dict], nlp) -> tuple[list[Path], dict]:
    path = out / f"{TEXTEE_SPLITS.get(split, split)}.json"
    lines = [line for r in recs for line in textee_lines(r, Tokenized.of(r["text"], nlp))]
    path.write_text("".join(json.dumps(x, ensure_ascii=False, sort_keys=True) + "\n" for x in lines), encoding="utf-8")
    return [path], records_from_textee(read_jsonl(path), str(path))


def _write_brat(out: Path, split: str, recs: list[dict], nlp) -> tuple[list[Path], dict]:
    sub = out / split
    sub.mkdir(exist_ok=True)
    files, back = [], {}
    for r in recs:
        txt, ann = sub / f"{r['document']}.txt", sub / f"{r['document']}.ann"
        txt.write_text(r["text"], encoding="utf-8", newline="")
        ann.write_text(brat_ann(r, r["text"]), encoding="utf-8", newline="")
        back[r["document"]] = read_brat(_read_exact(ann), _read_exact(txt), r["document"], str(ann))
        files += [txt, ann]
    return files, back


def _write_spacy(out: Path, split: str, recs: list[dict], nlp) -> tuple[list[Path], dict]:
    from spacy.tokens import DocBin

    path = out / f"{split}.spacy"
    bin_ = DocBin(store_user_data=True)
    for r in recs:
        bin_.add(spacy_doc(r, nlp))
    bin_.to_disk(path)
    return [path], {d.user_data["document"]: record_from_spacy(d) for d in DocBin().from_disk(path).get_docs(nlp.vocab)}


def _write_conll(out: Path, split: str, recs: list[dict], nlp) -> tuple[list[Path], dict]:
    path = out / f"{split}.conll"
    lines = [line for r in recs for line in conll_lines(r, nlp)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    texts = {r["document"]: r["text"] for r in recs}
    return [path], records_from_conll(path.read_text(encoding="utf-8").splitlines(), texts, [r["document"] for r in recs], str(path))


WRITERS = {"textee": _write_textee, "brat": _write_brat, "spacy": _write_spacy, "conll": _write_conll}


def export(folder: Path, fmt: str, out: Path) -> ExportReport:
    """Write `fmt` files for every split of a built dataset folder under `out`, read them back and count losses."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")

    outdir.check(Path(out), owned=False)  # never into the repository or its source folders
    nlp = rows.sentencizer()
    out.mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[dict]] = {}
    for split, rec in read_folder(folder):
        by_split.setdefault(split, []).append(rec)
    files: list[Path] = []
    counts: Counter = Counter()
    lost: Counter = Counter()
    notes: list[str] = []
    if fmt == "brat":
        (out / "annotation.conf").write_text(annotation_conf(), encoding="utf-8")
        files.append(out / "annotation.conf")
    # TextEE's loaders open train.json, dev.json and test.json: all three are written, empty if need be.
    splits = list(by_split) if fmt != "textee" else list(TEXTEE_SPLITS) + [s for s in by_split if s not in TEXTEE_SPLITS]
    for split in splits:
        recs = by_split.get(split, [])
        counts["documents"] += len(recs)
        counts["entities"] += sum(len(r["entities"]) for r in recs)
        counts["events"] += sum(len(r["events"]) for r in recs)
        counts["arguments"] += sum(len(v["arguments"]) for r in recs for v in r["events"])
        written, back = WRITERS[fmt](out, split, recs, nlp)
        files += written
        if not recs:
            notes.append(f"split {split}: no documents in the dataset, {written[0].name} written empty")
        for r in recs:
            lost.update(losses(r, back.get(r["document"]) or {"annotator": "x", "entities": [], "events": []}))
    everything = [r for recs in by_split.values() for r in recs]
    lost.update(not_carried(everything))
    argless = sum(1 for r in everything for v in r["events"] if not v["arguments"])
    if fmt == "brat" and argless:
        notes.append(f"{argless} events without arguments are written as brat writes them ('E1<TAB>Attack:T1'); "
                     f"readers that want one argument or more (bratly) skip them")
    return ExportReport(files, counts, +lost, notes)
