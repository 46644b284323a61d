"""Precision, recall and F1 from three counts: the one formula every scorer here reports."""

from __future__ import annotations


def prf(gold: int, pred: int, matched: float) -> dict:
    """P = matched / predicted, R = matched / gold, F1 = 2PR / (P + R) = 2 matched / (gold + predicted);
    None (n/a) where there is nothing to divide by, never a made-up 0 or 1."""
    p = matched / pred if pred else None
    r = matched / gold if gold else None
    f = 2 * matched / (gold + pred) if gold + pred else None
    return {"gold": gold, "pred": pred, "matched": matched, "precision": p, "recall": r, "f1": f}
