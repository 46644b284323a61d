"""The score command's one entry: choose the metric, read, score, render."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import mentions, ree, templates

METRICS = {"mentions": mentions, "ree": ree, "templates": templates}
FORMATS = ("table", "json")


@dataclass(frozen=True)
class Options:
    gold_layer: str | None = None
    pred_layer: str | None = None
    corpus: Path = Path("corpus")
    label_map: Path | None = None
    bootstrap: int = 0
    seed: int = 0


def report(metric: str, gold: Path, pred: Path, o: Options) -> dict:
    if metric == "mentions":
        return mentions.score(gold, pred, o.gold_layer, o.pred_layer, o.corpus, o.label_map, o.bootstrap, o.seed)
    return METRICS[metric].score(gold, pred)


def render_json(rep: dict) -> str:
    return json.dumps(rep, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def run(metric: str, gold: Path, pred: Path, o: Options, fmt: str) -> str:
    rep = report(metric, gold, pred, o)
    return render_json(rep) if fmt == "json" else METRICS[metric].render_table(rep)
