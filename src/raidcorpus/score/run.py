"""The score command's one entry: choose the metric, read, score, render."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
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
    given = [name for name, v in (("--gold-layer", o.gold_layer), ("--pred-layer", o.pred_layer), ("--map", o.label_map),
                                  ("--bootstrap", o.bootstrap if metric == "templates" else 0)) if v]
    if given:
        raise UserError(f"{', '.join(given)}: not an option of --metric {metric}", 2)
    if metric == "ree":
        return ree.score(gold, pred, o.bootstrap, o.seed)
    return templates.score(gold, pred)


def render_json(rep: dict) -> str:
    return json.dumps(rep, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def run(metric: str, gold: Path, pred: Path, o: Options, fmt: str) -> str:
    rep = report(metric, gold, pred, o)
    return render_json(rep) if fmt == "json" else METRICS[metric].render_table(rep)
