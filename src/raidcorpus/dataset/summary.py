"""summary: load every config of a built dataset folder back with `datasets` and count what is in it.

It reads the folder the way a researcher does (load_dataset, offline), so a card whose YAML
does not match its Parquet files fails here rather than on a user's machine.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from .. import fileio
from . import release
from ..errors import UserError


def card_configs(folder: Path) -> list[str]:
    """Config names declared in the dataset card's YAML front matter."""
    readme = folder / "README.md"
    if not readme.is_file():
        raise UserError(f"{readme}: no dataset card: build the folder with 'raidcorpus build'")
    try:
        text = readme.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{readme}: the card cannot be read: {e}") from None
    end = text.find("\n---", 4)
    if not text.startswith("---\n") or end < 0:
        raise UserError(f"{readme}: the card has no YAML front matter")
    meta = fileio.parse_yaml(readme, text[4:end])
    configs = meta.get("configs") if isinstance(meta, dict) else None
    if not isinstance(configs, list) or not all(isinstance(c, dict) and isinstance(c.get("config_name"), str) for c in configs):
        raise UserError(f"{readme}: the card's front matter has no list of configs with a config_name each")
    return [c["config_name"] for c in configs]


def _names(feature, values) -> Counter:
    return Counter(feature.int2str(v) for v in values if v is not None)


def summarize(folder: Path) -> list[dict]:
    """One entry per config: rows per split, and mention counts per type where the config has them."""
    from datasets import load_dataset
    from datasets.utils.logging import disable_progress_bar, set_verbosity_error

    if not Path(folder).is_dir():
        raise UserError(f"{folder}: no such folder: build it with 'raidcorpus build' first")
    problems = release.verify_built(Path(folder))
    if problems:
        raise UserError(f"{problems[0]} ({len(problems)} problem(s)): not summarized; rebuild the folder")
    disable_progress_bar()
    set_verbosity_error()
    out = []
    for config in card_configs(folder):
        try:
            ds = load_dataset(str(folder), config)
        except Exception as e:  # the loader's many error types all mean: this folder does not load
            raise UserError(f"{folder} config {config}: does not load with datasets: {type(e).__name__}: {e}") from None
        entry = {"config": config, "rows": {split: d.num_rows for split, d in ds.items()}, "counts": {}}
        for split, d in ds.items():
            feats = d.features
            counts = entry["counts"]
            if "entities" in feats and config == "documents":
                tf = feats["entities"].feature["type"]
                counts.setdefault("entities", Counter()).update(_names(tf, (t for ents in d["entities"] for t in (e["type"] for e in ents))))
                ef = feats["events"].feature["type"]
                counts.setdefault("events", Counter()).update(_names(ef, (v["type"] for evs in d["events"] for v in evs)))
            elif config in ("mentions", "entity_mentions"):
                counts.setdefault(config, Counter()).update(t for t in d["type"] if t is not None)
            elif config == "events":
                counts.setdefault("events", Counter()).update(_names(feats["type"], d["type"]))
            elif config == "ner":
                tags = feats["ner_tags"].feature
                counts.setdefault("B- tags", Counter()).update(
                    n[2:] for n in _names(tags, (t for row in d["ner_tags"] for t in row)).elements() if n.startswith("B-")
                )
        out.append(entry)
    return out


def lines(summary: list[dict]) -> list[str]:
    out = []
    for entry in summary:
        rows = ", ".join(f"{s} {n}" for s, n in entry["rows"].items())
        out.append(f"{entry['config']}: {sum(entry['rows'].values())} rows ({rows})")
        for what, counter in entry["counts"].items():
            parts = ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))
            out.append(f"  {what}: {parts or 'none'}")
    return out
