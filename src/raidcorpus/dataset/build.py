"""build: corpus + gold + layers + clusters -> a versioned Parquet dataset folder.

Writes dist/raid-attack-events/ (with text) and its standoff twin (no article text), each with
a dataset card, croissant.json, release.json and MANIFEST.sha256. Documents are streamed split
by split and written in row-group batches, so memory does not grow with the corpus.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from .. import agree, align, ontology, workers
from ..checks import Clustered, split_leaks
from ..errors import Problem, ProblemError, UserError
from . import card, muc_rows, outdir, release, rows
from ..fileio import ReadError, is_id
from ..records import Reader, RecordError
from .layout import HUB_REPO, REPO_RE, NAME
from .writer import Encoder, Writer, writing


@dataclass
class Stats:
    """What the card reports, counted while the rows stream past."""

    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    entity_types: Counter = field(default_factory=Counter)
    event_types: Counter = field(default_factory=Counter)
    annotators: set = field(default_factory=set)
    layers: int = 0
    documents: int = 0

    def merge(self, other: "Stats") -> None:
        self.entity_types.update(other.entity_types)
        self.event_types.update(other.event_types)
        self.annotators |= other.annotators
        self.layers += other.layers
        self.documents += other.documents

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "entity_types": dict(sorted(self.entity_types.items())),
            "event_types": dict(sorted(self.event_types.items())),
            "annotators": sorted(self.annotators),
            "layers": self.layers,
            "documents": self.documents,
        }


# --- reading the repository ---------------------------------------------------------------


def _reader(root: Path) -> Reader:
    """A checked reader for one build (or one worker's documents): records are checked as validate
    checks them (levels 1-3), and paths are shown relative to the repository."""
    return Reader(root / "corpus", level=3, shown_root=root)


def _splits_file(root: Path) -> Path:
    path = root / "splits.yaml"
    if not path.is_file():
        raise UserError("splits.yaml: missing: list every document id under a split (train, validation, test)")
    return path


def read_splits(root: Path, reader: Reader | None = None) -> dict[str, list[str]]:
    path = _splits_file(root)
    rec = (reader or _reader(root)).read(path, "splits")
    return {split: list(ids) for split, ids in rec["splits"].items() if ids}


def clusters_path(root: Path) -> Path:
    return root / "annotations" / "clusters.yaml"


def layer_paths(root: Path, doc: str) -> list[Path]:
    folder = root / "annotations" / doc
    try:
        with os.scandir(folder) as entries:
            names = sorted(e.name for e in entries if e.name.endswith(".json") and not e.name.startswith(".")
                           and e.name != "muc4-key.json")  # the MUC keys: read by muc_rows, no annotation layer
    except OSError:  # no folder: no layers (a gold layer is asked for by name first)
        return []
    return [folder / name for name in names]


def unannotated(doc: dict) -> dict:
    """The empty gold layer of a document without annotation layers: its rows have no entities or events."""
    return {"kind": "annotation", "schema_version": doc["schema_version"], "document": doc["id"], "annotator": "gold",
            "text_sha256": doc["sha256"], "entities": [], "events": [], "entity_clusters": [], "event_clusters": []}


def load_document(root: Path, doc_id: str, reader: Reader | None = None) -> tuple[dict, dict, list[dict]]:
    """The corpus record, the gold layer and every layer (gold included) of a document, checked. A
    document with no layer at all gets an empty gold layer (and no layers); one with annotator
    layers but no gold layer is refused: adjudicate it first."""
    if not is_id(doc_id):
        raise ProblemError(Problem("splits.yaml", None, "/splits", "bad-id", f"document {doc_id!r} is not a document id"))
    reader = reader or _reader(root)
    doc = reader.document(doc_id)
    folder = root / "annotations" / doc_id
    if not os.path.isfile(folder / "gold.json") and not layer_paths(root, doc_id):
        return doc, unannotated(doc), []  # a text nobody has annotated yet (a MUC message): a row without annotations
    if not os.path.isfile(folder / "gold.json"):
        raise UserError(
            f"annotations/{doc_id}/gold.json: document {doc_id} has no gold layer: adjudicate it "
            f"('raidcorpus adjudicate') or leave it out of splits.yaml"
        )
    try:
        reader.refuse_linked_folder(folder)  # once for the document's folder
    except ReadError as e:
        raise UserError(e.problem.line().replace(str(root) + "/", "", 1)) from None
    layers = list(reader.read_layers(doc_id, {p.stem: p for p in layer_paths(root, doc_id)}).values())
    gold = next(a for a in layers if a["annotator"] == "gold")
    return doc, gold, layers


# --- building -----------------------------------------------------------------------------


def _cluster_split(clusters: list[dict], split_of: dict[str, str]) -> dict[str, str]:
    """A cross-document cluster's row goes to the split of its member documents, which the split
    policy (splits.yaml) keeps together: documents about one real-world event never straddle a split."""
    out = {}
    for c in clusters:
        splits = [split_of.get(m["document"]) for m in c["members"]]
        if None in splits:
            missing = c["members"][splits.index(None)]["document"]
            raise ProblemError(Problem("annotations/clusters.yaml", missing, "/", "unknown-document",
                                       f"cluster {c['id']!r}: member document {missing} is in no split of splits.yaml"))
        out[c["id"]] = splits[0]
    listed: dict[str, list[str]] = {}
    for doc, split in split_of.items():
        listed.setdefault(split, []).append(doc)
    leaks = split_leaks(listed, clusters)
    if leaks:
        first = leaks[0]
        more = f" (and {len(leaks) - 1} more)" if len(leaks) > 1 else ""
        raise ProblemError(Problem("splits.yaml", first["document"], f"/splits/{first['split']}/{first['index']}", "split-leak", first["message"] + more))
    return out


# --- documents in worker processes ---------------------------------------------------------

CHUNK_DOCS = 64  # documents per task handed to a worker


@dataclass
class _State:
    """What every run of documents needs, made once (workers are forked with it: workers.in_order)."""

    root: Path
    cross: dict
    table: rows.ClusterTable
    agreement: object
    clustered: Clustered | None = None  # what clusters.yaml names in each document (None: no clusters.yaml)
    nlp: object = field(default_factory=rows.sentencizer)
    encoders: dict = field(default_factory=dict)
    checked: Reader | None = None  # one checked reader per process: it lists the corpus once, not per document

    def reader(self) -> Reader:
        if self.checked is None:
            self.checked = _reader(self.root)
        return self.checked

    def encoder(self, config: str) -> Encoder:
        if config not in self.encoders:
            self.encoders[config] = Encoder(config)
        return self.encoders[config]


@dataclass
class Shard:
    """A run of documents converted: one Arrow table per ("full", config) (the parent makes the
    standoff twins, see with_standoff), the agreement shares
    (combined), the cross-document cluster shares of the documents clusters name and the facts
    clusters.yaml's checks read of them (checks.ClusterFacts, by document), and the counts,
    all in document order."""

    tables: dict
    agreement: tuple | None
    clusters: list
    facts: dict
    stats: Stats
    failed: "_Failed | None" = None


class _Failed:
    """A UserError met in a worker, carried back as its line and raised in document order."""

    def __init__(self, line: str):
        self.line = line


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + CHUNK_DOCS] for i in range(0, len(ids), CHUNK_DOCS)]


def _document_shard(st: _State, ids: list[str]) -> Shard:
    """Everything one run of documents adds to the dataset (new configs add their rows here)."""
    out: dict[tuple[str, str], list[dict]] = {}
    shares: list = []
    cluster_shares: list = []
    facts: dict = {}
    stats = Stats()

    def emit(variant: str, config: str, row: dict) -> None:
        out.setdefault((variant, config), []).append(row)

    try:
        for doc_id in ids:
            doc, gold, layers = load_document(st.root, doc_id, st.reader())
            names = [a["annotator"] for a in layers if a["annotator"] != "gold"]
            shares.append(st.agreement.document(doc_id, {a["annotator"]: a for a in layers if a["annotator"] != "gold"}, len(doc["text"])))
            row = rows.document_row(doc, gold, names, st.cross)
            if doc_id in st.table.wanted:
                cluster_shares.append((doc_id, st.table.share(row)))
            if st.clustered is not None and doc_id in st.clustered:
                facts[doc_id] = st.clustered.facts(doc_id, doc, gold)
            for config, r in rows.document_rows(row, st.nlp):
                emit("full", config, r)
            for config, made in muc_rows.rows_of(st.root, doc, st.reader()).items():
                for r in made:
                    emit("full", config, r)
            gold_fields = {k: row[k] for k in ("entities", "events", "entity_clusters", "event_clusters")}
            for ann in layers:
                emit("full", "annotators", rows.annotator_row(ann, st.cross, gold_fields if ann is gold else None))
            stats.documents += 1
            stats.layers += len(names)
            stats.annotators.update(names)
            stats.entity_types.update(e["type"] for e in row["entities"])
            stats.event_types.update(v["type"] for v in row["events"])
        tables = {key: st.encoder(key[1]).table(rs) for key, rs in out.items()}
    except UserError as e:
        return Shard({}, None, [], {}, stats, _Failed(str(e)))
    return Shard(tables, agree.combine(shares), cluster_shares, facts, stats)


def with_standoff(tables: dict) -> list:
    """A shard's tables and the standoff twins of its documents and annotators tables: the same
    rows less their text, made here from the full tables rather than carried back from the
    worker (they were a third of what a shard's pickle held)."""
    out = list(tables.items())
    for config in ("documents", "annotators"):
        if ("full", config) in tables:
            out.append((("standoff", config), strip_table(tables[("full", config)], config)))
    return out


def strip_table(table: pa.Table, config: str) -> pa.Table:
    """rows.strip on Arrow columns: every text field of the config null."""
    for path in rows.TEXT_FIELDS[config]:
        i = table.schema.get_field_index(path[0])
        column = table.column(i)
        chunks = [_null_path(c, column.type, path[1:]) for c in column.chunks]
        table = table.set_column(i, table.schema.field(i), pa.chunked_array(chunks, type=column.type))
    return table


def _null_path(array: pa.Array, type_: pa.DataType, path: tuple[str, ...]) -> pa.Array:
    if not path:
        return pa.nulls(len(array), type_)
    mask = array.is_null() if array.null_count else None
    if pa.types.is_list(type_):
        values = _null_path(array.values, type_.value_type, path)
        return pa.ListArray.from_arrays(array.offsets, values, type=type_, mask=mask)
    children = array.flatten()
    i = type_.get_field_index(path[0])
    children[i] = _null_path(children[i], type_.field(i).type, path[1:])
    return pa.StructArray.from_arrays(children, fields=list(type_), mask=mask)


WORKER_DIED = ("build: a worker process ended without its result (killed, or out of memory); "
               "nothing was written: run again, with --jobs 1 to use one process")


def _shards(state: _State, chunks: list[list[str]], jobs: int):
    """Each chunk's Shard, in chunk order, made in `jobs` processes (this one when 1); a failure
    carried back from a worker is raised here, at its place in document order."""
    jobs = max(1, min(jobs, len(chunks)))
    for shard in workers.in_order(_document_shard, state, chunks, jobs, WORKER_DIED):
        if shard.failed is not None:
            raise UserError(shard.failed.line)
        yield shard


@dataclass
class Result:
    out: Path
    standoff_out: Path
    version: str
    stats: dict
    released: list[Path]


def build(version: str, out: Path, root: Path = Path("."), standoff_out: Path | None = None, make_release: bool = False,
          jobs: int | None = None, repo: str | None = None) -> Result:
    """Build both folders; refuse a version whose committed release manifest they would not reproduce.

    `jobs` worker processes (default: one per CPU) read and convert runs of documents; the rows
    are written in document order, so the bytes do not depend on `jobs`.

    Only folders this command owns are written (see outdir): both are built beside their target
    under a lock, then swapped in whole; on any failure the partial folders are removed."""
    release.check_version(version)
    repo = repo or HUB_REPO
    if not REPO_RE.match(repo) or repo.endswith("-standoff"):
        raise UserError(f"--repo {repo!r}: expected OWNER/NAME of the full dataset (the standoff twin is NAME-standoff)", 2)
    out = outdir.check(Path(out), root)
    standoff_out = Path(standoff_out or out.with_name(out.name + "-standoff"))
    outdir.check(standoff_out, root, "--standoff-out")
    a, b = out.resolve(), standoff_out.resolve()
    if a == b or a.is_relative_to(b) or b.is_relative_to(a):
        raise UserError(f"--out {out} and --standoff-out {standoff_out} must be two separate folders")
    released: list[Path] = []

    def write_releases() -> None:
        for folder, variant in ((out, "full"), (standoff_out, "standoff")):
            target = release.release_file(root, version, variant)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((folder / release.MANIFEST).read_bytes())
            released.append(target)

    with writing((out, "full"), (standoff_out, "standoff"), then=write_releases if make_release else None) as (full, off):
        stats = _build(version, root, jobs or os.cpu_count() or 1, full, off, repo)
    return Result(out, standoff_out, version, stats.as_dict(), released)


def _splits_and_clusters(root: Path, reader: Reader) -> tuple[dict | None, dict[str, list[str]], dict[str, str]]:
    """clusters.yaml's record (checked against its schema only: the rest of its checks runs once
    the documents are read), the splits, and each listed document's split, every document of
    corpus/ in exactly one split. clusters.yaml is read first: the split-leak check of splits.yaml
    uses it (parsed once)."""
    _splits_file(root)
    path = clusters_path(root)
    record = reader.read(path, "event_clusters", level=1) if path.is_file() else None
    splits = read_splits(root, reader)
    split_of = {doc: s for s, ids in splits.items() for doc in ids}
    corpus_ids = {p.stem for p in (root / "corpus").glob("*.json")}
    unlisted = sorted(corpus_ids - set(split_of))
    if unlisted:
        raise UserError(f"corpus/{unlisted[0]}.json: document {unlisted[0]} is in no split of splits.yaml ({len(unlisted)} such)")
    missing = [d for d in split_of if d not in corpus_ids]
    if missing:
        raise ProblemError(Problem("splits.yaml", missing[0], "/", "unknown-document", f"document {missing[0]} is not in corpus/"))
    if not split_of:
        raise UserError("splits.yaml lists no documents: there is nothing to build")
    return record, splits, split_of


def _build(version: str, root: Path, jobs: int, full: Writer, off: Writer, repo: str) -> Stats:
    """Both folders' files written into the writers' temporary folders, each release manifest checked."""
    date, notes = release.changelog_section(root / "CHANGELOG.md", version)
    reader = _reader(root)
    path = clusters_path(root)
    record, splits, split_of = _splits_and_clusters(root, reader)
    clusters = record["clusters"] if record else []
    cross = rows.cross_index(clusters)
    table = rows.ClusterTable(clusters)
    everyone = align.annotator_names(root / "annotations")  # the agreement tallies need them all from the first document
    # the card shows no per-document figures, no unitizing alpha and no entity attributes
    agreement = agree.Accumulator(everyone, per_document=False, unitizing=False, entity_attributes=False)
    clustered = Clustered(record, str(path)) if record else None
    state = _State(root, cross, table, agreement, clustered)
    stats = Stats()
    cluster_facts: dict = {}  # document -> what clusters.yaml's checks read of it, sent back with its shard

    def check_clusters() -> None:
        """Raise clusters.yaml's first problem, if it has one: its checks read the documents it
        names from the facts the workers sent back, and the files of those not read yet (when the
        build stops before their turn), so the problems are the ones validate finds."""
        if record is not None:
            reader.validator.take_facts(cluster_facts)
            problems = reader.problems(record, str(path), "event_clusters")
            if problems:
                raise RecordError(problems, str(root))

    tasks = [(split, ids) for split, all_ids in splits.items() for ids in _chunks(all_ids)]
    with closing(_shards(state, [ids for _, ids in tasks], jobs)) as shards:  # closed: its workers end
        try:
            cluster_split = _cluster_split(clusters, split_of)
            unknown = next((d for d in sorted(table.wanted) if d not in split_of), None)
            if unknown is not None:
                raise ProblemError(Problem("annotations/clusters.yaml", unknown, "/", "unknown-document",
                                           f"document {unknown} is in no split of splits.yaml"))
            # A cluster's row is written once every split's documents are read (they hold its members
            # and reports, a report maybe from a document of another split) and clusters.yaml is
            # checked with what they hold. The table orders what it is given by document, so the rows
            # do not depend on when a document's share comes in.
            writers = {"full": full, "standoff": off}
            for split in splits:
                full.open_split(split)
                off.open_split(split)
                for _ in range(sum(1 for s, _ in tasks if s == split)):
                    shard = next(shards)
                    for (variant, config), t in with_standoff(shard.tables):
                        writers[variant].add_table(config, t)
                    agreement.take(shard.agreement)
                    for _, share in shard.clusters:
                        table.take(share)
                    cluster_facts.update(shard.facts)
                    stats.merge(shard.stats)
                full.close_split(clusters_later=True)
                off.close_split(clusters_later=True)
        except UserError:
            # a broken clusters file is reported as such: not by what it breaks, nor by what stops
            # the build before it is checked
            check_clusters()
            raise
    check_clusters()
    if table.problems:
        raise UserError(table.problems[0])
    for split in splits:
        in_split = [c for c in clusters if cluster_split[c["id"]] == split]
        full.add_clusters(in_split, table, split)
        off.add_clusters(in_split, table, split)
        table.forget(in_split)
    for prefix, w in (("", full), ("standoff/", off)):
        for config in w.configs:
            stats.rows[prefix + config] = dict(w.counts[config])

    facts = {
        "name": NAME,
        "repo": repo,
        "version": version,
        "date": date,
        "changelog": release.dataset_notes(notes),
        "schema_version": _schema_version(),
        "built_with": release.built_with(),
        "splits": list(splits),
        "stats": stats.as_dict(),
        "agreement": card.headline(agreement.report()),
    }
    for w in (full, off):
        w.finish(facts)
        manifest = (w.folder / release.MANIFEST).read_text(encoding="utf-8")
        release.compare_release(manifest, release.release_file(root, version, w.variant), version)
    return stats


def _schema_version() -> str:
    return ontology.load().version
