"""workers.beside: one function run in a forked process while the caller goes on."""

from __future__ import annotations

import os
import time

import pytest

from raidcorpus import workers
from raidcorpus.errors import UserError


def _pid_and(arg):
    return os.getpid(), arg * 2


def _fails(arg):
    raise ValueError(f"bad {arg}")


def _sleeps(path):
    time.sleep(30)
    path.write_text("still ran")


def _dies(arg):
    os._exit(3)


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_result_comes_back_and_runs_in_another_process_only_with_two_jobs(jobs):
    with workers.beside(_pid_and, 21, jobs, "died") as result:
        pid, value = result()
    assert value == 42
    assert (pid != os.getpid()) == (jobs > 1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_error_is_raised_where_the_result_is_asked_for(jobs):
    with workers.beside(_fails, 7, jobs, "died") as result:
        with pytest.raises(ValueError, match="bad 7"):
            result()


def test_leaving_the_block_early_ends_the_process(tmp_path):
    mark = tmp_path / "mark"
    started = time.monotonic()
    with pytest.raises(RuntimeError):
        with workers.beside(_sleeps, mark, 2, "died"):
            raise RuntimeError("the caller failed first")
    assert time.monotonic() - started < 10
    time.sleep(0.5)
    assert not mark.exists()


def test_a_process_that_dies_is_one_line():
    with workers.beside(_dies, None, 2, "a worker died") as result:
        with pytest.raises(UserError, match="a worker died"):
            result()
