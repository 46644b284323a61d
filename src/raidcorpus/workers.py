"""Work over runs of documents in forked worker processes, results in run order (build, status),
and partner processes that keep what they made until told what to do with it (convert).

An executor, not multiprocessing.Pool: on an error the pool's terminate() kills workers, and one
killed while it held the lock of the result queue left the pool waiting for ever. The executor
cancels the runs not started and lets the running ones (at most one per worker) end.
"""

from __future__ import annotations

import gc
import multiprocessing
import traceback
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import islice
from typing import Callable, Generator, Iterable, Iterator

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


@contextmanager
def beside(fn: Callable, arg, jobs: int, died: str) -> Iterator[Callable]:
    """fn(arg) in one forked process (a Partner) while the caller goes on with other work; yields a
    function that waits for its result (with one job, fn runs here when the result is asked for).
    An error in fn is raised where the result is asked for; leaving the block early ends the process."""
    if jobs <= 1:
        yield lambda: fn(arg)
        return
    partner = Partner(_once, (fn, arg), died)

    def result():
        try:
            return partner.answer()
        finally:
            partner.end()  # its pipe closed, so processes forked later do not inherit it

    try:
        yield result
    finally:
        partner.end()


def _once(job: tuple) -> Iterator:
    fn, arg = job
    yield fn(arg)


class Partner:
    """A forked process that runs a generator, `fn(arg)`, one step at a time: each value it yields
    comes back to the parent (`answer`), and the parent's next message (`tell`) is what the yield
    returns in the process. So a worker can make its share of a result, send back only what the
    parent needs to decide, and keep the rest (the bytes of files) until the parent says what to do
    with it: nothing leaves the worker, nor is written by it, before the parent has said so.

    A worker that dies is UserError(died); an exception in it is raised again in the parent (its
    traceback a note). Closing (`end`, or leaving `partners`) before anything was told stops the
    process at once: it has only worked in memory. After a message, the process is waited for: it
    may be writing, and a file is never cut short."""

    def __init__(self, fn: Callable[..., Generator], arg, died: str):
        context = multiprocessing.get_context("fork")
        self.conn, theirs = context.Pipe()
        self.died = died
        self.told = False
        _OURS.add(self.conn)
        self.process = context.Process(target=_partner_run, args=(fn, arg, theirs), daemon=True)
        self.process.start()
        theirs.close()

    def answer(self):
        """The next value the worker yields (waits for it)."""
        try:
            tag, value = self.conn.recv()
        except (EOFError, OSError):
            raise UserError(self.died) from None
        if tag == "error":
            raise value
        return value

    def tell(self, message) -> None:
        """Send `message` to the worker (what its generator's yield returns there)."""
        self.told = True
        try:
            self.conn.send(message)
        except OSError:
            raise UserError(self.died) from None

    def end(self) -> None:
        if not self.told and self.process.is_alive():
            self.process.terminate()
        _OURS.discard(self.conn)
        self.conn.close()  # the worker's next read ends: it is the only other holder of the pipe
        self.process.join()


_OURS: set = set()  # the parent's ends of the partners' pipes, closed in each partner forked later


def _partner_run(fn: Callable[..., Generator], arg, conn) -> None:
    """In the worker: step the generator fn(arg), each yielded value sent to the parent and each of
    its messages sent in, until the generator ends or the parent goes away (then quietly)."""
    for end in _OURS:  # copies of the parent's ends, which would keep its closing from reaching us
        end.close()
    _OURS.clear()
    try:
        try:
            steps = fn(arg)
            value = next(steps)
            while True:
                conn.send(("ok", value))
                message = conn.recv()
                value = steps.send(message)
        except (StopIteration, EOFError, BrokenPipeError):
            return  # done, or the parent stopped listening: nothing more to say
        except BaseException as e:  # noqa: BLE001 (sent to the parent, which raises it)
            e.add_note("in a worker process:\n" + "".join(traceback.format_exception(e)))
            try:
                conn.send(("error", e))
            except (BrokenPipeError, EOFError):
                raise
            except Exception:  # an exception that does not pickle: its text
                conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}\n{e.__notes__[-1]}")))
    except (BrokenPipeError, EOFError):
        return


@contextmanager
def partners(fn: Callable[..., Generator], args: Iterable, died: str) -> Iterator[list[Partner]]:
    """A Partner running fn(arg) for each arg, forked with the parent's objects out of the collector's
    reach (see forked); each ended on the way out."""
    outer = gc.get_freeze_count() > 0
    gc.collect()
    gc.freeze()
    started: list[Partner] = []
    try:
        for arg in args:
            started.append(Partner(fn, arg, died))
        arg = None  # the last one's data is the workers' now: not held here
        yield started
    finally:
        try:
            for partner in started:
                partner.end()
        finally:
            if not outer:
                gc.unfreeze()
