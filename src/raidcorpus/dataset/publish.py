"""publish: push a built dataset folder to the Hugging Face Hub and tag its version.

The tag (vX.Y.Z) is what users pin with `revision=`; a tag that exists is never moved. The
folder must match its MANIFEST.sha256, so what is pushed is what was built. The token comes
from the environment (HF_TOKEN, read by huggingface_hub itself) and is never printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import release
from ..errors import UserError
from .layout import MARKER, REPO_RE


@dataclass
class Plan:
    repo: str
    tag: str
    files: list[tuple[str, int, str]]  # (path, size in bytes, sha256)

    def lines(self) -> list[str]:
        out = [f"repository: {self.repo} (dataset)", f"tag: {self.tag}"]
        out += [f"{sha}  {size:>12}  {path}" for path, size, sha in self.files]
        out.append(f"{len(self.files)} files, {sum(s for _, s, _ in self.files)} bytes")
        return out


def plan(folder: Path, repo: str) -> Plan:
    """What publishing would upload, checked against the folder's manifest."""
    if not REPO_RE.match(repo):
        raise UserError(f"--repo {repo!r}: expected OWNER/NAME", 2)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder: build it with 'raidcorpus build' first")
    problems = release.verify_built(folder)
    if problems:
        raise UserError(f"{problems[0]} ({len(problems)} problem(s)): rebuild before publishing")
    try:
        version = json.loads((folder / "release.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        raise UserError(f"{folder}/release.json: missing or without a version") from None
    listed = release.read_manifest(folder)
    files = [(p, (folder / p).stat().st_size, listed[p]) for p in sorted(listed)]
    manifest = folder / release.MANIFEST
    files.append((release.MANIFEST, manifest.stat().st_size, release.sha256_file(manifest)))
    return Plan(repo, f"v{version}", sorted(files))


def _network_errors() -> tuple[type, ...]:
    """The HTTP client's error classes: huggingface_hub has used httpx and, later, httpx2."""
    import importlib
    import importlib.util

    found = []
    for name in ("httpx", "httpx2"):
        if importlib.util.find_spec(name):
            cls = getattr(importlib.import_module(name), "HTTPError", None)
            if isinstance(cls, type):
                found.append(cls)
    return tuple(found)


def publish(folder: Path, repo: str, dry_run: bool = False) -> Plan:
    """Upload the folder as one commit and tag it; refuse a version whose tag already exists."""
    p = plan(folder, repo)
    if dry_run:
        return p
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    api = HfApi()
    try:
        api.create_repo(repo, repo_type="dataset", exist_ok=True)
        tags = {t.name for t in api.list_repo_refs(repo, repo_type="dataset").tags}
        if p.tag in tags:
            raise UserError(f"{repo}: tag {p.tag} already exists: a released version is never replaced; build a new version")
        commit = api.upload_folder(
            repo_id=repo, repo_type="dataset", folder_path=str(folder),
            commit_message=f"Release {p.tag}", ignore_patterns=[MARKER, ".*"], delete_patterns=["*.parquet", "*.md", "*.json", "*.sha256"],
        )
        api.create_tag(repo, tag=p.tag, revision=commit.oid, repo_type="dataset", tag_message=f"Release {p.tag}")
    except UserError:
        raise
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError, ValueError, *_network_errors()) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"{repo}: the Hub refused or could not be reached: {first}") from None
    return p
