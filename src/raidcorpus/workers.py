"""Work over runs of documents in forked worker processes, results in run order (build, status).

An executor, not multiprocessing.Pool: on an error the pool's terminate() kills workers, and one
killed while it held the lock of the result queue left the pool waiting for ever. The executor
cancels the runs not started and lets the running ones (at most one per worker) end.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import islice
from typing import Callable, Iterable, Iterator

from .errors import UserError


@contextmanager
def forked(jobs: int) -> Iterator[ProcessPoolExecutor | None]:
    """An executor of `jobs` forked processes, or None for one job (the work then runs here).

    The parent's objects are moved out of the collector's reach first: its passes in a worker
    would otherwise write to every page they sit on (copy-on-write). A caller that had frozen
    objects already (io.gc_frozen) keeps them frozen: only a freeze made here is undone here."""
    if jobs <= 1:
        yield None
        return
    outer = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"))
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)
    finally:
        if not outer:
            gc.unfreeze()


def in_order(pool: ProcessPoolExecutor | None, fn: Callable, runs: Iterable, ahead: int, died: str) -> Iterator:
    """fn(run) for each run, in run order: in the pool's workers with at most `ahead` runs out at
    once, so that finished results do not pile up in the parent when it is the slower side (an
    unbounded map held them all), or here without a pool. A worker that dies is UserError(died)."""
    if pool is None:
        yield from map(fn, runs)
        return
    runs = iter(runs)
    pending = deque(pool.submit(fn, r) for r in islice(runs, ahead))
    try:
        while pending:
            result = pending.popleft().result()
            pending.extend(pool.submit(fn, r) for r in islice(runs, 1))
            yield result
    except BrokenProcessPool:
        raise UserError(died) from None
    finally:
        for future in pending:
            future.cancel()


def later(pool: ProcessPoolExecutor | None, fn: Callable, arg, died: str) -> Callable:
    """fn(arg) in a worker beside the runs (here, at once, without a pool); returns a function
    that waits for its result. A worker that dies is UserError(died)."""
    if pool is None:
        value = fn(arg)
        return lambda: value
    future: Future = pool.submit(fn, arg)

    def wait():
        try:
            return future.result()
        except BrokenProcessPool:
            raise UserError(died) from None
    return wait


@contextmanager
def beside(fn: Callable, arg, jobs: int, died: str) -> Iterator[Callable]:
    """fn(arg) in one forked process while the caller goes on with other work; yields a function
    that waits for its result (with one job, fn runs here when the result is asked for). An error
    in fn is raised where the result is asked for; leaving the block early ends the process."""
    if jobs <= 1:
        yield lambda: fn(arg)
        return
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_send_result, args=(fn, arg, send), daemon=True)
    process.start()
    send.close()

    def result():
        try:
            ok, value = recv.recv()
        except (EOFError, OSError):
            raise UserError(died) from None
        process.join()
        if not ok:
            raise value
        return value

    try:
        yield result
    finally:
        if process.is_alive():
            process.terminate()
        process.join()
        recv.close()


def _send_result(fn: Callable, arg, send) -> None:
    try:
        reply = (True, fn(arg))
    except BaseException as e:  # carried to the parent, raised where it asks for the result
        reply = (False, e)
    send.send(reply)
    send.close()
