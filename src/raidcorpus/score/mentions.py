"""Event mentions scored by the field's definitions (TextEE, OneIE): triggers, arguments, entities.

Both sides are annotation records (a file, or a folder of annotations/<doc>/<layer>.json) or
TextEE / OneIE sentence lines (.jsonl or .json, a file or a folder). Every item is placed by its
document and offsets, never by its line's position: in characters when every line says where its
sentence starts (`char_offset`, ours; or the same window of the other side does), else in tokens
of the window named by `doc_id` and `wnd_id`, which must then be a window of the gold side.

Each measure counts a set of tuples per document, as TextEE's scorer does (docs/scoring.md):

- Tri-I: trigger span;  Tri-C: trigger span and event type;
- Arg-I: event type and argument span;  Arg-C: event type, argument span and role
  (no trigger-span condition and no entity-type condition: OneIE's and TextEE's definitions);
- Arg-I / Arg-C attached: the same with the trigger span (TextEE's `argument_attached_*`);
- entity identification: span;  entity classification (typing): span and entity type;
- attribute accuracy: on events matched in Tri-C, the share of gold attribute values repeated.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .. import align, fileio
from ..dataset import export
from ..errors import Problem, ProblemError, UserError
from ..ontology import load as load_ontology
from ..records import Reader
from .inputs import expect, fail, files_of, read_rows
from .prf import bootstrap_f1, prf


ALL = "all"
MEASURES = (
    ("trigger_identification", "Tri-I"),
    ("trigger_classification", "Tri-C"),
    ("argument_identification", "Arg-I"),
    ("argument_classification", "Arg-C"),
    ("argument_identification_attached", "Arg-I attached"),
    ("argument_classification_attached", "Arg-C attached"),
    ("entity_identification", "Entity-I"),
    ("entity_classification", "Entity-C (typing)"),
)


@dataclass
class Doc:
    """The items of one document on one side, each placed by a position key (characters or tokens)."""

    events: list[tuple[tuple, str, dict]] = field(default_factory=list)  # trigger position, type, attributes
    arguments: list[tuple[tuple, str, str, tuple]] = field(default_factory=list)  # trigger position, type, role, span
    entities: list[tuple[tuple, str]] = field(default_factory=list)  # position, type


@dataclass
class Labels:
    """The --map of foreign labels to ours, and every label neither ours nor mapped (reported, not fatal)."""

    mapping: dict[str, str] = field(default_factory=dict)
    unmapped: list[dict] = field(default_factory=list)

    def of(self, label, kind: str, names, where: str, doc: str, ptr: str) -> str:
        if not isinstance(label, str):
            slug = "missing-field" if label is None else "wrong-type"
            raise ProblemError(Problem(where, doc, ptr, slug, f"an item needs its {kind} as a string"))
        label = self.mapping.get(label, label)
        if label not in names:
            self.unmapped.append({"where": where, "doc": doc, "pointer": ptr, "kind": kind, "label": label})
        return label


def read_map(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    obj = expect(fileio.read_record(path), dict, str(path), None, [], "a --map file must be an object of foreign label -> our label")
    for k, v in obj.items():
        expect(v, str, str(path), None, [k], "a mapped label must be a string")
    return obj


# --- reading: our records ----------------------------------------------------------------------


def read_records(path: Path, layer: str | None, side: str) -> dict[str, tuple[str, dict]]:
    """document -> (file, annotation record) from a record file or a folder of them (the layer named, if given)."""
    found: dict[str, list[tuple[str, dict]]] = {}
    for f in fileio.iter_files([path], suffixes=(".json",)):
        rec = fileio.read_json(f)
        if not isinstance(rec, dict) or rec.get("kind") != "annotation":
            continue
        if layer is not None and rec.get("annotator") != layer:
            continue
        expect(rec.get("document"), str, str(f), None, ["document"], "document must be a string")
        found.setdefault(rec["document"], []).append((str(f), rec))
    if not found:
        which = f" of layer {layer!r}" if layer else ""
        raise UserError(f"{path}: no annotation records{which} for --{side}")
    out = {}
    for doc, recs in sorted(found.items()):
        if len(recs) > 1:
            names = ", ".join(sorted(str(r.get("annotator", "?")) for _, r in recs))
            raise UserError(f"{path} doc={doc}: {len(recs)} layers ({names}): choose one with --{side}-layer")
        out[doc] = recs[0]
    return out


def _span(obj, where: str, doc: str, parts) -> tuple[int, int]:
    obj = expect(obj, dict, where, doc, parts, "a span must be an object with start and end")
    a = expect(obj.get("start"), int, where, doc, parts + ["start"], "start must be an integer")
    b = expect(obj.get("end"), int, where, doc, parts + ["end"], "end must be an integer")
    return a, b


def record_items(where: str, rec: dict, labels: Labels) -> Doc:
    """The items of our annotation record, in characters."""
    onto = load_ontology()
    doc = rec["document"]
    out = Doc()
    spans = {}
    for i, e in enumerate(expect(rec.get("entities", []), list, where, doc, ["entities"], "entities must be a list")):
        e = expect(e, dict, where, doc, ["entities", i], "an entity must be an object")
        spans[e.get("id")] = _span(e, where, doc, ["entities", i])
        out.entities.append((spans[e.get("id")], labels.of(e.get("type"), "entity type", onto.entity_names, where, doc, f"/entities/{i}/type")))
    for i, v in enumerate(expect(rec.get("events", []), list, where, doc, ["events"], "events must be a list")):
        v = expect(v, dict, where, doc, ["events", i], "an event must be an object")
        trig = _span(v.get("trigger"), where, doc, ["events", i, "trigger"])
        etype = labels.of(v.get("type"), "event type", onto.event_names, where, doc, f"/events/{i}/type")
        attrs = align.event_attributes(onto, {**v, "type": etype}) if etype in onto.event_names else {}
        out.events.append((trig, etype, attrs))
        for j, arg in enumerate(expect(v.get("arguments", []), list, where, doc, ["events", i, "arguments"], "arguments must be a list")):
            arg = expect(arg, dict, where, doc, ["events", i, "arguments", j], "an argument must be an object")
            if arg.get("entity") not in spans:
                raise fail(where, doc, ["events", i, "arguments", j, "entity"], "dangling-reference", f"{arg.get('entity')!r} is no entity of this record")
            role = labels.of(arg.get("role"), "role", onto.role_names, where, doc, f"/events/{i}/arguments/{j}/role")
            out.arguments.append((trig, etype, role, spans[arg["entity"]]))
    return out


# --- reading: TextEE lines ---------------------------------------------------------------------


def _textee_files(path: Path, side: str) -> list[Path]:
    """A file, or a folder's .jsonl files (ours), else its .json files (TextEE's train.json, dev.json, test.json)."""
    if path.is_dir() and any(path.rglob("*.jsonl")):
        return files_of(path, (".jsonl",), side)
    return files_of(path, (".json",), side) if path.is_dir() else [path]


def read_textee(path: Path, side: str) -> list[tuple[str, dict]]:
    """The lines of the TextEE files; in a folder, an empty file is a split with no documents (the
    export writes train.json, dev.json and test.json even when a split is empty)."""
    files = _textee_files(path, side)
    in_folder = path.is_dir()
    return [(w, row) for f in files if not (in_folder and f.stat().st_size == 0) for w, row in read_rows(f)]


def is_textee(path: Path) -> bool:
    """A .jsonl file, a .json file of TextEE lines (not a record), or a folder of either (judged by its first file)."""
    if path.is_dir():
        if any(path.rglob("*.jsonl")):
            return True
        first = next(iter(sorted(p for p in path.rglob("*.json") if p.stat().st_size)), None)
        return first is not None and is_textee(first)
    if path.suffix == ".jsonl":
        return True
    rows = read_rows(path)
    return len(rows) > 1 or (isinstance(rows[0][1], dict) and any(n in rows[0][1] for n in WINDOW))


# TextEE's field names, and OneIE's where it names them otherwise
WINDOW, TEXT = ("wnd_id", "sent_id"), ("text", "sentence")


def _field(line: dict, names: tuple[str, ...]):
    return next((line[n] for n in names if n in line), None), next((n for n in names if n in line), names[0])


def _window(where: str, line) -> tuple[str, str]:
    line = expect(line, dict, where, None, [], "a TextEE line must be a JSON object")
    doc = line.get("doc_id") if isinstance(line.get("doc_id"), str) else None
    for names in (("doc_id",), WINDOW, TEXT, ("tokens",)):
        if not any(n in line for n in names):
            raise fail(where, doc, [names[0]], "missing-field",
                       "not a TextEE line: doc_id, wnd_id (OneIE: sent_id), text (OneIE: sentence) and tokens are required")
    doc = expect(line["doc_id"], str, where, None, ["doc_id"], "doc_id must be a string")
    wnd, name = _field(line, WINDOW)
    return doc, str(expect(wnd, (str, int), where, doc, [name], f"{name} must be a string"))


def textee_items(where: str, line: dict, base: int | None, labels: Labels, docs: dict[str, Doc]) -> None:
    """Add the items of one TextEE line: in characters from `base` when it is known, else in the window's tokens."""
    onto = load_ontology()
    doc, wnd = _window(where, line)
    tokens = expect(line["tokens"], list, where, doc, ["tokens"], "tokens must be a list of strings")
    text, name = _field(line, TEXT)
    offs = export.token_offsets(expect(text, str, where, doc, [name], f"{name} must be a string"), tokens, where, doc)
    out = docs.setdefault(doc, Doc())

    def pos(obj, parts) -> tuple:
        a, b = _span(obj, where, doc, parts)
        if not (0 <= a < b <= len(tokens)):
            raise fail(where, doc, parts, "offset-out-of-range", f"token span {a}:{b} does not fit {len(tokens)} tokens")
        return (base + offs[a][0], base + offs[b - 1][1]) if base is not None else (wnd, a, b)

    ents = expect(line.get("entity_mentions", []), list, where, doc, ["entity_mentions"], "entity_mentions must be a list")
    by_id = {}
    for i, e in enumerate(ents):
        p = pos(e, ["entity_mentions", i])
        by_id[e.get("id")] = p
        out.entities.append((p, labels.of(e.get("entity_type"), "entity type", onto.entity_names, where, doc, f"/entity_mentions/{i}/entity_type")))
    evs = expect(line.get("event_mentions", []), list, where, doc, ["event_mentions"], "event_mentions must be a list")
    for i, v in enumerate(evs):
        v = expect(v, dict, where, doc, ["event_mentions", i], "an event mention must be an object")
        trig = pos(v.get("trigger"), ["event_mentions", i, "trigger"])
        etype = labels.of(v.get("event_type"), "event type", onto.event_names, where, doc, f"/event_mentions/{i}/event_type")
        out.events.append((trig, etype, {}))
        args = expect(v.get("arguments", []), list, where, doc, ["event_mentions", i, "arguments"], "arguments must be a list")
        for j, arg in enumerate(args):
            parts = ["event_mentions", i, "arguments", j]
            arg = expect(arg, dict, where, doc, parts, "an argument must be an object")
            if "start" in arg or arg.get("entity_id") not in by_id:
                span = pos(arg, parts)  # the argument's own span: predictions need no entity mentions
            else:
                span = by_id[arg["entity_id"]]
            role = labels.of(arg.get("role"), "role", onto.role_names, where, doc, "/" + "/".join(map(str, parts)) + "/role")
            out.arguments.append((trig, etype, role, span))


def _as_textee(records: dict[str, tuple[str, dict]], corpus: Path) -> list[tuple[str, dict]]:
    """Our records as TextEE lines (texts from the corpus), to lend windows to a TextEE side without char_offset."""
    from ..dataset.rows import sentencizer

    nlp = sentencizer()
    reader = Reader(corpus, level=1)
    out = []
    for doc, (where, rec) in records.items():
        tok = export.Tokenized.of(reader.document(doc)["text"], nlp)
        out += [(f"{where}#{line['wnd_id']}", line) for line in export.textee_lines(rec, tok)]
    return out


# --- placing both sides ------------------------------------------------------------------------


def _bases(lines: list[tuple[str, dict]]) -> dict[tuple[str, str], int]:
    out = {}
    for where, line in lines:
        if isinstance(line, dict) and isinstance(line.get(export.CHAR_OFFSET), int):
            out[_window(where, line)] = line[export.CHAR_OFFSET]
    return out


def _place(sides: list[tuple[str, object]], corpus: Path) -> tuple[str, list[tuple[str, object]]]:
    """'characters' when every TextEE line's sentence start is known (its own char_offset, or the
    other side's for the same window), else 'tokens'; records are lent as TextEE lines then."""
    textee = [data for kind, data in sides if kind == "textee"]
    known = {k: v for lines in textee for k, v in _bases(lines).items()}
    placed = all(_window(w, line) in known for lines in textee for w, line in lines)
    if placed or not textee:
        return "characters", sides
    lent = [(kind, data) if kind == "textee" else ("textee", _as_textee(data, corpus)) for kind, data in sides]
    known = {k: v for _, lines in lent for k, v in _bases(lines).items()}
    placed = all(_window(w, line) in known for _, lines in lent for w, line in lines)
    return ("characters" if placed else "tokens"), lent


def _unaligned(gold: list[tuple[str, dict]], pred: list[tuple[str, dict]]) -> None:
    """In tokens, a predicted window of a gold document must be a gold window: else one addressed line."""
    windows = {_window(w, line) for w, line in gold}
    docs = {d for d, _ in windows}
    for where, line in pred:
        doc, wnd = _window(where, line)
        if doc in docs and (doc, wnd) not in windows:
            raise fail(where, doc, ["wnd_id"], "unaligned-prediction",
                       f"window {wnd!r} is no window of the gold side, and its sentence start is unknown (no char_offset): "
                       "give char_offset, or the gold side's wnd_id")


def load_sides(gold: Path, pred: Path, gold_layer: str | None, pred_layer: str | None, corpus: Path,
               labels: Labels) -> tuple[dict[str, Doc], dict[str, Doc], str]:
    """Both sides as document -> items, and the positions they were compared in ('characters' or 'tokens')."""
    sides = []
    for path, layer, side in ((gold, gold_layer, "gold"), (pred, pred_layer, "pred")):
        if not path.exists():
            raise UserError(f"{path}: no such file or folder (--{side})")
        sides.append(("textee", read_textee(path, side)) if is_textee(path) else ("records", read_records(path, layer, side)))
    form, sides = _place(sides, corpus)
    if form == "tokens":
        _unaligned(sides[0][1], sides[1][1])
    known = {k: v for kind, data in sides if kind == "textee" for k, v in _bases(data).items()}
    out = []
    for kind, data in sides:
        docs: dict[str, Doc] = {}
        if kind == "records":
            for doc, (where, rec) in data.items():
                docs[doc] = record_items(where, rec, labels)
        else:
            for where, line in data:
                own = line.get(export.CHAR_OFFSET)
                base = (own if isinstance(own, int) else known.get(_window(where, line))) if form == "characters" else None
                textee_items(where, line, base, labels, docs)
        out.append(docs)
    return out[0], out[1], form


# --- counting ----------------------------------------------------------------------------------


def item_sets(d: Doc) -> dict[str, set[tuple]]:
    """Each measure's set of tuples for one document; the label a tuple is counted under is its last field."""
    return {
        "trigger_identification": {(p, ALL) for p, _, _ in d.events},
        "trigger_classification": {(p, t) for p, t, _ in d.events},
        "argument_identification": {(t, s, ALL) for _, t, _, s in d.arguments},
        "argument_classification": {(t, s, r) for _, t, r, s in d.arguments},
        "argument_identification_attached": {(p, t, s, ALL) for p, t, _, s in d.arguments},
        "argument_classification_attached": {(p, t, s, r) for p, t, r, s in d.arguments},
        "entity_identification": {(p, ALL) for p, _ in d.entities},
        "entity_classification": {(p, t) for p, t in d.entities},
    }


def document_counts(gold: Doc, pred: Doc) -> dict[tuple[str, str], list[int]]:
    """(measure, label) -> [gold, pred, matched] for one document, `all` included."""
    out: dict[tuple[str, str], list[int]] = {}
    g, p = item_sets(gold), item_sets(pred)
    for measure, _ in MEASURES:
        for n, items in enumerate((g[measure], p[measure], g[measure] & p[measure])):
            for item in items:
                for label in {ALL, item[-1]}:
                    out.setdefault((measure, label), [0, 0, 0])[n] += 1
    return out


def attribute_counts(gold: Doc, pred: Doc, attrs: dict[str, Counter]) -> None:
    theirs = {(p, t): a for p, t, a in pred.events}
    for p, t, mine in gold.events:
        other = theirs.get((p, t))
        if other is None:
            continue
        for name, value in mine.items():
            if value is None:
                continue
            c = attrs.setdefault(name, Counter())
            c["total"] += 1
            c["correct"] += int(other.get(name) == value)


def score_docs(gold: dict[str, Doc], pred: dict[str, Doc], n_boot: int = 0, seed: int = 0) -> dict:
    """The report for two sides given as document -> items."""
    docs = sorted(set(gold) | set(pred))
    per_doc, attrs, total = [], {}, {}
    for doc in docs:
        g, p = gold.get(doc, Doc()), pred.get(doc, Doc())
        counts = document_counts(g, p)
        per_doc.append(counts)
        attribute_counts(g, p, attrs)
        for key, c in counts.items():
            t = total.setdefault(key, [0, 0, 0])
            for i in range(3):
                t[i] += c[i]
    keys = [(m, ALL) for m, _ in MEASURES]
    intervals = {k[0]: ci for k, ci in bootstrap_f1(per_doc, keys, n_boot, seed).items()} if n_boot and docs else {}
    rows = []
    for measure, _ in MEASURES:
        labels = sorted(k[1] for k in total if k[0] == measure and k[1] != ALL)
        for label in [ALL] + labels:
            r = {"measure": measure, "label": label, **prf(*total.get((measure, label), [0, 0, 0]))}
            if label == ALL and measure in intervals:
                r["f1_ci95"] = list(intervals[measure])
            rows.append(r)
    attributes = [
        {"attribute": name, "total": c["total"], "correct": c["correct"], "accuracy": c["correct"] / c["total"] if c["total"] else None}
        for name, c in sorted(attrs.items())
    ]
    return {
        "metric": "mentions",
        "documents": {"gold": len(gold), "pred": len(pred), "scored": len(docs),
                      "only_gold": sorted(set(gold) - set(pred)), "only_pred": sorted(set(pred) - set(gold))},
        "scores": rows,
        "attributes": attributes,
        **({"bootstrap": {"resamples": n_boot, "seed": seed}} if intervals else {}),
    }


def score(gold: Path, pred: Path, gold_layer: str | None = None, pred_layer: str | None = None, corpus: Path = Path("corpus"),
          label_map: Path | None = None, n_boot: int = 0, seed: int = 0) -> dict:
    labels = Labels(read_map(label_map))
    g, p, form = load_sides(gold, pred, gold_layer, pred_layer, corpus, labels)
    report = score_docs(g, p, n_boot, seed)
    report["compared_in"] = form
    report["unmapped"] = labels.unmapped
    return report


# --- rendering ---------------------------------------------------------------------------------


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def render_table(report: dict) -> str:
    d = report["documents"]
    lines = [f"documents: {d['scored']} (gold {d['gold']}, predicted {d['pred']}); placed by {report.get('compared_in', 'characters')}"]
    if d["only_gold"]:
        lines.append(f"  only in gold (all missed): {', '.join(d['only_gold'])}")
    if d["only_pred"]:
        lines.append(f"  only in predictions (all spurious): {', '.join(d['only_pred'])}")
    titles = dict(MEASURES)
    lines.append(f"{'measure':<18} {'label':<18} {'P':>6} {'R':>6} {'F1':>6}  gold/pred/matched")
    for r in report["scores"]:
        ci = f"  95% CI {r['f1_ci95'][0]:.3f}-{r['f1_ci95'][1]:.3f}" if "f1_ci95" in r else ""
        lines.append(f"{titles[r['measure']]:<18} {r['label']:<18} {_fmt(r['precision']):>6} {_fmt(r['recall']):>6} "
                     f"{_fmt(r['f1']):>6}  {r['gold']}/{r['pred']}/{r['matched']}{ci}")
    for a in report["attributes"]:
        lines.append(f"{'Attribute accuracy':<18} {a['attribute']:<18} {'':>6} {'':>6} {_fmt(a['accuracy']):>6}  {a['correct']}/{a['total']} correct")
    for u in report.get("unmapped", []):
        lines.append(f"{u['where']} doc={u['doc']} {u['pointer']} unmapped {u['kind']} {u['label']!r}: counted, matches nothing of ours (see --map)")
    return "\n".join(lines) + "\n"
