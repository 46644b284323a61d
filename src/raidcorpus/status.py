"""status: where the corpus stands, one document at a time.

Per document: its Label Studio tasks (as recorded in the layers), the annotators whose layers
are in place, the layers waiting in quarantine and their problem counts, agreement F1 between
the layers, the disagreements no decision settles yet, and whether gold.json is what
`adjudicate` would write now. Totals at the end. Documents are read one at a time and only
counters are kept, so memory does not grow with the corpus.

The documents are looked at in runs of CHUNK by `jobs` worker processes (default: one per CPU),
forked after the corpus is listed; their rows come back, and are printed, in document order, so
the output does not depend on `jobs`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from . import adjudicate, align, gold, fileio, quarantine, workers
from .agree.figures import f1_figures
from .errors import UserError
from .ontology import load as load_ontology
from .records import Reader

MEASURES = ("entity_exact", "trigger", "argument")
CHUNK = 32  # documents per run given to a worker
WORKER_DIED = "status: a worker process died (killed, or out of memory?); run again, or with --jobs 1"


@dataclass
class Totals:
    documents: int = 0
    with_layers: int = 0
    layers: int = 0
    quarantined: int = 0
    problems: int = 0
    undecided: int = 0
    gold: dict[str, int] = field(default_factory=dict)

    def add(self, row: dict) -> None:
        self.documents += 1
        self.with_layers += bool(row["annotators"])
        self.layers += len(row["annotators"])
        self.quarantined += len(row["quarantined"])
        self.problems += sum(q["problems"] for q in row["quarantined"])
        self.undecided += row["undecided"] or 0
        self.gold[row["gold"]] = self.gold.get(row["gold"], 0) + 1

    def as_dict(self) -> dict:
        return {"documents": self.documents, "with_layers": self.with_layers, "layers": self.layers,
                "quarantined_layers": self.quarantined, "quarantine_problems": self.problems,
                "undecided": self.undecided, "gold": dict(sorted(self.gold.items()))}


def _agreement(layers: dict[str, align.Layer], onto) -> dict[str, float | None]:
    return f1_figures(layers, onto, MEASURES)


def document_status(root: Path, doc: str, onto=None, reader: Reader | None = None) -> dict:
    """The status of one document (a plain dict, the JSON form). `reader`, when given, is one
    Reader for the whole run (the corpus listed once); each document is checked on its own, as by
    a new Reader."""
    onto = onto or load_ontology()
    folder = root / "annotations" / doc
    files = {p.stem: p for p in sorted(folder.glob("*.json")) if p.name not in align.NOT_LAYERS and not p.name.startswith(".")} \
        if folder.is_dir() else {}
    held = quarantine.of_document(root / "annotations", doc)
    row = {"document": doc, "tasks": [], "annotators": sorted(files), "quarantined": [], "agreement": {},
           "undecided": None, "gold": "none", "problems": []}
    tasks = set()
    for q in held:
        row["quarantined"].append({"annotator": q.annotator, "problems": q.problems, "path": str(q.path.relative_to(root))})
        try:
            tasks.add((fileio.read_json(q.path).get("source") or {}).get("label_studio_task"))
        except (fileio.ReadError, AttributeError):
            pass
    records = {}
    if reader is None:
        reader = Reader(root / "corpus")  # layers checked as validate checks them, text hashes included
    else:
        reader.forget_seen()
    for name, path in files.items():
        try:
            rec = reader.read(path, "annotation")
        except UserError as e:
            row["problems"].append(e.message)
            continue
        if isinstance(rec, dict):
            records[name] = rec
            tasks.add((rec.get("source") or {}).get("label_studio_task"))
    row["tasks"] = sorted(t for t in tasks if isinstance(t, int))
    gold_path = folder / "gold.json"
    if len(records) < 2:
        row["gold"] = "present" if gold_path.is_file() else "none"
        return row
    try:
        document = reader.document(doc)
        layers = {a: align.index_layer(r) for a, r in records.items()}  # for agreement and gold alike (neither changes them)
        row["agreement"] = _agreement(layers, onto)
        where = folder / "decisions.yaml"
        decisions, problems = adjudicate.read_decisions(where) if where.is_file() else ({}, [])
        row["problems"] += [p.line() for p in problems]
        source = {f"sha256:{a}": adjudicate._sha256_file(f) for a, f in files.items()}
        out = gold.build_gold(doc, layers, decisions.get(doc, []),
                                    document, onto, str(where), source)
    except UserError as e:
        row["problems"].append(e.message)
        row["gold"] = "unknown"
        return row
    row["undecided"] = len(out.undecided)
    row["problems"] += [p.line() for p in out.problems]
    if out.gold is None:
        row["gold"] = "undecided" if out.undecided else "blocked"
    elif not gold_path.is_file():
        row["gold"] = "missing"
    else:
        row["gold"] = "current" if gold_path.read_bytes() == fileio.dumps_json(out.gold) else "stale"
    return row


def documents(root: Path) -> list[str]:
    """Document ids: the corpus, plus any annotation folder without a corpus record."""
    ids = {p.stem for p in (root / "corpus").glob("*.json")}
    annotations = root / "annotations"
    if annotations.is_dir():
        ids |= {p.name for p in annotations.iterdir() if p.is_dir() and p.name not in ("raw", quarantine.FOLDER) and not p.name.startswith(".")}
    return sorted(ids)


def _chunk_rows(run: tuple, docs: list[str]) -> list[dict]:
    root, onto, reader = run
    return [document_status(root, doc, onto, reader) for doc in docs]


def iter_status(root: str | Path = ".", totals: Totals | None = None, jobs: int | None = None) -> Iterator[dict]:
    """Each document's status in turn; `totals` (if given) is filled in as they go. With more than
    one job, runs of documents are looked at in worker processes and come back in order."""
    root = Path(root)
    if not (root / "corpus").is_dir() and not (root / "annotations").is_dir():
        raise UserError(f"no corpus/ or annotations/ under {root}: run it at the repository's top (or give --root)")
    onto = load_ontology()
    reader = Reader(root / "corpus")
    ids = documents(root)
    chunks = [ids[i:i + CHUNK] for i in range(0, len(ids), CHUNK)]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chunks)))
    if jobs > 1:
        reader.validator.doc_ids()  # listed once, before the fork, for every worker
    # a few runs ahead of the one being printed, so memory stays bounded
    for chunk_rows in workers.in_order(_chunk_rows, (root, onto, reader), chunks, jobs, WORKER_DIED):
        for row in chunk_rows:
            if totals is not None:
                totals.add(row)
            yield row


def _f(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def line(row: dict) -> str:
    parts = [row["document"], f"tasks {','.join(map(str, row['tasks'])) or '-'}",
             f"layers {','.join(row['annotators']) or '-'}"]
    if row["quarantined"]:
        parts.append("quarantine " + ",".join(f"{q['annotator']} ({q['problems']} problems)" for q in row["quarantined"]))
    if row["agreement"]:
        parts.append("F1 " + " ".join(f"{m.split('_')[0]} {_f(row['agreement'].get(m))}" for m in MEASURES))
    if row["undecided"] is not None:
        parts.append(f"undecided {row['undecided']}")
    parts.append(f"gold {row['gold']}")
    text = "  ".join(parts)
    for p in row["problems"]:
        text += f"\n  problem: {p}"
    return text


def run(root: str | Path = ".", fmt: str = "text", write=print, jobs: int | None = None) -> Totals:
    """The CLI's work: one line (or JSON object) per document as it is read, then the totals."""
    totals = Totals()
    for row in iter_status(root, totals, jobs):
        write(json.dumps(row, ensure_ascii=False) if fmt == "json" else line(row))
    t = totals.as_dict()
    if fmt == "json":
        write(json.dumps({"totals": t}))
    else:
        gold = ", ".join(f"{k} {v}" for k, v in t["gold"].items())
        write(f"total: {t['documents']} documents, {t['with_layers']} with layers, {t['layers']} layers, "
              f"{t['quarantined_layers']} in quarantine ({t['quarantine_problems']} problems), "
              f"{t['undecided']} undecided disagreements; gold: {gold or '-'}")
    return totals
