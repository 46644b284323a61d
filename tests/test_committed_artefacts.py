"""Every generated or derived file that is committed is checked here, so `make test` fails when one is stale.

The repository itself must pass `validate`, `docs --check` (GUIDELINES.md and DATASHEET.md generated
blocks, docs/cli.md), `ls-config --check` and `adjudicate --check` (every gold layer is reproduced
byte for byte from its layers and decisions); the release manifests are checked by
test_repository_dataset.py. Each check is also shown to fail on a copy with one thing made stale.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {
    "validate": ["validate"],
    "docs": ["docs", "--check"],
    "ls-config": ["ls-config", "--check", "--out", "labelstudio/config.xml"],
    "adjudicate": ["adjudicate", "--check"],
}


def cli(args, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "raidcorpus.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_the_repository_passes(name):
    proc = cli(CHECKS[name], ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.fixture
def copy(tmp_path) -> Path:
    """The parts of the repository the checks read, copied to break."""
    for name in ("corpus", "annotations", "schema", "labelstudio", "docs"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("raw"))
    for name in ("GUIDELINES.md", "DATASHEET.md", "splits.yaml", "CHANGELOG.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def test_a_stale_datasheet_block_fails_docs_check(copy):
    path = copy / "DATASHEET.md"
    text = path.read_text(encoding="utf-8")
    begin = text.index("<!-- BEGIN GENERATED: datasheet-counts -->\n") + len("<!-- BEGIN GENERATED: datasheet-counts -->\n")
    path.write_text(text[:begin] + "Annotation counts over 99 documents.\n" + text[text.index("<!-- END GENERATED: datasheet-counts -->"):],
                    encoding="utf-8")
    proc = cli(CHECKS["docs"], copy)
    assert proc.returncode == 1 and "DATASHEET.md" in proc.stderr, proc.stdout + proc.stderr


def test_changed_gold_data_makes_the_datasheet_stale(copy):
    gold = next((copy / "annotations").glob("*/gold.json"))
    assert cli(CHECKS["docs"], copy).returncode == 0
    gold.unlink()
    proc = cli(CHECKS["docs"], copy)
    assert proc.returncode == 1 and "DATASHEET.md" in proc.stderr, proc.stdout + proc.stderr


def test_a_removed_decision_fails_adjudicate_check(copy):
    path = next(p for p in sorted((copy / "annotations").glob("*/decisions.yaml")))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if line.startswith("- id:"))
    end = next((i for i in range(first + 1, len(lines)) if lines[i].startswith("- id:")), len(lines))
    path.write_text("".join(lines[:first] + lines[end:]), encoding="utf-8")
    proc = cli(CHECKS["adjudicate"], copy)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "[undecided]" in proc.stderr or "stale" in proc.stderr, proc.stderr


def test_a_hand_edited_gold_layer_fails_adjudicate_check(copy):
    gold = next((copy / "annotations").glob("*/gold.json"))
    gold.write_text(gold.read_text(encoding="utf-8").replace('"status": "actual"', '"status": "attempted"', 1), encoding="utf-8")
    proc = cli(CHECKS["adjudicate"], copy)
    assert proc.returncode == 1 and "stale" in proc.stderr, proc.stdout + proc.stderr


def test_a_stale_label_studio_config_fails_ls_config_check(copy):
    config = copy / "labelstudio" / "config.xml"
    config.write_text(config.read_text(encoding="utf-8").replace('value="Raid"', 'value="Raids"', 1), encoding="utf-8")
    proc = cli(CHECKS["ls-config"], copy)
    assert proc.returncode != 0, proc.stdout + proc.stderr


def test_a_broken_record_fails_validate(copy):
    layer = next((copy / "annotations").glob("*/annotator-1.json"))
    layer.write_text(layer.read_text(encoding="utf-8").replace('"type": "PER"', '"type": "PERSON"', 1), encoding="utf-8")
    proc = cli(CHECKS["validate"], copy)
    assert proc.returncode == 1 and "[unknown-type]" in proc.stdout, proc.stdout + proc.stderr


def test_the_code_passes_ruff():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: pip install '.[test]'"
    proc = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
