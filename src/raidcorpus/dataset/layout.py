"""What a built dataset folder is called and what it holds, by name: the facts every dataset module shares.

Kept apart so that the modules that write a folder (build, rehydrate) and those that describe or
check one (card, croissant, release, outdir, publish, export) name it alike without importing each other.
"""

from __future__ import annotations

import re

NAME = "raid-attack-events"
# The Hugging Face Hub dataset repository the card, croissant.json and citation name (the
# standoff twin is REPO-standoff); `raidcorpus build --repo OWNER/NAME` builds for another one.
HUB_REPO = f"raidcorpus/{NAME}"
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a Hub repository id
MARKER = ".raidcorpus-output"  # left in every folder build and rehydrate write: see outdir.py


def parquet_name(split: str) -> str:
    return f"{split}-00000-of-00001.parquet"
