"""validate: check record files in levels and report every problem with its address.

The checks themselves are in checks.py (shared with every command's reader); this verb
streams files through them one at a time, prints each problem as one line (or JSON) and
ends with a one-line summary.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import orjson

from . import io
from .checks import Validator
from .errors import Problem


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass
class Summary:
    files: int = 0
    records: int = 0
    errors: int = 0
    by_slug: dict[str, int] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        self.errors += 1
        self.by_slug[problem.slug] = self.by_slug.get(problem.slug, 0) + 1

    def line(self) -> str:
        if not self.errors:
            return f"ok: {_n(self.records, 'record')} in {_n(self.files, 'file')}, no errors"
        slugs = ", ".join(f"{k} {v}" for k, v in sorted(self.by_slug.items()))
        return f"{_n(self.errors, 'error')} in {_n(self.records, 'record')} in {_n(self.files, 'file')} ({slugs})"


def iter_problems(paths: Iterable[Path], corpus_dir: Path | str = "corpus", level: int = 3, summary: Summary | None = None) -> Iterator[Problem]:
    """Stream the problems of every record file under `paths`."""
    validator = Validator(corpus_dir, level)
    summary = summary if summary is not None else Summary()
    for path in io.iter_files(paths):
        n, problems = validator.check_file(path)
        summary.files += 1
        summary.records += n
        for p in problems:
            summary.add(p)
            yield p


def run(paths: Iterable[Path], corpus_dir: Path | str = "corpus", fmt: str = "text", level: int = 3, stream: IO = sys.stdout) -> Summary:
    """The CLI's work: print each problem as it is found, then a one-line summary."""
    summary = Summary()
    for problem in iter_problems(paths, corpus_dir, level, summary):
        if fmt == "json":
            stream.write(orjson.dumps(problem.as_dict()).decode() + "\n")
        else:
            stream.write(problem.line() + "\n")
    if fmt == "json":
        stream.write(orjson.dumps({"summary": summary.line(), "files": summary.files, "records": summary.records, "errors": summary.errors}).decode() + "\n")
    else:
        stream.write(summary.line() + "\n")
    return summary
