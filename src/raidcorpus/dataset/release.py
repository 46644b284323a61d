"""Versions and manifests: what makes a released dataset version immutable.

Every built folder lists its files with their sha256 in MANIFEST.sha256 (the format
`sha256sum -c` reads). `raidcorpus build --release` copies that manifest to
releases/<version>.sha256, which is committed; a later build of the same version must
reproduce it byte for byte, or it is refused.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

from . import card
from ..errors import UserError
from .layout import parquet_name
from .manifest import MANIFEST, manifest_lines, parse_manifest, read_manifest, sha256_file, verify_folder, write_manifest  # noqa: F401 - release's API

# The packages whose versions shape a release's bytes (Parquet, tokens, card, croissant.json,
# agreement figures); constraints.txt pins them and release.json records them.
SHAPING = ("datasets", "pyarrow", "spacy", "mlcroissant", "pyyaml", "orjson", "numpy", "krippendorff")
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
SECTION_RE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})\s*$", re.M)


def built_with() -> dict[str, str]:
    """The versions of the packages that shape a release, and of Python (major.minor), as installed."""
    versions = {name: metadata.version(name) for name in SHAPING}
    return {**versions, "python": f"{sys.version_info.major}.{sys.version_info.minor}"}


def check_version(version: str) -> None:
    if not VERSION_RE.match(version):
        raise UserError(f"version {version!r} is not X.Y.Z (semantic versioning)", 2)


def changelog_section(changelog: Path, version: str) -> tuple[str, str]:
    """The (date, body) of the CHANGELOG.md section of a version; refuses a version it does not describe."""
    try:
        text = changelog.read_text(encoding="utf-8")
    except OSError:
        raise UserError(f"{changelog}: cannot read the changelog; every released version needs a dated section") from None
    heads = list(SECTION_RE.finditer(text))
    for i, m in enumerate(heads):
        if m.group(1) == version:
            end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
            return m.group(2), text[m.end() : end].strip()
    raise UserError(f"{changelog}: no '## [{version}] - YYYY-MM-DD' section: describe version {version} before building it")


DATASET_HEAD = re.compile(r"^Dataset:\s*$", re.M)
CODE_HEAD = re.compile(r"^Code:\s*$", re.M)


def dataset_notes(section: str) -> str:
    """The dataset's own changes in a changelog section: its "Dataset:" part, up to "Code:" (the
    whole section when it has no "Dataset:" part). The card shows only these, so a change to the
    code's notes leaves the released files, and their manifests, alone."""
    head = DATASET_HEAD.search(section)
    if head is None:
        code = CODE_HEAD.search(section)
        return section[: code.start()].strip() if code else section
    code = CODE_HEAD.search(section, head.end())
    return section[head.end() : code.start() if code else len(section)].strip()


def release_file(root: Path, version: str, variant: str) -> Path:
    suffix = "" if variant == "full" else f"-{variant}"
    return root / "releases" / f"{version}{suffix}.sha256"


def compare_release(manifest: str, released: Path, version: str) -> None:
    """Refuse a build whose manifest differs from the committed release of the same version."""
    if not released.is_file():
        return
    old = read_manifest(released)
    new = parse_manifest(manifest, "the built manifest")
    if old == new:
        return
    changed = sorted(p for p in set(old) | set(new) if old.get(p) != new.get(p))
    hint = ("; only release.json differs: are the packages it records (built_with) the pinned ones? "
            "pip install -c constraints.txt" if changed == ["release.json"] else "")
    raise UserError(
        f"version {version} was released with different content ({released}): {len(changed)} file(s) differ, "
        f"first {changed[0]}; add a new version to CHANGELOG.md instead of changing a released one{hint}"
    )


def verify_built(folder: Path, root: Path | None = None) -> list[str]:
    """Everything that must hold before a built folder is trusted (published or summarized): its files
    match MANIFEST.sha256; release.json is readable; croissant.json names every Parquet file with its
    sha256; the card is the one release.json renders; the row counts are release.json's; and the
    manifest is the committed releases/<version>.sha256 of the repository `root`, when given and
    that file exists."""
    import json

    import pyarrow.parquet as pq

    problems = verify_folder(folder)
    if problems:
        return problems
    try:
        facts = json.loads((folder / "release.json").read_text(encoding="utf-8"))
        version, variant, num_rows = facts["version"], facts["variant"], facts["num_rows"]
    except (OSError, ValueError, KeyError, TypeError):
        return [f"{folder / 'release.json'}: missing, unreadable or without version, variant and num_rows"]
    parquet = {p.relative_to(folder).as_posix() for p in folder.rglob("*.parquet")}
    try:
        meta = json.loads((folder / "croissant.json").read_text(encoding="utf-8"))
        listed = {d.get("contentUrl"): d.get("sha256") for d in meta.get("distribution", []) if isinstance(d, dict) and d.get("sha256")}
    except (OSError, ValueError, AttributeError):
        return [f"{folder / 'croissant.json'}: missing or unreadable"]
    for rel in sorted(parquet | set(listed)):
        if rel not in parquet:
            problems.append(f"{folder / rel}: named in croissant.json but missing")
        elif listed.get(rel) != sha256_file(folder / rel):
            problems.append(f"{folder / rel}: its sha256 differs from croissant.json's (files of two builds mixed?)")
    for config, splits in num_rows.items() if isinstance(num_rows, dict) else ():
        for split, n in splits.items():
            rel = f"{config}/{parquet_name(split)}"
            if rel in parquet:
                try:
                    got = pq.ParquetFile(folder / rel).metadata.num_rows
                except Exception:  # noqa: BLE001 - pyarrow's many error types all mean: not a readable Parquet file
                    problems.append(f"{folder / rel}: not a readable Parquet file")
                    continue
                if got != n:
                    problems.append(f"{folder / rel}: {got} rows, release.json says {n}")
            else:
                problems.append(f"{folder / rel}: release.json counts {n} rows in it but it is missing")
    if problems:
        return problems
    try:
        card_ok = (folder / "README.md").read_text(encoding="utf-8") == card.render(folder, facts)
    except (OSError, KeyError, TypeError, ValueError):
        card_ok = False
    if not card_ok:
        problems.append(f"{folder / 'README.md'}: is not the card release.json describes (edited, or from another build)")
    released = release_file(root, str(version), str(variant)) if root is not None else None
    if released is not None and released.is_file():
        try:
            compare_release((folder / MANIFEST).read_text(encoding="utf-8"), released, str(version))
        except UserError as e:
            problems.append(f"{folder / MANIFEST}: {e.message}")
    return problems
