"""A CPU baseline for MUC-4 role-filler entity extraction (REE): a spaCy named-entity tagger over the
five roles, trained on the standard train split, whose tagged spans are grouped into entities.

Why a tagger: every role filler in the keys is a span of the text, most roles are filled by noun
phrases that a tagger finds without document-level reasoning, and spaCy's CNN tagger trains in
minutes on two cores. What it cannot do, and the generative models (GRIT, GTT) can, is decide
from the whole document which of several candidates is the one the template is about; the gap in
the results table measures that.

    python baseline/ree_ner.py prepare GRIT_TRAIN GRIT_DEV OUT_DIR      # DocBin files for spacy train
    python baseline/ree_ner.py predict MODEL_DIR GRIT_TEST PRED_FILE    # predictions in GRIT's format

Input is the JSON Lines view the published figures are computed on (sources/grit/*.json: lower-cased
text, five roles, each entity a list of [mention, offset]), so that the figure is comparable with
theirs. Every occurrence of a gold mention string (whole words) is a training span, not only the
first one the file records: the others would otherwise teach the tagger that the same words are
not a filler. Overlaps are resolved longest first, then earliest.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin

ROLES = ("PerpInd", "PerpOrg", "Target", "Victim", "Weapon")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def occurrences(text: str, mention: str) -> list[tuple[int, int]]:
    """Every whole-word occurrence of `mention` in `text`, as (start, end) character offsets."""
    pattern = re.compile(r"(?<!\w)" + re.escape(mention) + r"(?!\w)")
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def training_spans(record: dict) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, role) spans: every occurrence of every gold mention."""
    text = record["doctext"]
    candidates = {
        (start, end, role)
        for role in ROLES
        for entity in record["extracts"].get(role, [])
        for mention, _offset in entity
        for start, end in occurrences(text, mention)
    }
    taken: list[tuple[int, int, str]] = []
    for start, end, role in sorted(candidates, key=lambda s: (-(s[1] - s[0]), s[0], s[2])):
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, role))
    return sorted(taken)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence: the texts separate sentences by a stop and spaces."""
    bounds, start = [], 0
    for match in SENTENCE_END.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return [(s, e) for s, e in bounds if e > s]


def to_docbin(nlp, records: list[dict], keep_empty: int = 3) -> tuple[DocBin, int]:
    """The records as one spaCy Doc per sentence with its entity spans. A filler is rare: every
    sentence with one is kept, and one in `keep_empty` of the others, so the tagger does not learn
    that predicting nothing is best. Returns the DocBin and the spans dropped (a span crossing a
    sentence or token boundary)."""
    docbin, dropped, empty = DocBin(), 0, 0
    for record in records:
        spans = training_spans(record)
        for s_start, s_end in sentences(record["doctext"]):
            inside = [(a, b, role) for a, b, role in spans if s_start <= a and b <= s_end]
            dropped += sum(1 for a, b, _ in spans if a < s_end and b > s_start and not (s_start <= a and b <= s_end))
            if not inside:
                empty += 1
                if empty % keep_empty:
                    continue
            doc = nlp.make_doc(record["doctext"][s_start:s_end])
            ents = [doc.char_span(a - s_start, b - s_start, label=role, alignment_mode="strict") for a, b, role in inside]
            dropped += sum(1 for e in ents if e is None)
            doc.ents = [e for e in ents if e is not None]
            docbin.add(doc)
    return docbin, dropped


def prepare(train: Path, dev: Path, out: Path) -> None:
    nlp = spacy.blank("en")
    out.mkdir(parents=True, exist_ok=True)
    for name, path in (("train", train), ("dev", dev)):
        docbin, dropped = to_docbin(nlp, read_jsonl(path))
        docbin.to_disk(out / f"{name}.spacy")
        print(f"{name}: {len(docbin)} sentences, {dropped} spans across a sentence or token boundary dropped")


def entities(doc) -> dict[str, list[list[str]]]:
    """Tagged spans grouped into entities: one entity per distinct mention string and role, in order
    of first occurrence (the tagger gives no coreference, and a string repeated is one entity)."""
    grouped: dict[str, list[list[str]]] = {role: [] for role in ROLES}
    for ent in doc.ents:
        text = ent.text.strip()
        if text and [text] not in grouped[ent.label_]:
            grouped[ent.label_].append([text])
    return grouped


def grit_key(docid: str) -> str:
    """GRIT's key for a message: TST3-MUC4-0001 is "30001", TST4-MUC4-0017 is "40017"."""
    match = re.fullmatch(r"TST(\d)-MUC4-(\d{4})", docid)
    if not match:
        raise SystemExit(f"{docid}: not a TST3/TST4 message id")
    return match.group(1) + match.group(2)


def predict(model: Path, test: Path, out: Path) -> None:
    nlp = spacy.load(model)
    records = read_jsonl(test)
    predictions = {}
    for record, doc in zip(records, nlp.pipe(r["doctext"] for r in records)):
        predictions[grit_key(record["docid"])] = {"docid": record["docid"], "pred_extracts": entities(doc)}
    out.write_text(json.dumps(predictions, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{out}: predictions for {len(predictions)} documents")


if __name__ == "__main__":
    verb, *args = sys.argv[1:] or ["help"]
    if verb == "prepare" and len(args) == 3:
        prepare(*map(Path, args))
    elif verb == "predict" and len(args) == 3:
        predict(*map(Path, args))
    else:
        raise SystemExit(__doc__)
