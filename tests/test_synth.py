"""The synthetic corpus: same seed same bytes, valid for our validator and for check-jsonschema, full coverage."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import yaml

from raidcorpus import ontology, synth
from raidcorpus.ontology import SCHEMA_PATH

BIN = Path(sys.executable).parent
DOCS = 60


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    synth.synth(DOCS, 7, out, annotators=2)
    return out


def layers(root: Path, annotator: str) -> list[dict]:
    return [orjson.loads(p.read_bytes()) for p in sorted((root / "annotations").glob(f"*/{annotator}.json"))]


def test_same_seed_same_bytes(corpus, tmp_path):
    synth.synth(DOCS, 7, tmp_path / "again", annotators=2, jobs=2)  # workers must not change a byte
    first, second = tree(corpus), tree(tmp_path / "again")
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []
    synth.synth(DOCS, 8, tmp_path / "other", annotators=2)
    assert tree(tmp_path / "other") != first


def test_our_validator_finds_nothing(corpus):
    run = subprocess.run(
        [BIN / "raidcorpus", "validate", "corpus", "annotations", "splits.yaml", "--corpus", "corpus"],
        cwd=corpus, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    files = sum(1 for p in corpus.rglob("*") if p.suffix in (".json", ".yaml"))
    assert f"{files} records in {files} files" in run.stdout


def test_check_jsonschema_accepts_every_file(corpus):
    files = [str(p) for p in sorted(corpus.rglob("*")) if p.suffix in (".json", ".yaml")]
    run = subprocess.run([BIN / "check-jsonschema", "--schemafile", str(SCHEMA_PATH), *files], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


def test_every_type_role_and_attribute_value_occurs(corpus):
    onto = ontology.load()
    gold = layers(corpus, "gold")
    entity_types = Counter(e["type"] for g in gold for e in g["entities"])
    assert set(entity_types) == set(onto.entity_names)
    roles = {(ev["type"], a["role"]) for g in gold for ev in g["events"] for a in ev["arguments"]}
    assert roles == {(et.name, r.name) for et in onto.event_types for r in et.roles}
    for attr in onto.event_attributes:
        seen = {ev["attributes"].get(attr.name) for g in gold for ev in g["events"]}
        assert set(attr.names) <= seen, attr.name
    for attr in onto.entity_attributes:
        seen = {e["attributes"].get(attr.name) for g in gold for e in g["entities"]}
        assert set(attr.names) <= seen, attr.name


def test_text_is_hard_unicode_and_offsets_slice(corpus):
    docs = {p.stem: orjson.loads(p.read_bytes()) for p in (corpus / "corpus").glob("*.json")}
    text = "".join(d["text"] for d in docs.values())
    for needle in ("\r\n", "\u00a0", "Д", "ع", "🙏", "\u200d", "é"):
        assert needle in text, repr(needle)
    assert any(d["removed"] for d in docs.values())
    for layer in layers(corpus, "gold") + layers(corpus, "annotator-1"):
        body = docs[layer["document"]]["text"]
        for ent in layer["entities"]:
            assert body[ent["start"]:ent["end"]] == ent["text"]
        for ev in layer["events"]:
            assert body[ev["trigger"]["start"]:ev["trigger"]["end"]] == ev["trigger"]["text"]


def test_layers_differ_but_not_much(corpus):
    def items(layer):
        return {orjson.dumps(e, option=orjson.OPT_SORT_KEYS) for e in layer["entities"]}

    one, two = layers(corpus, "annotator-1"), layers(corpus, "annotator-2")
    same = sum(len(items(a) & items(b)) for a, b in zip(one, two))
    total = sum(len(items(a) | items(b)) for a, b in zip(one, two))
    assert 0.6 < same / total < 0.98
    methods = Counter(e["provenance"]["method"] for g in layers(corpus, "gold") for e in g["entities"])
    assert methods["agreed"] > methods["decision"] > 0


def test_clusters_and_splits(corpus):
    gold = layers(corpus, "gold")
    assert sum(len(g["entity_clusters"]) for g in gold) > DOCS / 2
    assert sum(len(g["event_clusters"]) for g in gold) > 0
    clusters = yaml.safe_load((corpus / "annotations" / "clusters.yaml").read_text(encoding="utf-8"))["clusters"]
    splits = yaml.safe_load((corpus / "splits.yaml").read_text(encoding="utf-8"))["splits"]
    where = {doc: name for name, docs in splits.items() for doc in docs}
    assert len(where) == DOCS
    assert clusters and all(len(c["members"]) >= 2 for c in clusters)
    for c in clusters:
        assert len({where[m["document"]] for m in c["members"]}) == 1, "a story straddles two splits"
        values = {r["value"] for r in c["reports"]}
        assert all(isinstance(v, int) for v in values)


def test_bad_arguments_get_one_line():
    run = subprocess.run([BIN / "raidcorpus", "synth", "--docs", "0", "--out", "x"], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.strip() == "error: --docs must be at least 1"


def test_adjudicate_reads_the_decisions(corpus, tmp_path):
    """Every disagreement between the synthetic layers has a decision adjudicate accepts."""
    import shutil

    from raidcorpus import adjudicate

    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    result = adjudicate.adjudicate([copy / "annotations"], copy / "corpus")
    assert result.problems == [] and result.undecided == []
    assert result.ok
    decided = [line for line in result.lines if "wrote" in line and " 0 decided" not in line]
    assert decided, "the synthetic layers should disagree somewhere"
