"""adjudicate: build the gold layer from the annotator layers and the curators' written decisions.

Every item is accepted because all annotators who could have it agree, or because a decision in
annotations/<doc>/decisions.yaml says so; a disagreement without a decision stops the command.
A decision may also override an item every layer agrees on (reject or edit it) and add an item no
layer has (action add); such items carry the decision as their provenance. A decision that matches
no item is an error, so that a stale decisions file cannot pass unnoticed.
The gold layer is a pure function of its inputs: same layers and decisions, same bytes. The rules
are in gold.py; this module reads the layers and decisions files and writes gold.json.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import yaml

from . import align, fileio
from .errors import Problem
from .gold import Conflict, build_gold
from .itemkey import parse_key
from .records import Reader
from .ontology import load as load_ontology

# -- decisions files -----------------------------------------------------------------------


def read_decisions(path: Path, reader: Reader | None = None) -> tuple[dict[str, list[dict]], list[Problem]]:
    """document -> decisions from a YAML file of one or more decisions records, each checked (the
    schema, and every item key parsed); entries whose action is still empty (an unfilled --report
    template) are left out, so their items stay undecided."""
    reader = reader or Reader(level=1)

    def problem(slug: str, message: str) -> list[Problem]:
        return [Problem(str(path), None, "/", slug, message)]

    try:
        data = fileio.read_bytes(path)
        if not data.strip():
            return {}, problem("empty-file", "the file is empty (a document without disagreements needs no decisions file)")
        text = data.decode("utf-8")
        docs = [d for d in fileio.parse_yaml_all(path, text) if d is not None]
    except fileio.ReadError as e:
        return {}, [e.problem]
    except UnicodeDecodeError as e:
        return {}, problem("not-utf8", f"invalid UTF-8 at byte {e.start}")
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        return {}, problem("invalid-yaml", f"{getattr(e, 'problem', None) or str(e).splitlines()[0]}{where}")
    found: dict[str, list[dict]] = {}
    problems: list[Problem] = []
    for record in docs:
        if isinstance(record, dict) and isinstance(record.get("decisions"), list):
            kept = []
            for d in record["decisions"]:
                if isinstance(d, dict) and d.get("action") is None:
                    continue
                if isinstance(d, dict):
                    d = {k: v for k, v in d.items() if not (k in ("layer", "value") and v is None)}
                kept.append(d)
            record = {**record, "decisions": kept}
        errors = _key_problems(record, str(path))
        keys = {k.pointer for k in errors}  # there the key's parser says more than the schema's pattern
        errors += [p for p in reader.problems(record, str(path), "decisions") if p.pointer not in keys]
        if errors:
            problems += errors
        else:
            found.setdefault(record["document"], []).extend(record["decisions"])
    return found, problems


def _key_problems(record, path: str) -> list[Problem]:
    """A `bad-item-key` Problem for each decision whose item key does not parse."""
    if not isinstance(record, dict) or not isinstance(record.get("decisions"), list):
        return []
    doc = record.get("document") if isinstance(record.get("document"), str) else None
    found = (parse_key(d["item"], path, doc, f"/decisions/{i}/item") for i, d in enumerate(record["decisions"])
             if isinstance(d, dict) and "item" in d)
    return [p for p in found if isinstance(p, Problem)]


# -- the command's work --------------------------------------------------------------------


@dataclass
class Result:
    lines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    undecided: list[tuple[str, Conflict]] = field(default_factory=list)
    decided_in: dict[str, str] = field(default_factory=dict)  # document -> the decisions file its items are decided in
    stale: list[str] = field(default_factory=list)
    report_docs: list[tuple[str, list[dict], list[Conflict]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.problems or self.undecided or self.stale)


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(fileio.read_bytes(path)).hexdigest()


def adjudicate(paths: Iterable[str | Path] = ("annotations",), corpus_dir: str | Path = "corpus",
               decisions: Iterable[str | Path] = (), min_layers: int = 2, check: bool = False) -> Result:
    """Build (or with check, compare) annotations/<doc>/gold.json for every document with enough layers."""
    onto = load_ontology()
    result = Result()
    given: dict[str, list[dict]] = {}
    given_from: dict[str, str] = {}
    reader = Reader(corpus_dir)
    decisions_reader = Reader(corpus_dir, level=2)  # stale decisions are build_gold's to report, with the gold held back
    for path in decisions:
        found, problems = read_decisions(Path(path), decisions_reader)
        result.problems += problems
        for doc, ds in found.items():
            given.setdefault(doc, []).extend(ds)
            given_from[doc] = str(path)
    if result.problems:  # which documents a broken record was for is not known: no gold from part of the decisions
        return result
    for doc, files in align.collect(paths).items():
        folder = next(iter(files.values())).parent
        if len(files) < min_layers:
            result.lines.append(f"{doc}: skipped, {len(files)} layer ({', '.join(files)}); adjudication needs {min_layers}")
            continue
        document = reader.document(doc)
        records = reader.read_layers(doc, files)
        where = folder / "decisions.yaml"
        source = {f"sha256:{a}": _sha256_file(f) for a, f in files.items()}
        if doc in given:
            ds, where = given[doc], Path(given_from[doc])
        elif where.is_file():
            found, problems = read_decisions(where, decisions_reader)
            result.problems += problems
            if problems:
                continue  # no gold from part of the decisions
            ds = found.get(doc, [])
            for other in sorted(set(found) - {doc}):
                result.problems.append(Problem(str(where), other, "/document", "unknown-document",
                                               f"decisions for {other!r} in the folder of {doc!r}"))
        else:
            ds = []
        outcome = build_gold(doc, {a: align.index_layer(r) for a, r in records.items()}, ds, document, onto, str(where), source)
        result.problems += outcome.problems
        result.undecided += [(doc, c) for c in outcome.undecided]
        result.decided_in[doc] = str(where)
        if outcome.undecided:
            result.report_docs.append((doc, ds, outcome.undecided))
        if outcome.gold is None:
            continue
        gold_path = folder / "gold.json"
        invalid = reader.problems(outcome.gold, str(gold_path), "annotation")
        if invalid:
            result.problems += [replace(p, message=p.message + " (check the edit decisions)") for p in invalid]
            continue
        g = outcome.gold
        counts = (f"{len(g['entities'])} entities, {len(g['events'])} events, "
                  f"{sum(len(e['arguments']) for e in g['events'])} arguments, "
                  f"{len(g['entity_clusters']) + len(g['event_clusters'])} clusters; "
                  f"{outcome.agreed} items agreed, {outcome.decided} decided, {outcome.overridden} overridden, "
                  f"{outcome.added} added, {len(outcome.dropped)} dropped with a rejected end")
        if check:
            current = gold_path.read_bytes() if gold_path.is_file() else None
            if current != fileio.dumps_json(g):
                result.stale.append(f"{gold_path} doc={doc}: stale or missing; run 'raidcorpus adjudicate'")
            else:
                result.lines.append(f"{doc}: {gold_path} is up to date ({counts})")
        else:
            changed = fileio.write_json(gold_path, g)
            result.lines.append(f"{doc}: {'wrote' if changed else 'unchanged'} {gold_path} ({counts})")
    return result


def undecided_problems(result: Result) -> list[Problem]:
    """One `undecided` Problem per disputed item without a decision, addressed at the decisions file
    that should decide it, with each layer's version."""
    out = []
    for doc, c in result.undecided:
        versions = "; ".join(f"{a}: {_short(v)}" for a, v in c.versions.items())
        text = f" {c.text!r}" if c.text else ""
        out.append(Problem(result.decided_in.get(doc, f"annotations/{doc}/decisions.yaml"), doc, "/decisions", "undecided",
                           f"item={c.key}{text} has no decision; {versions}"))
    return out


def _short(v) -> str:
    if v is None:
        return "absent"
    if isinstance(v, str):
        return v
    return yaml.safe_dump(v, default_flow_style=True, sort_keys=True, allow_unicode=True, width=10_000).strip()


def report_template(result: Result) -> str:
    """A YAML stream, one decisions record per document: the existing decisions plus one empty entry per
    undecided item, each layer's version shown in comments."""
    n = len(result.undecided)
    lines = [
        f"# raidcorpus adjudicate: {n} undecided items in {len(result.report_docs)} documents.",
        "# For each entry set action: take (the version of the layer named in 'layer'), reject (leave it out of gold)",
        "# or edit (the gold version in 'value', e.g. value: {attributes: {mention: NOM}} or value: {status: planned}),",
        "# and a reason. Entries left with 'action: null' stay undecided. Then run",
        "#   raidcorpus adjudicate --decisions <this file>",
        "# or copy a document's part to annotations/<doc>/decisions.yaml (each part is a complete decisions record).",
        "# To compare the layers in Label Studio, attach each as predictions: raidcorpus push --predictions <annotator>",
    ]
    onto = load_ontology()
    for doc, existing, conflicts in result.report_docs:
        lines += ["---", _dump({"kind": "decisions", "schema_version": onto.version, "document": doc}).rstrip(), "decisions:"]
        for d in existing:
            lines.append(_indent_item(_dump(d)))
        taken = {d["id"] for d in existing}
        number = 1
        for c in conflicts:
            while f"d{number}" in taken:
                number += 1
            taken.add(f"d{number}")
            text = f" {c.text!r}" if c.text else ""
            lines.append(f"# {c.key}{text}")
            for a, v in c.versions.items():
                lines.append(f"#   {a}: {_short(v)}")
            entry = {"id": f"d{number}", "item": c.key, "action": None, "layer": None, "reason": ""}
            lines.append(_indent_item(_dump(entry)).rstrip() + f"\n  # action: {' | '.join(c.actions)}")
    return "\n".join(lines) + "\n"


def _dump(obj) -> str:
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True, default_flow_style=False, width=10_000)


def _indent_item(text: str) -> str:
    rows = text.rstrip("\n").split("\n")
    return "\n".join(["- " + rows[0]] + ["  " + r for r in rows[1:]])
