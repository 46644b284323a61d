"""A smoke run of the benchmark harness: small N, the rows that need no server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_quick_validate_rows(tmp_path):
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--only", "validate", "--no-write", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "synth 300 docs" in run.stdout
    rows = [line for line in run.stdout.splitlines() if line.startswith("validate 300")]
    assert len(rows) == 3, run.stdout
    assert (tmp_path / "synth-300" / ".stamp").exists()
