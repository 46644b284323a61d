"""The guidelines quote no test document: eight or more consecutive words of one fail the check.

Guidelines written on the test set teach the annotators (and whoever reads them) its answers,
so a score on that set no longer measures anything (issue 27). The check compares words, not
characters: both sides are lower-cased and every run of characters other than letters and
digits is one separator, so case, punctuation, line breaks and FBIS capitals do not hide a quote.

Which documents are the test split: while the corpus does not hold the MUC-4 test messages
yet, the TST3 and TST4 messages read from sources/muc34; once splits.yaml lists MUC messages
under `test`, every document listed there, read from its corpus/ record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from . import fileio
from .errors import Problem, UserError

RUN = 8  # words: the shortest quote that fails the check
MUC_TEST = ("sources/muc34/TASK/CORPORA/tst3/tst3-muc4", "sources/muc34/TASK/CORPORA/tst4/tst4-muc4")
MUC_ID = re.compile(r"^(TST\d-MUC4-\d{4})\s*$", re.M)
WORD = re.compile(r"[^\W_]+")  # letters and digits; everything else separates


def words(text: str) -> list[tuple[str, int]]:
    """The words of a text, lower-cased, each with its character offset."""
    return [(m.group().lower(), m.start()) for m in WORD.finditer(text)]


def split_messages(text: str) -> dict[str, str]:
    """MUC messages of one file (an id line, then the message up to the next id line), keyed by
    corpus id (the message id lower-cased)."""
    heads = list(MUC_ID.finditer(text))
    return {h.group(1).lower(): text[h.end():(heads[i + 1].start() if i + 1 < len(heads) else len(text))]
            for i, h in enumerate(heads)}


def read_test_split(root: Path) -> dict[str, str]:
    """The texts of the test split, keyed by document id (see the module docstring for which)."""
    splits_path = root / "splits.yaml"
    listed = []
    if splits_path.exists():
        listed = list((fileio.read_yaml(splits_path) or {}).get("splits", {}).get("test") or [])
    if any(MUC_ID.match(doc.upper()) for doc in listed):
        texts = {}
        for doc in listed:
            record_path = root / "corpus" / f"{doc}.json"
            if not record_path.exists():
                raise UserError(f"{splits_path} lists test document {doc}, but {record_path} does not exist")
            texts[doc] = fileio.read_json(record_path)["text"]
        return texts
    texts = {}
    for rel in MUC_TEST:
        path = root / rel
        if not path.exists():
            raise UserError(f"{path} does not exist: the MUC-4 test messages the check compares against")
        texts.update(split_messages(path.read_text(encoding="ascii")))
    return texts


@dataclass(frozen=True)
class Quote:
    """A run of RUN or more words of a checked file found in one test document."""

    path: str
    line: int
    doc: str
    text: str  # the run as the checked file writes it
    length: int  # in words


def find_quotes(text: str, documents: dict[str, str], path: str = "GUIDELINES.md") -> list[Quote]:
    """Every maximal run of RUN or more consecutive words of `text` that a test document also has."""
    where: dict[tuple[str, ...], str] = {}
    for doc in sorted(documents):
        tokens = [w for w, _ in words(documents[doc])]
        for i in range(len(tokens) - RUN + 1):
            where.setdefault(tuple(tokens[i:i + RUN]), doc)
    own = words(text)
    tokens = [w for w, _ in own]
    quotes, i = [], 0
    while i <= len(tokens) - RUN:
        doc = where.get(tuple(tokens[i:i + RUN]))
        if doc is None:
            i += 1
            continue
        end = i + RUN  # extend the run while the next window is in the same document
        while end < len(tokens) and where.get(tuple(tokens[end - RUN + 1:end + 1])) == doc:
            end += 1
        start_char, last = own[i][1], own[end - 1]
        quotes.append(Quote(path, text.count("\n", 0, start_char) + 1, doc,
                            " ".join(text[start_char:last[1] + len(last[0])].split()), end - i))
        i = end
    return quotes


def check(root: Path, paths: list[Path]) -> list[Problem]:
    """One problem per quote of a test document in the given files (relative to root)."""
    documents = read_test_split(root)
    problems = []
    for rel in paths:
        path = root / rel
        if not path.exists():
            raise UserError(f"{path} does not exist")
        for q in find_quotes(path.read_text(encoding="utf-8"), documents, str(rel)):
            problems.append(Problem(f"{q.path}:{q.line}", q.doc, "", "quotes-test-document",
                                    f"{q.length} consecutive words of test document {q.doc}: \"{q.text}\""))
    return problems
