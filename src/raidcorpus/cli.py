"""The command line: a thin layer over one module per pipeline verb.

Each command parses its options, calls a plain function of its module and prints the
result. A UserError becomes one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from .errors import UserError

app = typer.Typer(
    name="raidcorpus",
    help="Build, annotate, validate and release the raid and attack events corpus.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def friendly(fn):
    """Turn UserError (and Ctrl-C) into one line and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as e:
            err.print(f"error: {e.message}", markup=False)
            raise typer.Exit(e.exit_code) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper


# --- ingest, validate -------------------------------------------------------------------


@app.command()
@friendly
def ingest(
    sources: List[Path] = typer.Argument(..., help="Article .txt files, folders of them, or .jsonl files."),
    out_dir: Path = typer.Option(Path("corpus"), "--out", help="Corpus folder to write into."),
    metadata: Optional[Path] = typer.Option(None, "--metadata", help="YAML with per-file metadata (title, outlet, date, url)."),
):
    """Add articles to the corpus: one JSON record per article, idempotent."""
    from . import ingest as mod

    report = mod.ingest(sources, out_dir, metadata)
    for line in report.lines():
        out.print(line, markup=False)
    if report.conflicts:
        raise typer.Exit(1)


@app.command()
@friendly
def validate(
    paths: List[Path] = typer.Argument(None, help="Files or folders (default: corpus, annotations)."),
    corpus_dir: Path = typer.Option(Path("corpus"), "--corpus", help="Corpus folder for hashes and offsets."),
    fmt: str = typer.Option("text", "--format", help="text or json."),
    level: int = typer.Option(3, "--level", min=1, max=3, help="Stop after this level (1 schema, 2 structure, 3 content)."),
):
    """Check records in levels: L1 JSON Schema, L2 ids and references, L3 offsets and hashes."""
    from . import validate as mod

    if fmt not in ("text", "json"):
        raise UserError(f"unknown --format {fmt!r}: use text or json", 2)
    targets = paths or [p for p in (Path("corpus"), Path("annotations")) if p.exists()]
    summary = mod.run(targets, corpus_dir, fmt=fmt, level=level, stream=sys.stdout)
    if summary.errors:
        raise typer.Exit(1)


# --- Label Studio: ls-config, push, pull, convert (LS helper) ----------------------------


# --- agreement and adjudication: agree, adjudicate (agreement helper) -------------------


# --- dataset: build, summary, publish, rehydrate (dataset helper) -----------------------


# --- benchmarks: synth (bench helper) ---------------------------------------------------


# --- docs -------------------------------------------------------------------------------


@app.command()
@friendly
def docs(
    check: bool = typer.Option(False, "--check", help="Only compare; exit 1 naming the stale files."),
    root: Path = typer.Option(Path("."), "--root", help="Project folder holding GUIDELINES.md and docs/."),
):
    """Regenerate the ontology tables in GUIDELINES.md and the CLI reference docs/cli.md."""
    from . import docs as mod

    outcomes = mod.run(root, check=check)
    stale = [o.path for o in outcomes if o.stale]
    if check:
        if stale:
            err.print(f"stale: {', '.join(stale)} (run 'raidcorpus docs')", markup=False)
            raise typer.Exit(1)
        out.print("documentation is up to date", markup=False)
        return
    for o in outcomes:
        out.print(f"{'wrote' if o.stale else 'unchanged'} {o.path}", markup=False)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
