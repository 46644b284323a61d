"""The repository's own corpus, built and read back: the release researchers actually get."""

from __future__ import annotations

import os
import re
from pathlib import Path

os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"

import pytest  # noqa: E402
from datasets import load_dataset  # noqa: E402

from raidcorpus import fileio  # noqa: E402
from raidcorpus.dataset import build  # noqa: E402
from raidcorpus.dataset.features import CONFIGS, KEY_CONFIGS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VERSION = re.search(r"^## \[(\d+\.\d+\.\d+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M).group(1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("repo-build")
    return build.build(VERSION, out / "raid-attack-events", ROOT, standoff_out=out / "raid-attack-events-standoff")


def test_release_manifest_is_reproduced(built):
    released = ROOT / "releases" / f"{VERSION}.sha256"
    assert released.exists(), f"version {VERSION} has no committed manifest: run `raidcorpus build --version {VERSION} --release`"
    assert (built.out / "MANIFEST.sha256").read_text(encoding="utf-8") == released.read_text(encoding="utf-8")


@pytest.mark.parametrize("config", CONFIGS)
def test_every_config_loads_normal_and_streaming(built, config):
    if config in KEY_CONFIGS and not any((ROOT / "annotations").glob("*/muc4-key.json")):
        pytest.skip("no muc4-key records in this repository: the build leaves the MUC configs out")
    ds = load_dataset(str(built.out), config)
    assert sum(d.num_rows for d in ds.values()) > 0
    streamed = load_dataset(str(built.out), config, streaming=True)
    split = next(iter(ds))
    assert next(iter(streamed[split])) == ds[split][0]


def test_every_offset_slices_the_text(built):
    docs = load_dataset(str(built.out), "documents")
    texts, checked = {}, 0
    gold = {p.parent.name: fileio.read_json(p) for p in (ROOT / "annotations").glob("*/gold.json")}
    for split in docs.values():
        for row in split:
            text = texts[row["id"]] = row["text"]
            for span in [e for e in row["entities"]] + [v["trigger"] for v in row["events"]]:
                got = text[span["start"] : span["end"]]
                assert got == span["text"], f"{row['id']} {span['start']}:{span['end']}: text has {got!r}, span says {span['text']!r}"
                checked += 1
            layer = gold.get(row["id"], {"entities": [], "events": []})  # no gold yet (a MUC message): no annotations
            assert len(row["entities"]) == len(layer["entities"])
            assert len(row["events"]) == len(layer["events"])
    assert checked > 500
    for split in load_dataset(str(built.out), "ner").values():
        for row in split:
            text = texts[row["document"]]
            for tok, a, b in zip(row["tokens"], row["token_starts"], row["token_ends"]):
                assert text[a:b] == tok, f"{row['id']} {a}:{b}: text has {text[a:b]!r}, token is {tok!r}"
    for split in load_dataset(str(built.out), "events").values():
        for row in split:
            for report in row["reports"]:
                ev = report["evidence"]
                got = texts[report["document"]][ev["start"] : ev["end"]]
                assert got == ev["text"], f"{row['id']}: text has {got!r}, evidence says {ev['text']!r}"
