"""MUC-4 templates scored after the MUC-4 scorer: templates mapped one to one, then slot fills counted.

Per message, gold (key) and predicted (response) templates are mapped one to one by the
assignment that maximises the number of correct fills, among pairs whose incident types match
at least partly (the scorer's mapping condition). Each fill is then correct, partial, incorrect,
missing or spurious; recall = (COR + PAR/2) / POS, precision = (COR + PAR/2) / ACT, as the MUC-4
scorer reports them. docs/scoring.md gives the definition and where it differs from the scorer.

Input rows (JSON Lines): {"message_id", "templates": [{"incident_type", "stage", "slots": {name:
[filler, ...]}, "optional"?}]}; a filler is a string or a list of alternative strings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from .. import muckeys
from ..dataset import muc_rows
from .inputs import expect, fail, files_of, read_rows
from .prf import prf
from .ree import normalize

PARTIAL_TYPE = "ATTACK"  # a response ATTACK is partially correct for any other key incident type (guidelines 3.2.4)
TEMPLATE = "template"
FIELDS = ("incident_type", "stage")
_NO = -1.0  # similarity of a pair the mapping condition forbids

Template = dict  # {"incident_type": str, "stage": str | None, "slots": {name: [frozenset of alternatives]}, "optional": bool}


# --- reading ----------------------------------------------------------------------------------


KNOWN = {"incident_type", "stage", "slots", "optional"}


def _template(t, where: str, doc: str, parts: list, unscored: set[str]) -> Template:
    t = expect(t, dict, where, doc, parts, "a template must be an object")
    unscored.update(k for k in t if k not in KNOWN)
    itype = expect(t.get("incident_type"), str, where, doc, parts + ["incident_type"], "incident_type must be a string")
    stage = t.get("stage")
    if stage is not None:
        expect(stage, str, where, doc, parts + ["stage"], "stage must be a string or null")
    slots = {}
    for name, fillers in expect(t.get("slots", {}), dict, where, doc, parts + ["slots"], "slots must be an object").items():
        fillers = expect(fillers, list, where, doc, parts + ["slots", name], "a slot must be a list of fillers")
        out = []
        for i, f in enumerate(fillers):
            alts = f if isinstance(f, list) else [f]
            for j, a in enumerate(alts):
                expect(a, str, where, doc, parts + ["slots", name, i] + ([j] if isinstance(f, list) else []), "a filler must be a string or a list of strings")
            out.append(frozenset(normalize(a) for a in alts))
        slots[name] = out
    return {"incident_type": itype.upper(), "stage": stage.upper() if stage else None, "slots": slots, "optional": bool(t.get("optional"))}


def _fill_line(line: str) -> list[str]:
    """The alternatives of a key fill line as the templates config renders it: the optional mark
    ("? ") and the cross-references (a last ': "..."' part) left out, alternatives split on '/'
    outside quotes (muckeys.split_top)."""
    value = line.removeprefix("? ")
    parts = muckeys.split_top(value, ":")
    if len(parts) > 1 and parts[-1].strip().startswith('"'):
        value = ":".join(parts[:-1])
    return [a.strip() for a in muckeys.split_top(value, "/") if a.strip()] or [value]


def _config_template(row: dict, where: str, doc: str, unscored: set[str]) -> dict:
    """One row of the dataset's templates config as the plain template shape (slot columns -> fillers)."""
    cols = {muc_rows.column(slot): slot for slot in muckeys.slots()}
    lines = {}
    for col in cols:
        value = expect(row.get(col, []), list, where, doc, [col], f"{col} must be a list of fill lines")
        lines[col] = [expect(v, str, where, doc, [col, i], "a fill line must be a string") for i, v in enumerate(value)
                      if v not in ("-", "*")]
    unscored.update(k for k in row if k not in cols and k not in CONFIG_FIELDS)
    first = lambda col: (lines[col][0].removeprefix("? ") if lines[col] else None)  # noqa: E731
    return {"incident_type": first("incident_type") or "", "stage": first("incident_stage_of_execution"), "optional": bool(row.get("optional")),
            "slots": {col: [_fill_line(x) for x in ls] for col, ls in lines.items() if col not in CONFIG_NOT_SLOTS}}


# the templates config's columns that are not slot fills, and the slots that are not compared as slots
CONFIG_FIELDS = {"id", "document", "message", "template", "optional", "mentions", "unlocated"}
CONFIG_NOT_SLOTS = {"message_id", "message_template", "incident_type", "incident_stage_of_execution"}


def read_side(path: Path, side: str, unscored: set[str]) -> dict[str, list[Template]]:
    """message -> templates, from our plain rows (one per message) or the dataset's templates config
    (one row per template); the names of fields that are not scored are added to `unscored`."""
    out: dict[str, list[Template]] = {}
    for f in files_of(path, (".json", ".jsonl"), side):
        for where, row in read_rows(f):
            row = expect(row, dict, where, None, [], "a template row must be a JSON object")
            if "message" in row and "template" in row:
                doc = expect(row["message"], str, where, None, ["message"], "message must be a string")
                t = _config_template(row, where, doc, unscored)
                out.setdefault(doc, []).append(_template(t, where, doc, [], set()))
                continue
            doc = expect(row.get("message_id"), str, where, None, ["message_id"], "message_id must be a string")
            if doc in out:
                raise fail(where, doc, ["message_id"], "duplicate-id", f"message given twice in the --{side} file")
            temps = expect(row.get("templates", []), list, where, doc, ["templates"], "templates must be a list")
            out[doc] = [_template(t, where, doc, ["templates", i], unscored) for i, t in enumerate(temps)]
    return out


# --- counting ---------------------------------------------------------------------------------


def _fills(fillers: list[frozenset], answers: list[frozenset]) -> int:
    """Correct fills of a slot: the most response fillers matched one to one with key fillers
    (a response filler matches a key filler when it is one of the key's alternatives)."""
    if not fillers or not answers:
        return 0
    m = np.array([[float(bool(k & r)) for r in answers] for k in fillers])
    rows, cols = linear_sum_assignment(m, maximize=True)
    return int(m[rows, cols].sum())


def pair_counts(key: Template, resp: Template) -> dict[str, Counter]:
    """slot -> Counter of cor, par, inc, mis, spu for a mapped key and response template."""
    out: dict[str, Counter] = {}
    kt, rt = key["incident_type"], resp["incident_type"]
    out["incident_type"] = Counter(cor=kt == rt, par=kt != rt and rt == PARTIAL_TYPE, inc=kt != rt and rt != PARTIAL_TYPE)
    ks, rs = key["stage"], resp["stage"]
    out["stage"] = Counter(cor=bool(ks and ks == rs), inc=bool(ks and rs and ks != rs), mis=bool(ks and not rs), spu=bool(rs and not ks))
    for name in sorted(set(key["slots"]) | set(resp["slots"])):
        k, r = key["slots"].get(name, []), resp["slots"].get(name, [])
        cor = _fills(k, r)
        out[name] = Counter(cor=cor, mis=len(k) - cor, spu=len(r) - cor)
    return out


def alone_counts(t: Template, kind: str) -> dict[str, Counter]:
    """Every fill of an unmapped template: missing (a key's) or spurious (a response's)."""
    out = {"incident_type": Counter({kind: 1}), "stage": Counter({kind: int(t["stage"] is not None)})}
    for name, fillers in t["slots"].items():
        out[name] = Counter({kind: len(fillers)})
    return out


def _value(c: Counter) -> float:
    return c["cor"] + 0.5 * c["par"]


def mapping(keys: list[Template], resps: list[Template]) -> list[tuple[int, int]]:
    """The one-to-one map of key to response templates with the most correct fills, among pairs whose
    incident types match fully or partly; a pair with no correct fill is still mapped if the types allow."""
    if not keys or not resps:
        return []
    sim = np.full((len(keys), len(resps)), _NO)
    for i, k in enumerate(keys):
        for j, r in enumerate(resps):
            c = pair_counts(k, r)
            if c["incident_type"]["cor"] or c["incident_type"]["par"]:
                sim[i, j] = 1 + sum(_value(v) for v in c.values())  # 1: a permitted pair beats no pair
    rows, cols = linear_sum_assignment(sim, maximize=True)
    return [(i, j) for i, j in zip(rows, cols) if sim[i, j] > _NO]


def _add(total: dict[str, Counter], part: dict[str, Counter]) -> None:
    for name, c in part.items():
        total.setdefault(name, Counter()).update(c)


def score_templates(gold: dict[str, list[Template]], pred: dict[str, list[Template]]) -> dict:
    total: dict[str, Counter] = {}
    tmpl = Counter()
    for doc in sorted(set(gold) | set(pred)):
        keys, resps = gold.get(doc, []), pred.get(doc, [])
        pairs = mapping(keys, resps)
        for i, j in pairs:
            _add(total, pair_counts(keys[i], resps[j]))
        mapped_k, mapped_r = {i for i, _ in pairs}, {j for _, j in pairs}
        for i, k in enumerate(keys):
            if i not in mapped_k and not k["optional"]:  # an unmatched optional key template costs nothing
                _add(total, alone_counts(k, "mis"))
        for j, r in enumerate(resps):
            if j not in mapped_r:
                _add(total, alone_counts(r, "spu"))
        tmpl["gold"] += sum(1 for i, k in enumerate(keys) if not k["optional"] or i in mapped_k)
        tmpl["pred"] += len(resps)
        tmpl["matched"] += len(pairs)
    rows = [{"slot": TEMPLATE, **prf(tmpl["gold"], tmpl["pred"], tmpl["matched"])}]
    names = [n for n in FIELDS if n in total] + sorted(n for n in total if n not in FIELDS)
    for name in names + ["all"]:
        c = total.get(name) if name != "all" else sum(total.values(), Counter())
        pos, act = c["cor"] + c["par"] + c["inc"] + c["mis"], c["cor"] + c["par"] + c["inc"] + c["spu"]
        row = prf(pos, act, _value(c))
        rows.append({"slot": name, **row, **{k: c[k] for k in ("cor", "par", "inc", "mis", "spu")}})
    return {"metric": "templates", "documents": {"gold": len(gold), "pred": len(pred)}, "scores": rows,
            "definition": "MUC-4 scorer style: one-to-one template map, COR + PAR/2 over POS and ACT (docs/scoring.md)"}


def score(gold: Path, pred: Path) -> dict:
    unscored: set[str] = set()
    report = score_templates(read_side(gold, "gold", unscored), read_side(pred, "pred", unscored))
    report["fields_not_scored"] = sorted(unscored)
    return report


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}"


def render_table(report: dict) -> str:
    d = report["documents"]
    lines = [f"MUC-4 templates, {report['definition']}", f"messages: gold {d['gold']}, predicted {d['pred']}",
             f"{'slot':<28} {'P':>6} {'R':>6} {'F1':>6}  counts"]
    for r in report["scores"]:
        counts = (f"{r['gold']}/{r['pred']}/{r['matched']} gold/pred/mapped" if r["slot"] == TEMPLATE
                  else f"cor {r['cor']} par {r['par']} inc {r['inc']} mis {r['mis']} spu {r['spu']}")
        lines.append(f"{r['slot']:<28} {_pct(r['precision']):>6} {_pct(r['recall']):>6} {_pct(r['f1']):>6}  {counts}")
    if report.get("fields_not_scored"):
        lines.append(f"template fields not scored: {', '.join(report['fields_not_scored'])} (see docs/scoring.md)")
    return "\n".join(lines) + "\n"
