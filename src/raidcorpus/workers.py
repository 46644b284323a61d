"""Work over runs of items in forked worker processes, results in run order (build, validate,
status, synth).

`in_order(fn, context, runs, jobs)` is the one parallel path: with one job it is a plain loop,
`fn(context, run)` for each run, here; with more, the same calls in `jobs` forked processes, each
given `fn` and `context` when it is forked (inherited, not pickled), the results in run order. Nothing
else differs, so `--jobs 1` is the reference the other counts are tested against.

An executor, not multiprocessing.Pool: on an error the pool's terminate() kills workers, and one
killed while it held the lock of the result queue left the pool waiting for ever. The executor
cancels the runs not started and lets the running ones (at most one per worker) end.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Callable, Iterable, Iterator

from .errors import UserError

AHEAD = 3  # runs out per worker at once: enough to keep it busy, few enough that results do not pile up

_WORK: tuple | None = None  # in a worker process: (fn, context), given when it was forked (see in_order)


def _take_work(fn: Callable, context) -> None:
    global _WORK
    _WORK = (fn, context)


def _call(run):
    fn, context = _WORK
    return fn(context, run)


def in_order(fn: Callable, context, runs: Iterable, jobs: int, died: str) -> Iterator:
    """fn(context, run) for each run, in run order: here with one job, else in `jobs` forked
    processes with at most AHEAD runs per worker out at once (an unbounded map held every finished
    result in the parent when it was the slower side). A worker that dies is UserError(died)."""
    if jobs <= 1:
        for run in runs:
            yield fn(context, run)
        return
    fork = multiprocessing.get_context("fork")
    # fn and context reach the workers by the fork itself, never pickled: only runs and results are
    pool = ProcessPoolExecutor(jobs, mp_context=fork, initializer=_take_work, initargs=(fn, context))
    runs = iter(runs)
    pending = deque(pool.submit(_call, r) for r in islice(runs, jobs * AHEAD))
    try:
        while pending:
            result = pending.popleft().result()
            pending.extend(pool.submit(_call, r) for r in islice(runs, 1))
            yield result
    except BrokenProcessPool:
        raise UserError(died) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
