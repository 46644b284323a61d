"""MANIFEST.sha256: every file of a built folder with its sha256 (the format `sha256sum -c` reads).

Standard library only, so that outdir (and through it synth, a command of the core) can tell a
folder it wrote without loading the dataset stack.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..errors import UserError
from .layout import MARKER

MANIFEST = "MANIFEST.sha256"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_lines(folder: Path) -> list[str]:
    """'<sha256>  <relative path>' for every file of the folder but the manifest, sorted by path."""
    files = sorted(p for p in folder.rglob("*") if (p.is_file() or p.is_symlink()) and p.relative_to(folder).as_posix() not in (MANIFEST, MARKER))
    return [f"{sha256_file(p)}  {p.relative_to(folder).as_posix()}" for p in files]


def write_manifest(folder: Path) -> str:
    text = "".join(line + "\n" for line in manifest_lines(folder))
    (folder / MANIFEST).write_text(text, encoding="utf-8")
    return text


def read_manifest(folder: Path) -> dict[str, str]:
    """path -> sha256 from a folder's manifest; refuses a folder without one."""
    path = folder / MANIFEST if folder.is_dir() else folder
    if not path.is_file():
        raise UserError(f"{path}: no {MANIFEST}: build the folder with 'raidcorpus build' first")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read the manifest: {e}") from None
    return parse_manifest(text, path)


def parse_manifest(text: str, where: Path | str) -> dict[str, str]:
    """path -> sha256 from a manifest's text; `where` names it in the error."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        digest, sep, rel = line.partition("  ")
        if not sep or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise UserError(f"{where}:{n}: not a '<sha256>  <path>' line")
        out[rel] = digest
    return out


def verify_folder(folder: Path) -> list[str]:
    """Problems between a folder and its manifest: changed, missing or unlisted files."""
    listed = read_manifest(folder)
    actual = dict(reversed(line.split("  ", 1)) for line in manifest_lines(folder))
    problems = [f"{folder / p}: changed since the manifest was written" for p in listed if p in actual and actual[p] != listed[p]]
    problems += [f"{folder / p}: listed in the manifest but missing" for p in listed if p not in actual]
    problems += [f"{folder / p}: not listed in the manifest" for p in actual if p not in listed]
    return problems
