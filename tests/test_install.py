"""The package as users get it: a wheel that works outside the repository, a core that works without
the dataset stack, and exact versions kept in constraints.txt rather than in the package metadata."""

from __future__ import annotations

import json
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from raidcorpus import fileio
from raidcorpus.dataset import release
from raidcorpus.cli import DATASET_STACK, DATASET_HINT

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "build"
# The commands that need the dataset extra, with arguments that get them past option parsing.
DATASET_COMMANDS = {
    "build": ["build", "--version", "0.1.0"],
    "summary": ["summary", "dist/x"],
    "export": ["export", "--format", "brat", "--out", "x"],
    "score": ["score", "--gold", "annotations", "--pred", "annotations"],
    "publish": ["publish", "--repo", "a/b", "--dry-run"],
    "rehydrate": ["rehydrate", "standoff", "corpus", "--out", "x"],
}


def clean_env(**extra) -> dict:
    """The environment without the test run's PYTHONPATH (a worktree's src/ must not leak in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "RAIDCORPUS_SCHEMA")}
    return {**env, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", **extra}


# --- the core without the dataset stack ---------------------------------------------------

BLOCKER = """
import sys
for name in {stack!r}:
    sys.modules[name] = None  # what Python does for a package that is not installed: import fails, find_spec is None
sys.argv = ["raidcorpus", *{args!r}]
from raidcorpus.cli import app
try:
    app()
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in {stack!r} and sys.modules[m] is not None)
    print("loaded:", loaded, file=sys.stderr)
"""


def without_stack(args, cwd: Path) -> subprocess.CompletedProcess:
    code = BLOCKER.format(stack=DATASET_STACK, args=[str(a) for a in args])
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


def _export_of(layer: Path, corpus: Path) -> list[dict]:
    """A Label Studio export holding one annotator layer, as `pull` would receive it."""
    from raidcorpus import convert

    record = fileio.read_json(layer)
    doc = fileio.read_json(corpus / f"{record['document']}.json")
    return [{"id": 1, "data": {"doc_id": doc["id"], "text": doc["text"], "sha256": doc["sha256"]},
             "annotations": [{"id": 1, "completed_by": 7, "result": convert.record_to_results(record)}]}]


@pytest.mark.parametrize("args", [
    ["validate"],
    ["ls-config", "--check"],
    ["agree"],
    ["adjudicate", "--check"],
    ["status"],
    ["docs", "--check"],
    ["--help"],
])
def test_core_commands_work_without_the_dataset_stack(args):
    proc = without_stack(args, ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "loaded: []" in proc.stderr


def test_convert_works_without_the_dataset_stack(tmp_path):
    layer = next((ROOT / "annotations").glob("*/annotator-1.json"))
    export = tmp_path / "export.json"
    export.write_text(json.dumps(_export_of(layer, ROOT / "corpus")), encoding="utf-8")
    proc = without_stack(["convert", export, "--annotations", tmp_path / "annotations", "--corpus", ROOT / "corpus"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "loaded: []" in proc.stderr
    written = next((tmp_path / "annotations").glob("*/annotator-1.json"))
    assert fileio.read_json(written)["entities"] == fileio.read_json(layer)["entities"]


def test_synth_ingest_and_the_checks_work_without_the_dataset_stack(tmp_path):
    """synth writes into a folder it owns (outdir, a dataset module that needs only the standard library)."""
    proc = without_stack(["synth", "--docs", "3", "--seed", "1", "--out", "synthetic"], tmp_path)
    assert proc.returncode == 0 and "loaded: []" in proc.stderr, proc.stdout + proc.stderr
    root = tmp_path / "synthetic"
    for args in (["validate"], ["agree"], ["status"]):
        proc = without_stack(args, root)
        assert proc.returncode == 0 and "loaded: []" in proc.stderr, (args, proc.stdout + proc.stderr)
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "one.txt").write_text("Police raided a flat in Verviers on Thursday.\n", encoding="utf-8")
    proc = without_stack(["ingest", "texts", "--out", "corpus"], tmp_path)
    assert proc.returncode == 0 and "loaded: []" in proc.stderr and len(list((tmp_path / "corpus").glob("*.json"))) == 1, proc.stdout + proc.stderr


@pytest.mark.parametrize("command", sorted(DATASET_COMMANDS))
def test_dataset_commands_without_the_stack_say_how_to_install_it(command, tmp_path):
    proc = without_stack(DATASET_COMMANDS[command], tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    error = proc.stderr.splitlines()[0]
    assert error.startswith(f"error: raidcorpus {command} needs the dataset extra (") and error.endswith(DATASET_HINT), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.splitlines()[1:] == ["loaded: []"]
    assert list(tmp_path.iterdir()) == []


# --- the wheel, installed outside the repository ------------------------------------------


def test_the_wheel_installed_elsewhere_runs_validate_ls_config_build_and_rehydrate(tmp_path):
    """Build the wheel from a copy of the sources (no network, no build isolation: the setuptools of
    the test environment), install it with --no-deps into a fresh virtual environment in a temporary
    folder, and run the commands from a folder with no checkout in sight. The environment has no pip
    and none of the dependencies of its own: a .pth file puts the test environment's site-packages
    after its own (added as a plain path, so the editable install there is not seen), which keeps the
    test offline and fast; that the wheel's raidcorpus is the one imported is checked."""
    source = tmp_path / "source"  # a copy: building in place would leave build/ and *.egg-info in the repository
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    wheels = tmp_path / "wheels"
    made = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                           "-w", str(wheels), str(source)], capture_output=True, text=True, timeout=180, env=clean_env())
    assert made.returncode == 0, made.stdout + made.stderr
    wheel = next(wheels.glob("raidcorpus-*.whl"))

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(wheel)],
                               capture_output=True, text=True, timeout=180, env=clean_env())
    assert installed.returncode == 0, installed.stdout + installed.stderr
    (purelib / "zz-shared-dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n", encoding="utf-8")

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = clean_env()

    def run(*args, cwd=work):
        return subprocess.run([env_dir / "bin" / "raidcorpus", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)

    where = subprocess.run([python, "-c", "import raidcorpus, raidcorpus.ontology as o; print(raidcorpus.__file__); print(o.SCHEMA_PATH)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(purelib) for p in where), where

    # validate: files given by path, with their corpus beside them
    shutil.copytree(ROOT / "corpus", work / "corpus")
    layer = next((ROOT / "annotations").glob("*/gold.json"))
    shutil.copy(layer, work / "gold.json")
    proc = run("validate", "gold.json", "corpus")
    assert proc.returncode == 0 and proc.stdout.startswith("ok: "), proc.stdout + proc.stderr
    broken = fileio.read_json(layer)
    broken["entities"][0]["type"] = "PERSON"
    (work / "broken.json").write_text(json.dumps(broken), encoding="utf-8")
    proc = run("validate", "broken.json")
    assert proc.returncode == 1 and "[unknown-type]" in proc.stdout and "Traceback" not in proc.stderr, proc.stdout + proc.stderr

    # ls-config: the config of the shipped schema, the same bytes as the repository's
    proc = run("ls-config")
    assert proc.returncode == 0, proc.stderr
    assert (work / "labelstudio" / "config.xml").read_bytes() == (ROOT / "labelstudio" / "config.xml").read_bytes()

    # build (card templates and schema from the package) and rehydrate from texts the user holds
    repo = tmp_path / "fixture"
    shutil.copytree(FIXTURE, repo, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    proc = run("build", "--version", "0.1.0", "--out", "dist/full", cwd=repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    texts = work / "texts"
    texts.mkdir()
    for record in (repo / "corpus").glob("*.json"):
        (texts / f"{record.stem}.txt").write_bytes(fileio.read_json(record)["text"].encode("utf-8"))
    proc = run("rehydrate", repo / "dist" / "full-standoff", "texts", "--out", "rehydrated")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert release.read_manifest(work / "rehydrated") == release.read_manifest(repo / "dist" / "full")


# --- versions: ranges in the metadata, pins in constraints.txt -----------------------------


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[A-Za-z0-9_.-]+", name) and version, f"constraints.txt: not 'name==version': {line!r}"
            pins[normalize(name)] = version
    return pins


def test_metadata_has_ranges_and_constraints_pin_everything_a_release_depends_on():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    assert not [r for r in requirements if "==" in r], "exact pins belong in constraints.txt"
    core = {re.split(r"[<>=~!\[ ]", r, 1)[0].lower().replace("_", "-") for r in project["dependencies"]}
    assert not core & {"datasets", "pyarrow", "spacy", "mlcroissant", "huggingface-hub"}, "the core must install without the dataset stack"
    pins = _constraints()
    for name in release.SHAPING + ("huggingface_hub", "fsspec", "httpx"):
        assert normalize(name) in pins, f"constraints.txt does not pin {name}"
    # Label Studio is reached through labelstudio.py over httpx: the SDK (and pandas, opencv, nltk,
    # Faker that came with it) stays out of the core, and out of the pins, which list only what installs.
    assert "label-studio-sdk" not in core and "label-studio-sdk" not in pins
    assert "raidcorpus" not in pins


def test_release_json_records_the_versions_of_this_environment_which_are_the_pinned_ones():
    versions = release.built_with()
    assert set(versions) == {*release.SHAPING, "python"}
    assert versions["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    pins = _constraints()
    differ = {n: (v, pins.get(normalize(n))) for n, v in versions.items()
              if n != "python" and v != pins.get(normalize(n))}
    assert not differ, f"installed versions differ from constraints.txt (install with `pip install -c constraints.txt`): {differ}"


LOCK = ROOT / "scripts" / "label-studio.lock"


def test_label_studio_lock_is_fresh_and_pins_every_package_with_a_hash():
    """The lock is generated from scripts/label-studio.in: a changed input without a new lock fails."""
    import hashlib

    lines = LOCK.read_text().splitlines()
    source = (ROOT / "scripts" / "label-studio.in").read_bytes()
    assert f"# label-studio.in sha256 {hashlib.sha256(source).hexdigest()}" in lines, "run scripts/lock-label-studio.sh"
    packages = [line for line in lines if line and not line.startswith("#")]
    pattern = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[^ =]+ --hash=sha256:[0-9a-f]{64}$")
    assert packages and all(pattern.match(line) for line in packages), [line for line in packages if not pattern.match(line)]
    names = {line.split("==")[0].lower() for line in packages}
    assert {"label-studio", "label-studio-sdk", "sentry-sdk", "django"} <= names
    sentry = next(line for line in packages if line.lower().startswith("sentry-sdk=="))
    assert sentry.split("==")[1].startswith("2."), "Label Studio 1.23.2 does not start with sentry-sdk 3"


def test_label_studio_environment_is_named_by_the_lock_digest(tmp_path):
    """A changed lock gets a new environment folder: a stale cached environment is never used."""
    import hashlib

    script = ROOT / "scripts" / "label-studio.sh"
    env = clean_env(XDG_CACHE_HOME=str(tmp_path))
    text = script.read_text()
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()[:16]
    # `venv` prints the folder after making it; reading CACHE from the script without installing:
    probe = subprocess.run(["bash", "-c", text.split("say() {")[0] + 'echo "$CACHE"', str(script)], env=env,
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == f"{tmp_path}/raidcorpus/label-studio-1.23.2-{digest}"
