"""Work over runs of items in forked worker processes, results in run order (build, validate,
status, synth), and partner processes that keep what they made until told what to do with it
(convert).

`in_order(fn, context, runs, jobs)` is the one parallel path: with one job it is a plain loop,
`fn(context, run)` for each run, here; with more, the same calls in `jobs` forked processes, each
given `fn` and `context` when it is forked (inherited, not pickled), the results in run order. Nothing
else differs, so `--jobs 1` is the reference the other counts are tested against.

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
    reach (its passes in a worker would write to every page they sit on); each ended on the way out."""
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
