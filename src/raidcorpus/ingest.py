"""ingest: turn articles (.txt files or JSON Lines) into corpus records, idempotently.

The text annotators see is the raw text less whole lines removed by two documented rules
(REMOVAL_RULES); nothing else is changed, and each removed range is kept in the record so
that the raw text and the annotated text stay reconciled.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from . import fileio, muc
from .checks import check_record
from .errors import Problem, ProblemError, UserError
from .ontology import load as load_ontology
from .records import Reader, check_fields
from .text import NEAR_DUPLICATE, SketchIndex, clean, sha256_text, shingles

MAX_ARTICLE_BYTES = 2 << 20  # 2 MiB of UTF-8: a long feature is 100 KB; beyond this it is not one article
LINE_FIELDS = ("id", "title", "outlet", "published", "language", "url", "inferred")  # a JSON Lines article's metadata


def slugify(text: str, words: int = 6) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    parts = re.findall(r"[a-z0-9]+", norm)[:words]
    return "-".join(parts)


def guess_title(text: str) -> str | None:
    """The first line, when it stands alone as a headline: short, no final full stop, followed by a blank line."""
    lines = text.lstrip().splitlines()
    if len(lines) >= 2 and lines[0].strip() and not lines[1].strip():
        first = lines[0].strip()
        if len(first) <= 150 and not first.endswith((".", "?", "!", '"', ":")):
            return first
    return None


def words_sha256(text: str) -> str:
    """The hash of a text's words with white space collapsed: two texts that differ only in spaces and
    line breaks (DEV-MUC3-0752 and -0756 differ in two trailing spaces) are one text twice."""
    return sha256_text(" ".join(text.split()))


@dataclass
class Article:
    source: str
    raw: str
    meta: dict
    keep_duplicate: bool = False  # a message of a distribution is a record even when another has its text


@dataclass
class Report:
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    near_duplicates: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def lines(self) -> Iterator[str]:
        for doc in self.added:
            yield f"added {doc}"
        yield from self.duplicates
        yield from self.near_duplicates
        yield from self.conflicts
        yield (
            f"{len(self.added)} added, {len(self.unchanged)} unchanged, {len(self.duplicates)} duplicate, "
            f"{len(self.near_duplicates)} near-duplicate, {len(self.conflicts)} conflicting"
        )


def read_sources(path: Path | None) -> dict[str, dict]:
    """Hand-written metadata (kind 'sources'), keyed by the sha256 of each raw file."""
    if path is None:
        return {}
    record = Reader().read(path, "sources")
    return {a["raw_sha256"]: a for a in record["articles"]}


def read_muc(path: Path, official: Path | None) -> Iterator[Article]:
    """The messages of a MUC-3/4 file (muc.py), each an article whose id the distribution gives."""
    def text_of(p: Path) -> str:
        try:
            return fileio.read_bytes(p).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProblemError(Problem(str(p), None, "/", "not-utf8", f"invalid UTF-8 at byte {e.start}")) from None

    try:
        messages = muc.read_messages(text_of(path), path.name, text_of(official) if official else None)
    except ValueError as e:
        raise ProblemError(Problem(str(path), None, "/", "bad-muc-file", f"not a MUC-3/4 message file as distributed: {e}")) from None
    for message, text, meta in messages:
        yield Article(f"{path.name}:{message.line}", text, meta, keep_duplicate=True)


def read_articles(sources: Iterable[Path], metadata: dict[str, dict]) -> Iterator[Article]:
    muc_files, sources = muc.find_files(list(sources))
    for path, official in muc_files:
        yield from read_muc(path, official)
    for src in fileio.iter_files(sources, suffixes=(".txt", ".jsonl")):
        if src.suffix == ".jsonl":
            for n, obj in fileio.iter_jsonl(src):
                if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
                    raise ProblemError(Problem(f"{src}:{n}", None, "/text", "missing-field", "each line needs a non-empty 'text'"))
                if len(obj["text"].encode("utf-8", "surrogatepass")) > MAX_ARTICLE_BYTES:
                    raise ProblemError(Problem(f"{src}:{n}", None, "/text", "too-large",
                                               f"the article is over {MAX_ARTICLE_BYTES} bytes (the ceiling; see docs/safety.md)"))
                problems = check_fields(obj, f"{src}:{n}", "Document", ("text",) + LINE_FIELDS)
                if problems:  # typed as the corpus record types them, before a value is used
                    raise ProblemError(problems)
                meta = {k: obj[k] for k in LINE_FIELDS if k in obj}
                yield Article(f"{src.name}:{n}", obj["text"], meta)
            continue
        try:
            size = src.stat().st_size
        except OSError:
            size = 0  # read_bytes reports it
        if size > MAX_ARTICLE_BYTES:
            raise ProblemError(Problem(str(src), None, "/", "too-large",
                                       f"the article is {size} bytes, over the {MAX_ARTICLE_BYTES}-byte ceiling (see docs/safety.md)"))
        data = fileio.read_bytes(src)
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProblemError(Problem(str(src), None, "/", "not-utf8", f"invalid UTF-8 at byte {e.start}")) from None
        if not raw.strip():
            raise ProblemError(Problem(str(src), None, "/", "empty-file", "the article is empty"))
        meta = dict(metadata.get(hashlib.sha256(data).hexdigest(), {}))
        meta.pop("raw_sha256", None)
        meta.pop("file", None)
        yield Article(src.name, raw, meta)


def make_record(article: Article) -> dict:
    """A corpus record from an article and its metadata; pure."""
    text, removed = clean(article.raw)
    meta = article.meta
    inferred = dict(meta.get("inferred") or {})
    title = meta.get("title")
    if title is None and "title" not in meta:
        title = guess_title(text)
        if title:
            inferred.setdefault("title", "the article's first line, set apart as a headline")
    language = meta.get("language")
    if not language:
        language = "en"
        inferred.setdefault("language", "no language given; English assumed")
    published = meta.get("published")
    doc_id = meta.get("id") or "-".join(
        p for p in (published or "undated", slugify(title or text)) if p
    )
    record = {
        "kind": "document",
        "schema_version": load_ontology().version,
        "id": doc_id,
        "title": title,
        "outlet": meta.get("outlet"),
        "published": published,
        "language": language,
        "url": meta.get("url"),
        "text": text,
        "raw_text": article.raw,
        "sha256": sha256_text(text),
        "raw_sha256": sha256_text(article.raw),
        "inferred": inferred,
        "removed": removed,
        "source_file": article.source,
    }
    if "muc" in meta:
        record["muc"] = meta["muc"]
    return record


def ingest(sources: list[Path], out_dir: Path, metadata_path: Path | None = None) -> Report:
    """Write one record per new article into out_dir; existing identical records are left alone."""
    metadata = read_sources(metadata_path)
    out_dir = Path(out_dir)
    existing: dict[str, str] = {}  # doc id -> sha256
    by_hash: dict[str, str] = {}
    seen_shingles: dict[str, set[int]] = {}
    sketches = SketchIndex()
    reader = Reader(out_dir)
    for path in sorted(out_dir.glob("*.json")) if out_dir.exists() else []:
        rec = reader.read(path, "document")
        existing[rec["id"]] = rec["sha256"]
        by_hash.setdefault(words_sha256(rec["text"]), rec["id"])
        seen_shingles[rec["id"]] = shingles(rec["text"])
        sketches.add(rec["id"], seen_shingles[rec["id"]])
    report = Report()
    for article in read_articles(sources, metadata):
        record = make_record(article)
        problems = check_record(record, article.source)
        if problems:  # checked before it becomes a file name: nothing is written for it
            raise UserError(problems[0].line() + ": fix the input (nothing written for it)")
        doc, digest = record["id"], record["sha256"]
        if existing.get(doc) == digest:
            report.unchanged.append(doc)
            continue
        if doc in existing:
            report.conflicts.append(
                f"conflict {doc}: {article.source} has a different text than corpus/{doc}.json; not overwritten"
            )
            continue
        same = by_hash.get(words_sha256(record["text"]))
        if same is not None:
            if not article.keep_duplicate:
                report.duplicates.append(f"duplicate {article.source}: same text as {same}; skipped")
                continue
            report.duplicates.append(f"duplicate {doc} = {same}: the same text (white space aside); added (each is a message of its distribution)")
        else:
            mine = shingles(record["text"])
            for other in sketches.candidates(mine):
                theirs = seen_shingles[other]
                jaccard = len(mine & theirs) / max(1, len(mine | theirs))
                if jaccard >= NEAR_DUPLICATE:
                    report.near_duplicates.append(
                        f"near-duplicate {doc} ~ {other}: {jaccard:.0%} of 5-word shingles shared; added, please review"
                    )
        fileio.write_json(fileio.inside(out_dir, f"{doc}.json"), record)
        existing[doc] = digest
        by_hash.setdefault(words_sha256(record["text"]), doc)
        seen_shingles[doc] = shingles(record["text"])
        sketches.add(doc, seen_shingles[doc])
        report.added.append(doc)
    return report
