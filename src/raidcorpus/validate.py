"""validate: check record files in levels and report every problem with its address.

The checks themselves are in checks.py (shared with every command's reader); this verb
streams files through them one at a time, prints each problem as one line (or JSON) and
ends with a one-line summary.

With more than one job and at least FORK_AT files, runs of RUN_FILES files in listing order
are checked in worker processes forked once the schema is compiled and the corpus listed, and
their problems come back, and are printed, in listing order. A worker checks each run as a
new validator would; the few things a validator keeps between files (the records kept to find
a second record with the same document id or annotator layer) are merged here, run by run: a
file whose record has the same key as a record of an earlier run is checked again here, with
everything kept before it. The output is the same whatever the number of jobs.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from itertools import chain, islice
from typing import IO, Iterable, Iterator

import orjson

from . import fileio
from .checks import Validator, compiled
from .errors import Problem
from .ontology import load as load_ontology

RUN_FILES = 100  # files a worker checks at a time
FORK_AT = 1000  # fewer files are checked in this process: forking would cost more than it saves
WORKER_DIED = "validate: a worker process died (killed, or out of memory?); run again, or with --jobs 1"


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


def iter_problems(paths: Iterable[Path], corpus_dir: Path | str = "corpus", level: int = 3,
                  summary: Summary | None = None, jobs: int | None = 1) -> Iterator[Problem]:
    """Stream the problems of every record file under `paths`, in listing order. `jobs` worker
    processes (None: one per CPU) check them when there are at least FORK_AT files."""
    validator = Validator(corpus_dir, level, near_duplicates=True)
    summary = summary if summary is not None else Summary()
    files = fileio.iter_files(paths)
    jobs = jobs or os.cpu_count() or 1
    first = list(islice(files, FORK_AT if jobs > 1 else 0))
    if len(first) < FORK_AT:
        checked = map(validator.check_file, chain(first, files))
    else:
        checked = _in_workers(validator, chain(first, files), jobs)
    for n, problems in checked:
        summary.files += 1
        summary.records += n
        for p in problems:
            summary.add(p)
            yield p


def _check_run(validator: Validator, paths: list[Path]) -> list[tuple[int, list[Problem], list]]:
    """(records, problems, records kept to find duplicates) of each file of a run, checked as by a new validator."""
    validator.forget_seen()
    out = []
    try:
        for path in paths:
            validator.noted = []
            n, problems = validator.check_file(path)
            out.append((n, problems, validator.noted))
    finally:
        validator.noted = None
    return out


def _runs(files: Iterable[Path], taken: list[list[Path]]) -> Iterator[list[Path]]:
    """Runs of RUN_FILES files, each also kept in `taken` until its result comes back."""
    files = iter(files)
    while run := list(islice(files, RUN_FILES)):
        taken.append(run)
        yield run


def _in_workers(validator: Validator, files: Iterable[Path], jobs: int) -> Iterator[tuple[int, list[Problem]]]:
    """(records, problems) of each file, checked by runs in `jobs` forked workers, in order.

    `validator` keeps what every record before the current one left (as the one validator of a
    run in one process would): a worker's result is taken as it is unless the file has the first
    record of its run under some key that `validator` already keeps for another file; that file
    is checked again here (its duplicate is reported, and the checks a duplicate stops are skipped)."""
    from . import workers  # here: the process pool's modules cost every run of one process 5 ms

    compiled()  # the schema, ontology and corpus listing made once, before the fork, for every worker
    load_ontology()
    if validator.level >= 2:
        validator.doc_ids()
    taken: list[list[Path]] = []
    for results in workers.in_order(_check_run, validator, _runs(files, taken), jobs, WORKER_DIED):
        run = taken.pop(0)
        in_run: set = set()
        for path, (n, problems, noted) in zip(run, results):
            if any((is_doc, key) not in in_run and validator.kept(is_doc, key) not in (None, where)
                   for is_doc, key, where in noted):
                validator.noted = []
                n, problems = validator.check_file(path)
                noted, validator.noted = validator.noted, None
            else:
                for is_doc, key, where in noted:
                    validator.keep(is_doc, key, where)
            in_run.update((is_doc, key) for is_doc, key, _ in noted)
            yield n, problems


def run(paths: Iterable[Path], corpus_dir: Path | str = "corpus", fmt: str = "text", level: int = 3,
        stream: IO = sys.stdout, jobs: int | None = 1) -> Summary:
    """The CLI's work: print each problem as it is found, then a one-line summary."""
    summary = Summary()
    for problem in iter_problems(paths, corpus_dir, level, summary, jobs):
        if fmt == "json":
            stream.write(orjson.dumps(problem.as_dict()).decode() + "\n")
        else:
            stream.write(problem.line() + "\n")
    if fmt == "json":
        stream.write(orjson.dumps({"summary": summary.line(), "files": summary.files, "records": summary.records, "errors": summary.errors}).decode() + "\n")
    else:
        stream.write(summary.line() + "\n")
    return summary
