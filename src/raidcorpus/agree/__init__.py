"""agree: inter-annotator agreement between two or more annotator layers of the same documents.

The work is split by concern: `items` reads each document's layers into additive counts (a
Tally), `measures` holds the pure metrics over counts, `figures` turns summed tallies into the
report's rows, and `render` writes them as a table, markdown or JSON. This module reads the
documents one at a time and sums their tallies into the overall figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .. import align
from ..records import Reader
from ..errors import UserError
from ..ontology import load as load_ontology
from .figures import figures
from .items import Tally, document_tally
from .render import LEGEND, RENDERERS, TEXT_FORMATS, document_section


class Accumulator:
    """Agreement gathered one document at a time, for `agree` and for commands that already hold
    the layers (build), so that nobody reads the annotations twice."""

    def __init__(self, everyone: list[str], per_document: bool = True, unitizing: bool = True, on_document=None,
                 entity_attributes: bool = True):
        """`on_document(entry)`, when given, receives each document's figures instead of the report
        keeping them, so that memory holds only the totals however many documents there are.
        Without `unitizing` or `entity_attributes`, those rows of the report are empty."""
        self.everyone = everyone
        self.per_document = per_document
        self.unitizing = unitizing
        self.entity_attributes = entity_attributes
        self.on_document = on_document
        self.onto = load_ontology()
        self.overall = Tally()
        self.documents: list[dict] = []
        self.skipped: list[dict] = []
        self.count = 0
        self.used: set[str] = set()

    def add(self, doc: str, records: dict[str, dict], length: int) -> None:
        """Add one document's annotator layers (annotator -> record; gold left out)."""
        self.take(self.document(doc, records, length))

    def document(self, doc: str, records: dict[str, dict], length: int) -> tuple:
        """One document's share, computed without touching the totals (so worker processes can
        compute shares that `take` then sums in document order: the same floats in any run)."""
        if len(records) < 2:
            return ("skipped", {"document": doc, "annotators": sorted(records), "reason": "fewer than two annotator layers"})
        layers = {a: align.index_layer(r) for a, r in sorted(records.items())}
        tally = document_tally(layers, length, self.everyone, self.onto, self.unitizing, self.entity_attributes)
        notes = [f"{a}: {len(lay.duplicates)} items with a repeated key ignored" for a, lay in layers.items() if lay.duplicates]
        rows = figures(tally, self.everyone, self.onto, len(layers)) if self.per_document else []
        return ("document", tally, {"document": doc, "annotators": list(layers), "rows": rows, "notes": notes})

    def take(self, share: tuple) -> None:
        if share[0] == "skipped":
            self.skipped.append(share[1])
            return
        if share[0] == "documents":  # several documents' shares, from `combine`
            _, counts, floats, entries, skipped = share
            self.overall.add(counts)
            for coref, units in floats:
                self.overall.add(Tally(coref=coref, units=units))
            self.skipped += skipped
            for entry in entries:
                self.count += 1
                self.used.update(entry["annotators"])
                if self.on_document is not None:
                    self.on_document(entry)
                else:
                    self.documents.append(entry)
            return
        self.overall.add(share[1])
        self.count += 1
        self.used.update(share[2]["annotators"])
        if self.on_document is not None:
            self.on_document(share[2])
        else:
            self.documents.append(share[2])

    def report(self) -> dict:
        used = sorted(self.used)
        out = {
            "annotators": used,
            "documents": self.documents,
            "skipped": self.skipped,
            "overall": figures(self.overall, self.everyone, self.onto, len(used)) if self.count else [],
            "legend": LEGEND,
        }
        if self.on_document is not None:
            out["document_count"] = self.count  # the documents went to on_document
        return out


def combine(shares: list[tuple]) -> tuple:
    """Several documents' shares (in document order) as one, summed where the sum is exact, so that
    the process taking them adds one tally per run of documents: counts are summed here; the
    coreference and unitizing figures, which are floats, stay per document and `take` adds them
    in document order, so the totals are the same floats as when the documents are taken one by one."""
    counts = Tally()
    floats, entries, skipped = [], [], []
    for share in shares:
        if share[0] == "skipped":
            skipped.append(share[1])
            continue
        tally = share[1]
        counts.add(Tally(f1=tally.f1, attrs=tally.attrs))
        floats.append((tally.coref, tally.units))
        entries.append(share[2])
    return ("documents", counts, floats, entries, skipped)


def agree(paths: Iterable[str | Path], corpus_dir: str | Path = "corpus", annotators: list[str] | None = None,
          on_document=None) -> dict:
    """The agreement report over every document with two or more layers, read one document at a time
    (with `on_document`, each document's figures go there instead of into the report)."""
    found = align.collect(paths, annotators)
    everyone = sorted({a for layers in found.values() for a in layers})
    missing = sorted(set(annotators or ()) - set(everyone))
    if missing:
        raise UserError(f"no annotation layers for {', '.join(missing)} (layers found: {', '.join(everyone) or 'none'})")
    acc = Accumulator(everyone, on_document=on_document)
    reader = Reader(corpus_dir)
    for doc, files in found.items():
        if len(files) < 2:
            acc.add(doc, dict.fromkeys(files, {}), 0)
            continue
        document = reader.document(doc)
        records = reader.read_layers(doc, files)
        acc.add(doc, records, len(document["text"]))
        reader.done(doc, files)
    return acc.report()


def write_report(out, paths: Iterable[str | Path], corpus_dir: str | Path = "corpus", annotators: list[str] | None = None,
                 fmt: str = "table") -> None:
    """The report in a text format, written to `out` one document at a time: memory holds the totals,
    not every document's figures. It is spooled to a temporary file first, so that a problem met
    halfway prints its one line and no half report."""
    import shutil
    import tempfile

    if fmt not in TEXT_FORMATS:
        out.write(RENDERERS[fmt](agree(paths, corpus_dir, annotators)))
        return
    head, section, tail = TEXT_FORMATS[fmt]
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
        def lines(items: list[str]) -> None:
            spool.writelines(line + "\n" for line in items)

        lines(head)
        report = agree(paths, corpus_dir, annotators, on_document=lambda d: lines(section(*document_section(d))))
        lines(tail(report))
        spool.seek(0)
        shutil.copyfileobj(spool, out)
