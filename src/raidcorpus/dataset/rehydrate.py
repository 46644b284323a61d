"""rehydrate: standoff dataset + the user's own copies of the articles -> the full dataset.

Texts are matched to documents by sha256, never by name, and every span is checked to fit
its text before anything is written. The rows are then derived by the same functions the
build uses, so the result is the folder the maintainers built, byte for byte.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow.parquet as pq

from . import outdir, release, rows
from .. import muc
from .card import readable
from ..errors import Problem, UserError
from .features import for_config
from ..records import Reader
from .layout import parquet_name
from ..text import clean, sha256_text, span_fits
from .writer import BATCH_ROWS, Writer, writing


@dataclass
class Rehydrated:
    out: Path | None
    problems: list[str]
    documents: int = 0


def _text_of(path: Path) -> str | None:
    """The article text a file holds: a corpus record's `text`, or a .txt file's exact content."""
    if path.suffix == ".json":
        return Reader(level=1).read(path, "document")["text"]  # a broken or foreign record stops the command
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


Where = tuple[Path, bool, tuple[int, int] | None]  # a file, whether ingest's cleaning applies, a MUC message's slice


def index_texts(sources: Iterable[Path]) -> dict[str, Where]:
    """sha256 of each text -> where it is: the file, whether ingest's cleaning is applied to it, and
    for a MUC-3/4 file as NIST distributes it (100 messages a file), the message's slice of it.

    A user who saves an article from its site has the raw text, with the site furniture and the
    embedded posts that `raidcorpus ingest` removes (text.REMOVAL_RULES); the dataset's offsets
    are into the cleaned text. So each text is indexed as given and as ingest cleans it. A MUC
    message is found in the distribution's own files, its id line removed as ingest removes it.
    Texts are read again when needed, not kept."""
    found: dict[str, Where] = {}
    for src in sources:
        if not src.exists():
            raise UserError(f"{src}: no such file or folder")
        files = sorted(p for p in src.rglob("*") if p.suffix in (".json", ".txt") or muc.is_muc_file(p)) if src.is_dir() else [src]
        for path in files:
            text = _text_of(path)
            if text is None:
                continue
            if muc.is_muc_file(path):
                for m in muc.split_messages(text):
                    found.setdefault(sha256_text(clean(text[m.start:m.end])[0]), (path, True, (m.start, m.end)))
                continue
            found.setdefault(sha256_text(text), (path, False, None))
            cleaned = clean(text)[0]
            if cleaned != text:
                found.setdefault(sha256_text(cleaned), (path, True, None))
    return found


def _rows(path: Path, config: str) -> Iterator[dict]:
    features = for_config(config)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS):
        for row in batch.to_pylist():
            yield readable(features, row)


def _fill(row: dict, text: str, problems: list[str], path: Path | str = "", doc: str | None = None, at: str = "") -> dict:
    """Put the text back into every span of a row (row `at` of the Parquet file `path`), checking each span fits."""
    n = len(text)

    def span(s: dict, ptr: str) -> dict:
        if not span_fits(s["start"], s["end"], n):
            problems.append(Problem(str(path), doc, at + ptr, "offset-out-of-range",
                                    f"span {s['start']}:{s['end']} does not fit a text of {n} characters").line())
            return {**s, "text": None}
        return {**s, "text": text[s["start"] : s["end"]]}

    row = dict(row)
    row["entities"] = [span(e, f"/entities/{i}") for i, e in enumerate(row["entities"])]
    row["events"] = [{**v, "trigger": span(v["trigger"], f"/events/{i}/trigger")} for i, v in enumerate(row["events"])]
    return row


class Texts:
    def __init__(self, index: dict[str, Where]):
        self.index = index

    def get(self, sha: str) -> str | None:
        if sha not in self.index:
            return None
        path, cleaned, part = self.index[sha]
        text = _text_of(path)
        if text is not None and part is not None:
            text = text[part[0]:part[1]]
        if text is not None and cleaned:
            text = clean(text)[0]
        return text if text is not None and sha256_text(text) == sha else None


def rehydrate(standoff: Path, sources: list[Path], out: Path) -> Rehydrated:
    """Rebuild the full dataset into `out`; returns every problem (and writes nothing) if any text is missing or wrong.

    `out` is an owned output folder, like build's (see outdir): refused when it holds anything
    else, written beside itself under a lock and swapped in whole."""
    outdir.check(out)
    problems = release.verify_folder(standoff)
    if problems:
        return Rehydrated(None, problems)
    try:
        facts = json.loads((standoff / "release.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UserError(f"{standoff}/release.json: missing or unreadable: is this a standoff folder built by raidcorpus?") from None
    if facts.get("variant") != "standoff":
        raise UserError(f"{standoff}: not a standoff folder (release.json says variant {facts.get('variant')!r})")
    texts = Texts(index_texts(sources))
    splits = [s for s in facts["splits"] if s in facts["num_rows"]["documents"]]

    # First pass: every document has its text and every span fits; cluster members are gathered.
    clusters = []
    cluster_split = {}
    for split in splits:
        path = standoff / "clusters" / parquet_name(split)
        if path.is_file():
            for c in _rows(path, "clusters"):
                clusters.append(c)
                cluster_split[c["id"]] = split
    table = rows.ClusterTable(clusters)
    count = 0
    for split in splits:
        path = standoff / "documents" / parquet_name(split)
        for i, row in enumerate(_rows(path, "documents")):
            count += 1
            text = texts.get(row["text_sha256"])
            if text is None:
                problems.append(Problem(str(path), row["id"], f"/{i}/text_sha256", "text-hash-mismatch",
                                        f"no given file holds a text with sha256 {row['text_sha256']}, as given or as 'raidcorpus ingest' "
                                        f"cleans it: give the article's text as published, or its corpus record").line())
                continue
            full = _fill({**row, "text": text}, text, problems, path, row["id"], f"/{i}")
            if row["id"] in table.wanted:
                table.add(full)
        path = standoff / "annotators" / parquet_name(split)
        for i, arow in enumerate(_rows(path, "annotators")):
            text = texts.get(arow["text_sha256"])
            if text is not None:
                _fill(arow, text, problems, path, arow["document"], f"/{i}")
    problems += table.problems
    if problems:
        return Rehydrated(None, problems, count)

    # Second pass: write the full folder with the build's own row functions.
    with writing((out, "full")) as (full,):
        _write(full, standoff, splits, texts, clusters, cluster_split, table, facts)
    return Rehydrated(out, [], count)


def _write(full: Writer, standoff: Path, splits, texts, clusters, cluster_split, table, facts) -> None:
    nlp = rows.sentencizer()
    for split in splits:
        full.open_split(split)
        for row in _rows(standoff / "documents" / parquet_name(split), "documents"):
            text = texts.get(row["text_sha256"])
            full.add_document(_fill({**row, "text": text}, text, []), nlp)
        for arow in _rows(standoff / "annotators" / parquet_name(split), "annotators"):
            full.add("annotators", _fill(arow, texts.get(arow["text_sha256"]), []))
        full.add_clusters([c for c in clusters if cluster_split[c["id"]] == split], table)
        full.close_split()
    base = {k: v for k, v in facts.items() if k not in ("variant", "configs", "num_rows")}
    full.finish(base)  # the row counts are the writer's own
