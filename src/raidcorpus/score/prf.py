"""Precision, recall and F1 from three counts, and their bootstrap intervals: what every scorer here reports."""

from __future__ import annotations

import random

import numpy as np


def prf(gold: int, pred: int, matched: float) -> dict:
    """P = matched / predicted, R = matched / gold, F1 = 2PR / (P + R) = 2 matched / (gold + predicted);
    None (n/a) where there is nothing to divide by, never a made-up 0 or 1."""
    p = matched / pred if pred else None
    r = matched / gold if gold else None
    f = 2 * matched / (gold + pred) if gold + pred else None
    return {"gold": gold, "pred": pred, "matched": matched, "precision": p, "recall": r, "f1": f}


def bootstrap_f1(per_doc: list[dict], keys: list, n: int, seed: int) -> dict:
    """key -> 95% percentile interval of its micro F1 over `n` resamples of the documents, drawn with
    replacement by random.Random(seed); `per_doc` holds each document's key -> [gold, pred, matched]."""
    rng = random.Random(seed)
    samples: dict = {k: [] for k in keys}
    for _ in range(n):
        drawn = rng.choices(per_doc, k=len(per_doc))
        for k in keys:
            g, p, m = (sum(d.get(k, (0, 0, 0))[i] for d in drawn) for i in range(3))
            if g + p:
                samples[k].append(2 * m / (g + p))
    return {k: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for k, v in samples.items() if v}
