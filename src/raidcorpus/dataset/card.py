"""The dataset card (README.md): YAML the loader reads, prose a researcher reads, figures from data.

The YAML front matter declares each config's data files and typed features (taken from the
same Features the Parquet files were written with); the prose comes from a template in
templates/ filled with counts, agreement figures and a worked example row of the folder itself.
"""

from __future__ import annotations

import json
import math
from importlib import resources
from pathlib import Path
from string import Template

import pyarrow.parquet as pq
import yaml
from datasets import ClassLabel, List

from .. import agree
from ..errors import UserError
from .layout import HUB_REPO, parquet_name
from .features import for_config

AUTHORS = "The raidcorpus maintainers"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"


def repo_of(facts: dict) -> str:
    """The Hub repository of this folder's variant (release.json of 0.1.0 had none: the default)."""
    repo = facts.get("repo") or HUB_REPO
    return repo + "-standoff" if facts.get("variant") == "standoff" else repo


def hub_url(facts: dict) -> str:
    return f"https://huggingface.co/datasets/{repo_of(facts)}"


LICENSES = {
    # The articles belong to their publishers: the full variant is for research use under the
    # exceptions that allow it; the standoff variant holds only the annotations (CC BY 4.0).
    "full": ("other", "News article texts remain the property of their publishers; annotations CC BY 4.0 (terms in LICENSE.md)."),
    "standoff": ("cc-by-4.0", "Annotations only, CC BY 4.0; no article text is distributed."),
}
AGREEMENT_MEASURES = (
    ("entity_exact", "all", "Entity spans (exact match, F1)"),
    ("entity_overlap", "all", "Entity spans (overlap, F1)"),
    ("trigger", "all", "Event triggers (F1)"),
    ("argument", "all", "Event arguments (F1)"),
    ("coref_entity_b3", "all", "Entity coreference (B-cubed F1)"),
    ("coref_event_b3", "all", "Event coreference (B-cubed F1)"),
)


# --- agreement hook ---------------------------------------------------------------------


def agreement(root: Path) -> dict | None:
    """Headline agreement figures from raidcorpus.agree over the annotator layers (None if there are none)."""
    annotations = root / "annotations"
    if not annotations.is_dir():
        return None
    try:
        report = agree.agree([annotations], root / "corpus")
    except UserError:
        return None
    return headline(report)


def headline(report: dict) -> dict | None:
    """The card's agreement figures from an agreement report."""
    if not report["documents"]:
        return None
    rows = {(r["measure"], r["label"]): r for r in report["overall"]}
    figures = []
    for measure, label, title in AGREEMENT_MEASURES:
        r = rows.get((measure, label))
        if r is not None:
            figures.append({"measure": title, "value": _round(r["value"])})
    for r in report["overall"]:
        if r["measure"] == "event_attribute":
            figures.append({"measure": f"Event attribute {r['label']} ({r['statistic']})", "value": _round(r["value"])})
    return {"documents": len(report["documents"]), "annotators": report["annotators"], "figures": figures}


def _round(v):
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 3)


# --- front matter -------------------------------------------------------------------------


def _num_bytes(path: Path) -> int:
    """Uncompressed size of a Parquet file's data, from its footer (stable for the same rows)."""
    meta = pq.ParquetFile(path).metadata
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def front_matter(folder: Path, facts: dict) -> dict:
    license_id = LICENSES[facts["variant"]][0]
    configs, infos = [], []
    for name in facts["configs"]:
        # a split without rows is left out: datasets refuses to load a declared split with no data
        splits = [s for s in facts["splits"] if facts["num_rows"].get(name, {}).get(s)]
        entry = {"config_name": name, "data_files": [{"split": s, "path": f"{name}/{parquet_name(s)}"} for s in splits]}
        if name == "documents":
            entry["default"] = True
        configs.append(entry)
        infos.append(
            {
                "config_name": name,
                "features": for_config(name)._to_yaml_list(),
                "splits": [
                    {"name": s, "num_bytes": _num_bytes(folder / name / parquet_name(s)), "num_examples": facts["num_rows"][name][s]}
                    for s in splits
                ],
            }
        )
    meta = {
        "pretty_name": "Raid and attack events" + (" (standoff)" if facts["variant"] == "standoff" else ""),
        "language": ["en"],
        # Both annotator layers and the adjudication were made by AI language-model agents (see the
        # card's "Annotation process" and DATASHEET.md): machine-generated, in the Hub's vocabulary.
        "annotations_creators": ["machine-generated"],
        "language_creators": ["found"],
        "multilinguality": ["monolingual"],
        "source_datasets": ["original"],
        "license": license_id,
        "task_categories": ["token-classification"],
        "task_ids": ["named-entity-recognition"],
        "tags": ["event-extraction", "terrorism", "coreference", "news"],
        "size_categories": [_size_category(facts["stats"]["documents"])],
        "version": facts["version"],
        "configs": configs,
        "dataset_info": infos,
    }
    if license_id == "other":
        meta["license_name"] = "news-articles-research-use"
        meta["license_link"] = "LICENSE.md"
    return meta


def license_text(facts: dict) -> str:
    """LICENSE.md of the full variant: what the Hub's license_link points to."""
    return (
        f"# Licence of {repo_of(facts)}, version {facts['version']}\n\n"
        "- The article texts (`text` columns, span and sentence texts) remain the property of their "
        "publishers. They are distributed for research on language under the exceptions for text and "
        "data mining and research that apply to you; they are not licensed for any other use. Where in "
        f"doubt, use the standoff variant ({repo_of({**facts, 'variant': 'standoff'})}), which holds no "
        "article text, and rehydrate it from your own copies.\n"
        f"- The annotations (entities, events, arguments, attributes, coreference, cross-document clusters "
        f"and everything derived from them) are licensed under CC BY 4.0: {CC_BY}\n"
        f"- Attribution: {AUTHORS}, Raid and attack events, version {facts['version']}, {hub_url(facts)}\n"
    )


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


# --- example row --------------------------------------------------------------------------


def readable(feature, value):
    """A row with ClassLabel integers turned back into their names."""
    if value is None:
        return None
    if isinstance(feature, ClassLabel):
        return feature.int2str(value) if value >= 0 else None
    if isinstance(feature, List):
        return [readable(feature.feature, v) for v in value]
    if isinstance(feature, dict):
        return {k: readable(f, value.get(k)) for k, f in feature.items()}
    return value


EXAMPLE_KEEP = {"entities": 2, "events": 1, "entity_clusters": 1, "event_clusters": 1, "arguments": 2, "reports": 1,
                "mentions": 2, "tokens": 12, "token_starts": 12, "token_ends": 12, "ner_tags": 12, "members": 2}


def example_row(folder: Path, facts: dict, config: str = "documents") -> str:
    """The first row of a config's first split, class names decoded, long texts and lists shortened."""
    split = next((s for s in facts["splits"] if facts["num_rows"].get(config, {}).get(s)), None)
    if split is None:
        return "(no rows in this version)"
    table = pq.ParquetFile(folder / config / parquet_name(split)).read_row_group(0)
    row = readable(for_config(config), table.slice(0, 1).to_pylist()[0])
    for key, value in row.items():
        if isinstance(value, str) and len(value) > 160:
            row[key] = value[:160] + "…"
        elif isinstance(value, list) and key in EXAMPLE_KEEP and len(value) > EXAMPLE_KEEP[key]:
            keep = EXAMPLE_KEEP[key]
            row[key] = value[:keep] + [f"… {len(value) - keep} more"]
    for v in row.get("events") or []:
        if isinstance(v, dict) and len(v.get("arguments") or []) > 2:
            v["arguments"] = v["arguments"][:2] + [f"… {len(v['arguments']) - 2} more"]
    return json.dumps(row, indent=2, ensure_ascii=False)


def examples(folder: Path, facts: dict) -> str:
    parts = []
    for config in facts["configs"]:
        parts.append(f"### `{config}`\n\n```json\n{example_row(folder, facts, config)}\n```")
    return "\n\n".join(parts)


# --- the card -----------------------------------------------------------------------------


def _table(counts: dict) -> str:
    if not counts:
        return "(none)"
    lines = ["| type | mentions |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in counts.items()]
    return "\n".join(lines)


def _rows_table(facts: dict) -> str:
    splits = facts["splits"]
    lines = ["| config | " + " | ".join(splits) + " |", "| --- |" + " ---: |" * len(splits)]
    for name in facts["configs"]:
        lines.append(f"| {name} | " + " | ".join(str(facts["num_rows"][name].get(s, 0)) for s in splits) + " |")
    return "\n".join(lines)


def _splits_text(facts: dict) -> str:
    """Which splits this version has and what they are for, from its document counts."""
    docs = facts["num_rows"].get("documents", {})
    parts = [f"`{s}` {docs.get(s, 0)} document(s)" for s in facts["splits"]]
    text = (
        "Splits are by document and listed in the source repository's `splits.yaml`. Documents that "
        "share a cross-document event cluster are always in the same split (the build refuses "
        "anything else), so no real-world event is on both sides of a split. This version: "
        + ", ".join(parts) + "."
    )
    if "train" not in docs:
        text += (
            " There is no training split: the corpus is still too small to train on, and every "
            "document is test data, for evaluating models trained on other corpora, so that no score "
            "is reported on a document a model has seen. Train and validation splits are added as the "
            "corpus grows; a document never moves from test to train within a version."
        )
    return text


def _agreement_text(facts: dict) -> str:
    a = facts.get("agreement")
    if not a:
        return (
            "No document of this version has two or more annotator layers, so no agreement figures are given "
            "(they are filled in by `raidcorpus build` from `raidcorpus agree` when there are)."
        )
    lines = [
        f"Computed by `raidcorpus agree` over {a['documents']} document(s) annotated by "
        f"{', '.join(a['annotators'])}, before adjudication:",
        "",
        "| measure | value |",
        "| --- | ---: |",
    ]
    lines += [f"| {f['measure']} | {_fmt(f['value'])} |" for f in a["figures"]]
    return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render(folder: Path, facts: dict) -> str:
    template = resources.files("raidcorpus").joinpath("templates", f"dataset_card_{facts['variant']}.md").read_text(encoding="utf-8")
    common = resources.files("raidcorpus").joinpath("templates", "dataset_card_common.md").read_text(encoding="utf-8")
    stats = facts["stats"]
    values = {
        "version": facts["version"],
        "date": facts["date"],
        "year": facts["date"][:4],
        "changelog": facts["changelog"],
        "schema_version": facts["schema_version"],
        "documents": stats["documents"],
        "layers": stats["layers"],
        "annotator_count": len(stats["annotators"]),
        "rows_table": _rows_table(facts),
        "entity_table": _table(stats["entity_types"]),
        "event_table": _table(stats["event_types"]),
        "agreement": _agreement_text(facts),
        "splits_text": _splits_text(facts),
        "examples": examples(folder, facts),
        "repo": repo_of({**facts, "variant": "full"}),
        "standoff_repo": repo_of({**facts, "variant": "standoff"}),
        "url": hub_url(facts),
        "authors": AUTHORS,
        "cc_by": CC_BY,
        "license_note": LICENSES[facts["variant"]][1],
        "configs": ", ".join(f"`{c}`" for c in facts["configs"]),
    }
    body = Template(template).substitute(values) + "\n" + Template(common).substitute(values)
    head = yaml.safe_dump(front_matter(folder, facts), sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{head}---\n\n{body}"
