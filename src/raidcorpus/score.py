"""score: predictions against gold with the usual event-extraction measures.

Both sides are annotation records (our format: a file, or a folder of annotations/<doc>/<layer>.json)
or TextEE / OneIE sentence JSON lines (a .jsonl file or a folder of them). Items match on the keys
`agree` uses (align.py) and are counted by agree's own F1 tally, so that scoring one annotator's
layer against another's gives exactly agree's trigger, argument and entity F1:

- trigger identification: the trigger span;  trigger classification: span and event type;
- argument identification: the event (type and trigger span) and the filler's span;
- argument classification: the event, the role and the filler (type and span);
- entities: type and span (exact);
- attribute accuracy: on events matched in trigger classification, the share of gold attribute
  values the prediction repeats.

P = matched / predicted, R = matched / gold, F1 = 2PR / (P + R) = 2 matched / (gold + predicted), summed over documents (micro);
per type (event type, role, entity type) as well. n/a where there is nothing to count.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from . import align, io
from .dataset import export
from .agree import ALL, Tally, _add_f1, _by_label, f1
from .errors import UserError
from .ontology import load as load_ontology
from .records import Reader

PAIR = "gold|pred"
MEASURES = (
    ("trigger_identification", "Trigger identification"),
    ("trigger_classification", "Trigger classification"),
    ("argument_identification", "Argument identification"),
    ("argument_classification", "Argument classification"),
    ("entity", "Entity mentions"),
)


# --- reading both sides -----------------------------------------------------------------------


def _textee_files(folder: Path) -> list[Path]:
    """The TextEE files of a folder: JSON lines, and TextEE's own split names (train.json, dev.json, test.json)."""
    names = {f"{s}.json" for s in export.TEXTEE_SPLITS.values()}
    return sorted(p for p in folder.rglob("*") if p.is_file() and (p.suffix == ".jsonl" or p.name in names))


def _is_textee(path: Path) -> bool:
    if path.is_file():
        return path.suffix == ".jsonl" or path.name in {f"{s}.json" for s in export.TEXTEE_SPLITS.values()}
    return path.is_dir() and bool(_textee_files(path))


def read_records(path: Path, layer: str | None, side: str) -> dict[str, dict]:
    """document -> annotation record from a record file or a folder of them (the layer named, if given)."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    found: dict[str, list[tuple[str, dict]]] = {}
    for f in io.iter_files([path], suffixes=(".json",)):
        rec = io.read_json(f)
        if not isinstance(rec, dict) or rec.get("kind") != "annotation":
            continue
        if layer is not None and rec.get("annotator") != layer:
            continue
        found.setdefault(rec["document"], []).append((str(f), rec))
    if not found:
        which = f" of layer {layer!r}" if layer else ""
        raise UserError(f"{path}: no annotation records{which} for --{side}")
    out = {}
    for doc, recs in sorted(found.items()):
        if len(recs) > 1:
            names = ", ".join(sorted(r.get("annotator", "?") for _, r in recs))
            raise UserError(f"{path} doc={doc}: {len(recs)} layers ({names}): choose one with --{side}-layer")
        out[doc] = recs[0][1]
    return out


def read_textee(path: Path) -> list[tuple[str, dict]]:
    files = [path] if path.is_file() else _textee_files(path)
    return [(str(f), line) for f in files for line in export.read_jsonl(f)]


def _textee_records(lines: list[tuple[str, dict]], absolute: bool) -> dict[str, dict]:
    out: dict[str, dict] = {}
    by_file: dict[str, list[dict]] = {}
    for f, line in lines:
        by_file.setdefault(f, []).append(line)
    for f, ls in by_file.items():
        for doc, rec in export.records_from_textee(ls, f, absolute).items():
            if doc in out:
                out[doc]["entities"] += rec["entities"]
                out[doc]["events"] += rec["events"]
            else:
                out[doc] = rec
    return out


def _as_textee(records: dict[str, dict], corpus: Path) -> list[tuple[str, dict]]:
    """Our records in TextEE lines (the document texts from the corpus), to compare with a TextEE side."""
    from .dataset.build import _nlp

    nlp = _nlp()
    reader = Reader(corpus, level=1)
    out = []
    for doc, rec in records.items():
        document = reader.document(doc)
        tok = export.Tokenized.of(document["text"], nlp)
        out += [(f"{corpus}/{doc}.json", line) for line in export.textee_lines(rec, tok)]
    return out


def load_sides(gold: Path, pred: Path, gold_layer: str | None, pred_layer: str | None, corpus: Path) -> tuple[dict, dict, str]:
    """Both sides as document -> record, and the form they were compared in ('records' or 'textee')."""
    sides = []
    for path, layer, side in ((gold, gold_layer, "gold"), (pred, pred_layer, "pred")):
        if not path.exists():
            raise UserError(f"{path}: no such file or folder (--{side})")
        sides.append(("textee", read_textee(path)) if _is_textee(path) else ("records", read_records(path, layer, side)))
    if all(kind == "records" for kind, _ in sides):
        return sides[0][1], sides[1][1], "records"
    # One side at least is TextEE: compare both as TextEE lines (what the format can carry).
    lines = [data if kind == "textee" else _as_textee(data, corpus) for kind, data in sides]
    absolute = all(export.CHAR_OFFSET in line for ls in lines for _, line in ls)
    return _textee_records(lines[0], absolute), _textee_records(lines[1], absolute), "textee"


# --- counting ---------------------------------------------------------------------------------


def _span_of(key: str) -> str:
    return key.rsplit(":", 1)[-1]


def document_tally(gold: dict | None, pred: dict | None, tally: Tally, attrs: dict[str, Counter]) -> None:
    onto = load_ontology()
    empty = {"annotator": "none", "entities": [], "events": []}
    g, p = align.index_layer(gold or {**empty, "annotator": "gold"}), align.index_layer(pred or {**empty, "annotator": "pred"})
    exact = lambda x, y: len(x & y)  # noqa: E731
    pairs = (g, p)
    _add_f1(tally, "trigger_identification", [ALL], PAIR, *[{ALL: {_span_of(k) for k in lay.events}} for lay in pairs], exact)
    _add_f1(tally, "trigger_classification", onto.event_names, PAIR,
            *[_by_label(lay.events, lambda k, lay=lay: lay.events[k]["type"]) for lay in pairs], exact)
    _add_f1(tally, "argument_identification", [ALL], PAIR,
            *[{ALL: {f"{a['event']}|{_span_of(a['entity'])}" for a in lay.arguments.values()}} for lay in pairs], exact)
    _add_f1(tally, "argument_classification", onto.role_names, PAIR,
            *[_by_label(lay.arguments, lambda k, lay=lay: lay.arguments[k]["role"]) for lay in pairs], exact)
    _add_f1(tally, "entity", onto.entity_names, PAIR,
            *[_by_label(lay.entities, lambda k, lay=lay: lay.entities[k]["type"]) for lay in pairs], exact)
    for key, ev in g.events.items():
        other = p.events.get(key)
        if other is None:
            continue
        mine, theirs = align.event_attributes(onto, ev), align.event_attributes(onto, other)
        for name, value in mine.items():
            if value is None:
                continue
            c = attrs.setdefault(name, Counter())
            c["total"] += 1
            c["correct"] += int(theirs.get(name) == value)


def _prf(gold_n: int, pred_n: int, matched: int) -> dict:
    """Precision, recall and agree's F1 (2 * matched / (gold + pred), the harmonic mean of P and R)."""
    p = matched / pred_n if pred_n else None
    r = matched / gold_n if gold_n else None
    return {"gold": gold_n, "pred": pred_n, "matched": matched, "precision": p, "recall": r, "f1": f1(gold_n, pred_n, matched)}


def score_records(gold: dict[str, dict], pred: dict[str, dict]) -> dict:
    """The report for two sides given as document -> annotation record."""
    tally, attrs = Tally(), {}
    docs = sorted(set(gold) | set(pred))
    for doc in docs:
        part = Tally()
        document_tally(gold.get(doc), pred.get(doc), part, attrs)
        tally.add(part)
    rows = []
    for measure, _ in MEASURES:
        labels = sorted({k[1] for k in tally.f1 if k[0] == measure and k[1] != ALL})
        for label in [ALL] + labels:
            n_gold, n_pred, matched = tally.f1.get((measure, label, PAIR), [0, 0, 0])
            if label != ALL and n_gold + n_pred == 0:
                continue
            rows.append({"measure": measure, "label": label, **_prf(n_gold, n_pred, matched)})
    attributes = [
        {"attribute": name, "total": c["total"], "correct": c["correct"], "accuracy": c["correct"] / c["total"] if c["total"] else None}
        for name, c in sorted(attrs.items())
    ]
    return {
        "documents": {"gold": len(gold), "pred": len(pred), "scored": len(docs),
                      "only_gold": sorted(set(gold) - set(pred)), "only_pred": sorted(set(pred) - set(gold))},
        "scores": rows,
        "attributes": attributes,
    }


def score(gold: Path, pred: Path, gold_layer: str | None = None, pred_layer: str | None = None, corpus: Path = Path("corpus")) -> dict:
    g, p, form = load_sides(gold, pred, gold_layer, pred_layer, corpus)
    report = score_records(g, p)
    report["compared_as"] = form
    return report


# --- rendering --------------------------------------------------------------------------------


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def render_table(report: dict) -> str:
    d = report["documents"]
    lines = [f"documents: {d['scored']} (gold {d['gold']}, predicted {d['pred']}); compared as {report['compared_as']}"]
    if d["only_gold"]:
        lines.append(f"  only in gold (all missed): {', '.join(d['only_gold'])}")
    if d["only_pred"]:
        lines.append(f"  only in predictions (all spurious): {', '.join(d['only_pred'])}")
    titles = dict(MEASURES)
    lines.append(f"{'measure':<26} {'label':<18} {'P':>6} {'R':>6} {'F1':>6}  gold/pred/matched")
    for r in report["scores"]:
        lines.append(f"{titles[r['measure']]:<26} {r['label']:<18} {_fmt(r['precision']):>6} {_fmt(r['recall']):>6} "
                     f"{_fmt(r['f1']):>6}  {r['gold']}/{r['pred']}/{r['matched']}")
    for a in report["attributes"]:
        lines.append(f"{'Attribute accuracy':<26} {a['attribute']:<18} {'':>6} {'':>6} {_fmt(a['accuracy']):>6}  {a['correct']}/{a['total']} correct")
    return "\n".join(lines) + "\n"


def render_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


RENDERERS = {"table": render_table, "json": render_json}
