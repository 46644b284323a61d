"""The committed baseline predictions rescore to the figures baseline/README.md gives."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RAIDCORPUS = ROOT / ".venv" / "bin" / "raidcorpus"


def test_committed_baseline_predictions_rescore_to_the_published_table():
    readme = (ROOT / "baseline" / "README.md").read_text()
    row = re.search(r"^\| this baseline[^|]*\| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", readme, re.M)
    assert row, "baseline/README.md has no results row for the baseline"
    run = subprocess.run(
        [str(RAIDCORPUS), "score", "--metric", "ree", "--gold", "sources/grit/test.json",
         "--pred", "baseline/preds-test.json", "--format", "json"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    micro = next(s for s in json.loads(run.stdout)["scores"] if s["role"] == "micro")
    assert [round(100 * micro[k], 2) for k in ("precision", "recall", "f1")] == [float(x) for x in row.groups()]


def test_the_dataset_card_gives_the_same_baseline_figures():
    card = (ROOT / "src" / "raidcorpus" / "templates" / "dataset_card_common.md").read_text()
    readme = (ROOT / "baseline" / "README.md").read_text()
    figures = re.search(r"^\| this baseline[^|]*(\| [\d.]+ \| [\d.]+ \| [\d.]+ \|)", readme, re.M).group(1)
    assert re.search(r"^\| spaCy NER baseline[^|]*" + re.escape(figures), card, re.M), "card and baseline/README.md disagree"
