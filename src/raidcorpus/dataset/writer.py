"""writer: the one way a dataset folder is written, shared by build and rehydrate.

Both commands produce the same folders, so the Parquet files, their row counts, the card,
croissant.json, release.json and the manifest are written here once: the two cannot drift
apart, and rehydrate reproduces the build byte for byte. `writing` owns the output folders'
lifecycle (lock, temporary twin, swap, and cleanup on any failure).
"""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UserError
from . import card, croissant, outdir, release, rows
from .features import CONFIGS, KEY_CONFIGS, STANDOFF_CONFIGS, ArrowEncoder, for_config
from .layout import parquet_name

BATCH_ROWS = 512
# Fixed writer options: the same rows give the same bytes (created_by names the pyarrow version).
PARQUET_OPTIONS = dict(
    compression="zstd",
    compression_level=9,
    use_dictionary=True,
    write_statistics=True,
    version="2.6",
    data_page_size=1 << 20,
)


class Encoder:
    """Rows of one config to an Arrow table of its schema (class names to indices), for rows
    added one by one (rehydrate, clusters) and for the build's runs of rows alike."""

    def __init__(self, config: str):
        self.config = config
        self.features = for_config(config)
        self.schema = self.features.arrow_schema
        self.arrow = ArrowEncoder(self.features)

    def table(self, rows: list[dict]) -> pa.Table:
        try:
            return self.arrow.table(rows)
        except (ValueError, TypeError) as e:
            raise UserError(self._refusal(rows, e)) from None

    def _refusal(self, rows: list[dict], e: Exception) -> str:
        """The line naming the first row the schema refuses (rows are encoded one by one to find it)."""
        for row in rows:
            try:
                self.arrow.table([row])
            except (ValueError, TypeError) as one:
                e, key = one, row.get("id") or row.get("document")
                break
        else:
            key = "?"
        return f"{self.config} row {key}: value {e} is not one the schema allows: run 'raidcorpus validate'"


_OPEN: set = set()  # sinks not closed yet: a failed build aborts them (no half-written file is flushed later)


class ParquetSink:
    """Rows (or Arrow tables of encoded rows) in, Parquet row groups of BATCH_ROWS rows out.

    Row groups are cut at the same rows whether rows come one by one or as tables of any length,
    so the file's bytes depend only on the rows and their order."""

    def __init__(self, path: Path, config: str):
        self.config = config
        self.encoder = Encoder(config)
        self.features = self.encoder.features
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(path, self.encoder.schema, **PARQUET_OPTIONS)
        _OPEN.add(self)
        self.rows: list[dict] = []  # rows not yet in a table (encoded a batch at a time)
        self.tables: list[pa.Table] = []
        self.pending = 0
        self.count = 0

    def add(self, row: dict) -> None:
        self.rows.append(row)
        self.pending += 1
        self.count += 1
        if self.pending >= BATCH_ROWS:
            self.flush()

    def add_table(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        self._tabulate()
        self.tables.append(table)
        self.pending += table.num_rows
        self.count += table.num_rows
        if self.pending >= BATCH_ROWS:
            self.flush()

    def _tabulate(self) -> None:
        if self.rows:
            self.tables.append(self.encoder.table(self.rows))
            self.rows = []

    def flush(self, final: bool = False) -> None:
        """Write every full batch (and, when final, the rest)."""
        while self.pending >= BATCH_ROWS or (final and self.pending):
            self._tabulate()
            table = self.tables[0] if len(self.tables) == 1 else pa.concat_tables(self.tables)
            n = min(BATCH_ROWS, self.pending)
            self.writer.write_table(table.slice(0, n).combine_chunks())
            rest = table.slice(n)
            self.tables = [rest] if rest.num_rows else []
            self.pending -= n

    def close(self) -> None:
        self.flush(final=True)
        self.writer.close()
        _OPEN.discard(self)

    def abort(self) -> None:
        """Close after a failure without raising again (e.g. on a full disk) and without a later retry in __del__."""
        _OPEN.discard(self)
        try:
            self.writer.close()
        except Exception:
            pass
        self.writer.is_open = False


class Writer:
    """One variant ("full" or "standoff") of the dataset, written split by split into a folder
    (the temporary twin `writing` gives), counting the rows of every config and split as it goes."""

    def __init__(self, folder: Path, variant: str):
        self.folder = folder
        self.variant = variant
        self.configs = CONFIGS if variant == "full" else STANDOFF_CONFIGS
        self.counts: dict[str, dict[str, int]] = {}
        self.split: str | None = None
        self.sinks: dict[str, ParquetSink] = {}
        self.later: dict[str, ParquetSink] = {}  # split -> its file for clusters, open after close_split
        self.clusters_config = "events" if variant == "full" else "clusters"

    def open_split(self, split: str) -> None:
        """One Parquet file per config for the split, written from here until close_split."""
        self.split = split
        self.sinks = {c: ParquetSink(self.folder / c / parquet_name(split), c) for c in self.configs}

    def add(self, config: str, row: dict) -> None:
        self.sinks[config].add(row)

    def add_table(self, config: str, table: pa.Table) -> None:
        """Rows already encoded as an Arrow table (the build's workers convert whole runs of documents)."""
        self.sinks[config].add_table(table)

    def add_document(self, row: dict, nlp) -> None:
        """A full document row and every row derived from it (the same functions in both commands)."""
        for config, r in rows.document_rows(row, nlp):
            self.add(config, r)

    def add_clusters(self, clusters: Iterable[dict], table: rows.ClusterTable, split: str | None = None) -> None:
        """The split's cross-document clusters, after its documents: an events row each (from the
        table of their members' shares) in the full variant, the cluster record itself in the standoff.
        With `split`, into that split's file close_split left open for them, which is then closed."""
        sink = self.sinks[self.clusters_config] if split is None else self.later.pop(split)
        for c in clusters:
            sink.add(table.row(c) if self.variant == "full" else rows.cluster_record_row(c))
        if split is not None:
            sink.close()
            self.counts.setdefault(sink.config, {})[split] = sink.count

    def close_split(self, clusters_later: bool = False) -> dict[str, int]:
        """Close the split's files; returns (and records) each config's row count. With
        `clusters_later`, the file its clusters go to stays open (and uncounted) until add_clusters
        names the split: build writes them once every split's documents are read."""
        if clusters_later:
            self.later[self.split] = self.sinks.pop(self.clusters_config)
        counted = {}
        for config, sink in self.sinks.items():
            sink.close()
            counted[config] = sink.count
            self.counts.setdefault(config, {})[self.split] = sink.count
        self.sinks = {}
        return counted

    def finish(self, facts: dict) -> None:
        """Card, croissant.json, release.json and manifest, once every split's files are written."""
        empty = [c for c in KEY_CONFIGS if c in self.configs and not any(self.counts.get(c, {}).values())]
        for config in empty:
            shutil.rmtree(self.folder / config)
        facts = {**facts, "variant": self.variant, "configs": [c for c in self.configs if c not in empty]}
        facts["num_rows"] = {c: self.counts.get(c, {}) for c in facts["configs"]}
        kept = {k: v for k, v in facts.items() if k != "stats"}
        kept["stats"] = {k: v for k, v in facts["stats"].items() if k != "rows"}
        folder = self.folder
        (folder / "release.json").write_text(json.dumps(kept, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        if self.variant == "full":
            (folder / "LICENSE.md").write_text(card.license_text(kept), encoding="utf-8")
        (folder / "README.md").write_text(card.render(folder, kept), encoding="utf-8")
        (folder / "croissant.json").write_text(croissant.render(folder, kept), encoding="utf-8")
        release.write_manifest(folder)


@contextmanager
def writing(*targets: tuple[Path, str], then: Callable[[], None] | None = None) -> Iterator[list[Writer]]:
    """A Writer for each (owned output folder, variant): the folders are locked, each is written
    into a temporary twin beside it and swapped in whole when the block ends without error;
    `then` runs after the swap, still under the lock and this failure handling.

    On any failure (a bad record, Ctrl-C, a full disk) the open Parquet files are aborted and the
    twins removed, so nothing half-written is left; a full disk becomes one line, not a traceback."""
    folders = [folder for folder, _ in targets]
    with outdir.locked(*folders):
        tmps = [outdir.start(folder) for folder in folders]
        try:
            yield [Writer(tmp, variant) for tmp, (_, variant) in zip(tmps, targets)]
            for tmp, folder in zip(tmps, folders):
                outdir.swap_in(tmp, folder)
            if then is not None:
                then()
        except BaseException as e:
            for sink in list(_OPEN):
                sink.abort()
            outdir.discard(*tmps)
            if outdir.disk_full(e):
                raise UserError(outdir.failure_line(e, folders[0].parent, folders[0])) from None
            raise
