"""Shared fixtures. Label Studio ones start a real server (scripts/label-studio.sh) on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "label-studio.sh"
BUILD_FIXTURE = Path(__file__).parent / "data" / "build"


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory):
    """tests/data/build copied once and built at 0.1.0: (root, build.Result), for the tests that
    read a built folder (release, export, publish). A test that changes the copy puts it back."""
    from raidcorpus.dataset import build

    root = tmp_path_factory.mktemp("fixture-build") / "repo"
    shutil.copytree(BUILD_FIXTURE, root, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root, build.build("0.1.0", root / "dist" / "raid-attack-events", root)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabelStudio:
    """A running Label Studio: its URL, admin login and token, and a way to restart it."""

    url: str
    port: int
    data: Path
    env: dict

    def credential(self, name: str) -> str:
        for line in (self.data / "credentials").read_text().splitlines():
            key, _, value = line.partition("=")
            if key == name:
                return value
        raise KeyError(name)

    @property
    def token(self) -> str:
        return self.credential("LABEL_STUDIO_API_KEY")

    @property
    def email(self) -> str:
        return self.credential("LABEL_STUDIO_USERNAME")

    @property
    def password(self) -> str:
        return self.credential("LABEL_STUDIO_PASSWORD")

    def script(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", str(SCRIPT), *args], env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=600)

    def start(self) -> None:
        done = self.script("start", "--no-push")
        if done.returncode != 0:
            raise RuntimeError(f"Label Studio did not start:\n{done.stdout}\n{done.stderr}")

    def stop(self) -> None:
        self.script("stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def cli_env(self) -> dict:
        """Environment for `raidcorpus push/pull` against this server."""
        return os.environ | {"LABEL_STUDIO_URL": self.url, "LABEL_STUDIO_API_KEY": self.token}


def _serve(data: Path, **extra: str):
    port = free_port()
    env = os.environ | {"LABEL_STUDIO_PORT": str(port), "LABEL_STUDIO_DATA": str(data)} | extra
    env.pop("LABEL_STUDIO_API_KEY", None)
    server = LabelStudio(f"http://127.0.0.1:{port}", port, data, env)
    server.start()
    return server


@pytest.fixture(scope="session")
def label_studio_sqlite(tmp_path_factory) -> LabelStudio:
    """A real Label Studio 1.23.2 (installed once into the cache) with a throwaway data folder."""
    server = _serve(tmp_path_factory.mktemp("label-studio"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def label_studio_postgresql() -> LabelStudio:
    """The same, with its database in a throwaway PostgreSQL cluster (Debian's postgresql, run by
    the script as `postgres` when the tests run as root, so the folder is outside pytest's 0700 one)."""
    import shutil
    import tempfile

    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        pytest.fail("PostgreSQL is not installed: run scripts/install-system-deps.sh")
    base = Path(tempfile.mkdtemp(prefix="raidcorpus-pg-"))
    base.chmod(0o711)
    try:
        server = _serve(base / "label-studio", LABEL_STUDIO_DB="postgresql")
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def label_studio(label_studio_sqlite) -> LabelStudio:
    """The default server for Label Studio tests (SQLite); test_ls_roundtrip runs on both databases."""
    return label_studio_sqlite
