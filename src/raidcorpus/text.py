"""Text rules: how an article's text is hashed, what is removed from a raw text, where words end.

Every command that hashes a text, strips furniture from a raw article or asks whether a span cuts
a word uses these functions, so that ingest, the checks, convert and rehydrate cannot disagree.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import zlib

# name -> (pattern matched against one line without its line break, why it goes)
REMOVAL_RULES: dict[str, tuple[re.Pattern, str]] = {
    "site-boilerplate": (
        re.compile(
            r"^\s*(IE ?\d+ is not supported\b.*|.*\bfor an optimal experience visit our site on another browser\.?"
            r"|Advertisement|Skip to (main )?content|Please enable JavaScript.*)\s*$",
            re.IGNORECASE,
        ),
        "web-site furniture copied with the article, not written by its author",
    ),
    "social-embed": (
        re.compile(r"(pic\.twitter\.com/\S+|^\s*[—-]\s.*\(@\w{1,15}\)\s.*\d{4}\D*$)"),
        "an embedded social-media post (text with a pic.twitter.com link, or its '— Name (@handle) date' line)",
    ),
    "muc-message-id": (
        re.compile(r"^(DEV|TST[1-4])-MUC[34]-\d{4}([ \t]+\([^)]*\))?[ \t]*$"),
        "the id line a MUC-3/4 file opens each message with (kept in the record as muc.message_id)",
    ),
}


SHINGLE = 5  # words
NEAR_DUPLICATE = 0.8  # Jaccard similarity of two texts' shingles from which they are near duplicates


def sha256_text(text: str) -> str:
    """The hash that ties records to their text: sha256 of the UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def clean(raw: str) -> tuple[str, list[dict]]:
    """Apply REMOVAL_RULES line by line; return the text and the removed ranges (raw offsets).

    A removed line takes its line break with it, and so do the blank lines that follow it,
    so no gap of empty lines is left where it stood.
    """
    lines = raw.splitlines(keepends=True)
    removed: list[dict] = []
    kept: list[str] = []
    pos = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        body = line.rstrip("\r\n")
        rule = next((name for name, (rx, _) in REMOVAL_RULES.items() if rx.search(body)), None)
        if rule is None:
            kept.append(line)
            pos += len(line)
            i += 1
            continue
        start = pos
        pos += len(line)
        i += 1
        while i < len(lines) and not lines[i].strip():
            pos += len(lines[i])
            i += 1
        removed.append({"start": start, "end": pos, "rule": rule})
    return "".join(kept), removed


def apply_removed(raw: str, removed: list[dict]) -> str:
    """The text a record's removed ranges leave of its raw text (what clean returned, recomputed by the checks)."""
    out, pos = [], 0
    for r in sorted(removed, key=lambda r: r["start"]):
        out.append(raw[pos : r["start"]])
        pos = r["end"]
    out.append(raw[pos:])
    return "".join(out)



def inside_word(text: str, offset: int) -> bool:
    """True when `offset` falls between two letters or digits of one word."""
    return 0 < offset < len(text) and text[offset - 1].isalnum() and text[offset].isalnum()


def word_around(text: str, start: int, end: int) -> str:
    """The whole word (or words) a span cut from, for a message that shows what was cut."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return text[start:end]


def span_fits(start, end, length: int) -> bool:
    """True when start and end are integers that make a non-empty span inside a text of `length` code
    points: the one bound check of offsets (records, Label Studio results, standoff rows, token spans)."""
    return type(start) is int and type(end) is int and 0 <= start < end <= length


def shingles(text: str) -> set[int]:
    """The text's 5-word shingles (lower case), each as a CRC-32: the same numbers in every process."""
    words = re.findall(r"\w+", text.lower())
    return {zlib.crc32(" ".join(words[i : i + SHINGLE]).encode("utf-8")) for i in range(max(1, len(words) - SHINGLE + 1))}


class SketchIndex:
    """Bottom-k sketches of shingle sets (the SKETCH smallest), indexed by value: two texts sharing 80%
    of their shingles share most of their sketches, so a quarter of a sketch in common makes a
    candidate, which the caller measures exactly. Memory is SKETCH entries a document. At 1,703
    documents, all pairs took 196 s; this found the same six pairs in 2.2 s."""

    SKETCH = 16

    def __init__(self) -> None:
        self.postings: dict[int, list[str]] = {}

    def candidates(self, mine: set[int]) -> list[str]:
        sketch = heapq.nsmallest(self.SKETCH, mine)
        shared: dict[str, int] = {}
        for h in sketch:
            for other in self.postings.get(h, ()):
                shared[other] = shared.get(other, 0) + 1
        need = max(1, len(sketch) // 4)
        return sorted(d for d, n in shared.items() if n >= need)

    def add(self, doc: str, mine: set[int]) -> None:
        for h in heapq.nsmallest(self.SKETCH, mine):
            self.postings.setdefault(h, []).append(doc)
