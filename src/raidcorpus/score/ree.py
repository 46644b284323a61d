"""MUC-4 role-filler entity extraction (REE), scored with CEAF-REE as GRIT and GTT score it.

Per message and role, gold and predicted entities (each a list of mention strings) are aligned
one to one by the assignment that maximises the summed similarity; an entity pair scores 1
when every predicted mention, normalised, is a mention of the gold entity (phi-strict), else 0.
Matched / predicted entities is P, matched / gold entities is R, summed over messages per role,
and over roles for the micro average. The definition and its source are in docs/scoring.md;
the test holds GRIT's published figures to two decimals.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from .inputs import Row, expect, fail, files_of, read_rows
from .prf import bootstrap_f1, prf

# The benchmark's five roles (Du et al. 2021, after the MUC-4 slots they come from), in its order.
ROLES = ("PerpInd", "PerpOrg", "Target", "Victim", "Weapon")
MICRO = "micro"
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)

# message -> role -> entities, each a list of mention strings
Extracts = dict[str, dict[str, list[list[str]]]]


def normalize(mention: str) -> str:
    """GRIT's mention normalisation: lower case, ASCII punctuation removed, the articles a, an and
    the removed as words, runs of white space made one space."""
    text = mention.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def matched_entities(gold: list[list[str]], pred: list[list[str]]) -> int:
    """How many predicted entities the optimal one-to-one alignment matches to a gold entity
    (phi-strict: all of the prediction's mentions are among the gold entity's)."""
    if not gold or not pred:
        return 0
    golds = [set(g) for g in gold]
    phi = np.array([[float(all(m in g for m in p)) for p in pred] for g in golds])
    rows, cols = linear_sum_assignment(phi, maximize=True)
    return int(phi[rows, cols].sum())


# --- reading ----------------------------------------------------------------------------------


def message_number(message_id: str) -> str | None:
    """GRIT's document number of a TST message: TST3-MUC4-0001 -> "30001" (set digit * 10000 + number)."""
    m = re.fullmatch(r"TST(\d)-MUC\d-(\d{4})", message_id)
    return str(int(m.group(1)) * 10000 + int(m.group(2))) if m else None


def _entity(ent, where: str, doc: str, parts) -> list:
    """An entity's mentions: a list (GRIT's, ours), or the ree config's object, whose strings are
    the key's alternatives for the entity (its located mentions are occurrences of them)."""
    if isinstance(ent, dict):
        strings = ent.get("strings")
        if strings is None:
            return [m for m in expect(ent.get("mentions"), list, where, doc, parts + ["mentions"], "an entity needs strings or mentions")]
        return expect(strings, list, where, doc, parts + ["strings"], "strings must be a list of strings")
    return expect(ent, list, where, doc, parts, "an entity must be a list of mentions or an object with strings")


def _mention(value, where: str, doc: str, parts) -> str:
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]  # GRIT gold: [mention, offset]
    if isinstance(value, dict):
        return expect(value.get("text"), str, where, doc, parts + ["text"], "a mention's text must be a string")
    return expect(value, str, where, doc, parts, "a mention must be a string, [text, offset] or {text, start, end}")


def _entities(roles: dict, where: str, doc: str, base: list, only_roles: bool = True) -> dict[str, list[list[str]]]:
    """The five roles' entities as normalised mention lists. In GRIT's objects (extracts,
    pred_extracts) every key must be a role; our rows hold other fields beside them."""
    other = sorted(k for k in roles if k not in ROLES) if only_roles else []
    if other:
        raise fail(where, doc, base + [other[0]], "unknown-field", f"not a role of the REE task ({', '.join(ROLES)})")
    out = {}
    for role in ROLES:
        ents = expect(roles.get(role, []), list, where, doc, base + [role], f"{role} must be a list of entities")
        kept = []
        for i, ent in enumerate(ents):
            ent = _entity(ent, where, doc, base + [role, i])
            mentions = [normalize(_mention(m, where, doc, base + [role, i, j])) for j, m in enumerate(ent)]
            kept.append(mentions)  # an entity without mentions is counted and dropped in score_extracts
        out[role] = kept
    return out


def _row(where: str, row) -> tuple[str, dict[str, list[list[str]]]]:
    """(message id, extracts) of a GRIT JSON Lines row (docid, extracts) or an REE row (message_id, roles)."""
    row = expect(row, dict, where, None, [], "an REE row must be a JSON object")
    if "docid" in row:
        doc = expect(row["docid"], str, where, None, ["docid"], "docid must be a string")
        roles = expect(row.get("extracts"), dict, where, doc, ["extracts"], "extracts must be an object of roles")
        return doc, _entities(roles, where, doc, ["extracts"])
    for name in ("message_id", "message"):  # our REE rows; the ree config's rows
        if name in row:
            doc = expect(row[name], str, where, None, [name], f"{name} must be a string")
            return doc, _entities(row, where, doc, [], only_roles=False)
    raise fail(where, None, [], "missing-field", "an REE row needs docid (GRIT) or message_id / message (ours)")


def _grit_predictions(where: str, obj: dict) -> list[tuple[str, str, dict]]:
    """(address, document key, extracts) of GRIT's / GTT's prediction object {number: {pred_extracts}}."""
    out = []
    for key, value in obj.items():
        value = expect(value, dict, where, key, [key], "a prediction must be an object with pred_extracts")
        roles = expect(value.get("pred_extracts"), dict, where, key, [key, "pred_extracts"], "pred_extracts must be an object of roles")
        out.append((where, key, _entities(roles, where, key, [key, "pred_extracts"])))
    return out


SPLIT = "test"  # the split a built dataset folder is scored on


def _parquet_rows(path: Path) -> list[Row]:
    """The rows of the dataset's REE split in Parquet, each addressed by its row number."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as e:  # pyarrow's ArrowInvalid is a ValueError
        raise fail(str(path), None, [], "unreadable-file", f"not a readable Parquet file: {e}") from None
    return [(f"{path}:row {n}", row) for n, row in enumerate(table.to_pylist())]


def _inputs(path: Path, side: str) -> list[Path]:
    """A file, a built dataset folder (its ree config's test split), or a folder of JSON / JSON Lines files."""
    built = sorted((path / "ree").glob(f"{SPLIT}-*.parquet")) if path.is_dir() else []
    return built or files_of(path, (".json", ".jsonl", ".parquet"), side)


def read_side(path: Path, side: str) -> list[tuple[str, str, dict]]:
    """(address, document key, extracts) of every message in a file or folder of REE inputs."""
    out = []
    for f in _inputs(path, side):
        rows: list[Row] = _parquet_rows(f) if f.suffix == ".parquet" else read_rows(f)
        if len(rows) == 1 and isinstance(rows[0][1], dict) and not {"docid", "message_id", "message"} & set(rows[0][1]):
            out += _grit_predictions(*rows[0])
            continue
        for where, row in rows:
            doc, ents = _row(where, row)
            out.append((where, doc, ents))
    return out


def align_sides(gold: list[tuple[str, str, dict]], pred: list[tuple[str, str, dict]]) -> tuple[Extracts, Extracts]:
    """Both sides keyed by message id; a prediction keyed by GRIT's number is read as its message,
    and one that names no gold message is one addressed [unaligned-prediction] line."""
    g: Extracts = {}
    for where, doc, ents in gold:
        if doc in g:
            raise fail(where, doc, [], "duplicate-id", "this message is given twice in the gold file")
        g[doc] = ents
    by_number = {message_number(d): d for d in g if message_number(d)}
    p: Extracts = {}
    for where, key, ents in pred:
        doc = key if key in g else by_number.get(key)
        if doc is None:
            raise fail(where, key, [], "unaligned-prediction", "names no message of the gold file (a message id, or GRIT's number such as 30001)")
        if doc in p:
            raise fail(where, doc, [], "duplicate-id", "this message is predicted twice")
        p[doc] = ents
    return g, p


# --- scoring ----------------------------------------------------------------------------------


def score_extracts(gold: Extracts, pred: Extracts, n_boot: int = 0, seed: int = 0) -> dict:
    """Per role and micro-averaged P, R and F1 (0..1); a gold message without prediction is all missed.
    With n_boot, each F1 gets a 95% interval from resampling the messages."""
    counts = {role: [0, 0, 0] for role in ROLES}  # gold, pred, matched
    per_doc = []
    empty = {"gold": 0, "pred": 0}
    for side, extracts in (("gold", gold), ("pred", pred)):
        empty[side] = sum(1 for ents in extracts.values() for role in ROLES for e in ents.get(role, []) if not e)
    for doc, g in gold.items():
        p = pred.get(doc, {})
        mine = {MICRO: (0, 0, 0)}
        for role in ROLES:
            # GRIT drops gold entities without mentions; a predicted one would match any gold entity vacuously
            ge, pe = [e for e in g.get(role, []) if e], [e for e in p.get(role, []) if e]
            n = (len(ge), len(pe), matched_entities(ge, pe))
            mine.update({role: n, MICRO: tuple(a + b for a, b in zip(mine[MICRO], n))})
            for i in range(3):
                counts[role][i] += n[i]
        per_doc.append(mine)
    rows = [{"role": role, **prf(*counts[role])} for role in ROLES]
    total = [sum(counts[r][i] for r in ROLES) for i in range(3)]
    rows.append({"role": MICRO, **prf(*total)})
    intervals = bootstrap_f1(per_doc, list(ROLES) + [MICRO], n_boot, seed) if n_boot and per_doc else {}
    for r in rows:
        if r["role"] in intervals:
            r["f1_ci95"] = list(intervals[r["role"]])
    return {
        "metric": "ree",
        "definition": "CEAF-REE, phi-strict (Du, Rush and Cardie 2021): see docs/scoring.md",
        "documents": {"gold": len(gold), "pred": len(pred), "only_gold": sorted(set(gold) - set(pred))},
        "scores": rows,
        "empty_entities_dropped": empty,
        **({"bootstrap": {"resamples": n_boot, "seed": seed}} if intervals else {}),
    }


def score(gold: Path, pred: Path, n_boot: int = 0, seed: int = 0) -> dict:
    g, p = align_sides(read_side(gold, "gold"), read_side(pred, "pred"))
    return score_extracts(g, p, n_boot, seed)


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}"


def render_table(report: dict) -> str:
    d = report["documents"]
    lines = [f"MUC-4 REE, {report['definition']}", f"messages: gold {d['gold']}, predicted {d['pred']}"]
    if d["only_gold"]:
        lines.append(f"  without prediction (all missed): {len(d['only_gold'])}")
    dropped = report["empty_entities_dropped"]
    if dropped["gold"] or dropped["pred"]:
        lines.append(f"  entities without mentions, not counted: gold {dropped['gold']}, predicted {dropped['pred']}")
    lines.append(f"{'role':<8} {'P':>6} {'R':>6} {'F1':>6}  gold/pred/matched entities")
    for r in report["scores"]:
        ci = f"  95% CI {_pct(r['f1_ci95'][0])}-{_pct(r['f1_ci95'][1])}" if "f1_ci95" in r else ""
        lines.append(f"{r['role']:<8} {_pct(r['precision']):>6} {_pct(r['recall']):>6} {_pct(r['f1']):>6}  {r['gold']}/{r['pred']}/{r['matched']}{ci}")
    return "\n".join(lines) + "\n"
