"""Reading score inputs: one JSON value or JSON Lines, every fault one addressed line.

Scorers read files other tools wrote (GRIT's predictions, TextEE lines, REE rows), so a wrong
shape must name its file, line, document and JSON pointer with a catalogued slug, never end in
a traceback. The JSON Lines reader is the project's own (fileio.iter_jsonl).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import fileio
from ..errors import Problem, ProblemError, pointer

# A row address: "file:line" for JSON Lines, "file" for a single JSON value.
Row = tuple[str, Any]


def fail(where: str, doc: str | None, parts, slug: str, message: str) -> ProblemError:
    return ProblemError(Problem(where, doc, pointer(parts), slug, message))


def read_rows(path: Path) -> list[Row]:
    """The rows of a JSON Lines file, or the one value of a JSON file (a `.json` file may be either:
    GRIT names its JSON Lines files `.json`)."""
    if path.suffix == ".jsonl":
        rows = [(f"{path}:{n}", obj) for n, obj in fileio.iter_jsonl(path)]
        if not rows:
            raise ProblemError(Problem(str(path), None, "/", "empty-file", "the file has no JSON lines"))
        return rows
    data = fileio.read_bytes(path)
    try:
        return [(str(path), fileio.parse_json(path, data))]
    except fileio.ReadError as e:
        if e.problem.slug == "not-utf8":  # named by its line, as in a JSON Lines file
            bad = _first_bad_byte(data)
            line = data[:bad].count(b"\n") + 1
            raise ProblemError(Problem(f"{path}:{line}", None, "/", "not-utf8", f"invalid UTF-8 at byte {bad}")) from None
        if e.problem.slug != "trailing-garbage":
            raise
    return [(f"{path}:{n}", obj) for n, obj in fileio.iter_jsonl(path)]


def _first_bad_byte(data: bytes) -> int:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return 0


def files_of(path: Path, suffixes: tuple[str, ...], side: str) -> list[Path]:
    """The file, or the files with one of `suffixes` in a folder (sorted); a missing path is a UserError."""
    if not path.exists():
        raise ProblemError(Problem(str(path), None, "/", "unreadable-file", f"no such file or folder (--{side})"))
    if path.is_file():
        return [path]
    found = sorted(f for f in path.rglob("*") if f.is_file() and f.suffix in suffixes)
    if not found:
        raise ProblemError(Problem(str(path), None, "/", "unreadable-file", f"no {'/'.join(suffixes)} file in the folder (--{side})"))
    return found


def expect(value, kind: type | tuple[type, ...], where: str, doc: str | None, parts, what: str):
    """`value` if it is of `kind`, else a [wrong-type] problem naming what was expected."""
    if isinstance(value, bool) or not isinstance(value, kind):
        raise fail(where, doc, parts, "wrong-type", f"{what}, not {type(value).__name__}")
    return value
