"""workers.in_order: the one parallel path, a plain loop with one job."""

from __future__ import annotations

import os

import pytest

from raidcorpus import workers
from raidcorpus.errors import UserError


def _pid_and(context, run):
    return os.getpid(), [context * x for x in run]


def _fails(context, run):
    if 3 in run:
        raise ValueError(f"bad {run}")
    return run


def _dies(context, run):
    os._exit(3)


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_back_in_run_order_with_the_context(jobs):
    runs = [[i, i + 1] for i in range(0, 40, 2)]
    got = list(workers.in_order(_pid_and, 10, runs, jobs, "died"))
    assert [r for _, r in got] == [[10 * x for x in run] for run in runs]
    pids = {pid for pid, _ in got}
    assert (pids == {os.getpid()}) == (jobs == 1), "one job runs here; more run in other processes"


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_in_a_run_is_raised_in_the_caller(jobs):
    with pytest.raises(ValueError, match=r"bad \[3\]"):
        list(workers.in_order(_fails, None, [[1], [2], [3], [4]], jobs, "died"))


def test_a_worker_that_dies_is_one_line():
    with pytest.raises(UserError, match="a worker died"):
        list(workers.in_order(_dies, None, [[1], [2]], 2, "a worker died"))


def test_the_function_and_context_are_not_pickled():
    """A local function and an unpicklable context reach the workers by the fork itself."""
    lock = __import__("threading").Lock()  # does not pickle

    def local(context, run):
        return [x + 1 for x in run] if context is lock else None

    assert list(workers.in_order(local, lock, [[1], [2, 3]], 2, "died")) == [[2], [3, 4]]
