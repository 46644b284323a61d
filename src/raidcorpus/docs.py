"""Generated documentation: the ontology tables in GUIDELINES.md and the CLI reference in docs/cli.md.

Annotators read the tables and maintainers read the reference, so both are made from the
sources (the schema, the live --help) and a check fails when a committed copy is stale.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import typer
from typer.testing import CliRunner

from . import agree, align, ontology
from .agree.render import table_rows
from .errors import UserError
from .fileio import write_bytes_atomic
from .records import Reader

ROOT = Path(".")  # the repository's top
GUIDELINES = "GUIDELINES.md"
DATASHEET = "DATASHEET.md"
CLI_REFERENCE = "docs/cli.md"
HELP_WIDTH = 88

BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)",
    re.S,
)
OPEN = re.compile(r"<!-- (BEGIN|END) GENERATED: ([^ ]+) -->")


@dataclass(frozen=True)
class DocFile:
    """One documentation file: its path relative to the root and whether it is (or was) out of date."""

    path: str
    stale: bool


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _examples(values) -> str:
    return ", ".join(f"“{_cell(v)}”" for v in values)


def ontology_tables(onto: ontology.Ontology) -> str:
    """Markdown tables of entity types, event types with their roles, and attributes."""
    lines = [
        f"Ontology version {onto.version}, generated from `schema/raidcorpus.schema.json`.",
        "",
        "### Entity types",
        "",
        "| type | name | definition | examples |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| `{v.name}` | {_cell(v.title)} | {_cell(v.description)} | {_examples(v.examples)} |" for v in onto.entity_types]
    lines += ["", "### Event types", "", "| type | definition | trigger examples |", "| --- | --- | --- |"]
    lines += [f"| `{e.name}` | {_cell(e.description)} | {_examples(e.examples)} |" for e in onto.event_types]
    for e in onto.event_types:
        lines += ["", f"#### {e.name} roles", "", "| role | filler types | definition | examples |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{r.name}` | {', '.join(f'`{t}`' for t in r.fillers)} | {_cell(r.description)} | {_examples(r.examples)} |"
            for r in e.roles
        ]
    lines += ["", "### Attributes"]
    for owner, attrs in (("entity", onto.entity_attributes), ("event", onto.event_attributes)):
        for a in attrs:
            scope = ", ".join(f"`{s}`" for s in a.scope) if a.scope else f"every {owner}"
            need = "required" if a.required else "required where it applies" if owner == "event" else "optional"
            lines += [
                "",
                f"#### `{a.name}` ({owner} attribute; {scope}; {need})",
                "",
                _cell(a.description),
                "",
                "| value | definition | examples |",
                "| --- | --- | --- |",
            ]
            lines += [f"| `{v.name}` | {_cell(v.description)} | {_examples(v.examples)} |" for v in a.values]
    return "\n".join(lines) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "ontology": lambda: ontology_tables(ontology.load()),
}


def fill_blocks(text: str, path: str, generators: dict[str, Callable[[], str]] = GENERATORS) -> str:
    """`text` with every generated block's body regenerated; unknown or unclosed blocks are errors."""
    names = [m.group(2) for m in OPEN.finditer(text)]
    found = [m.group("name") for m in BLOCK.finditer(text)]
    if len(names) != 2 * len(found):
        raise UserError(f"{path}: a GENERATED marker without its partner (found {', '.join(names) or 'none'})")
    for name in found:
        if name not in generators:
            raise UserError(f"{path}: unknown generated block {name!r} (known: {', '.join(sorted(generators))})")
    return BLOCK.sub(lambda m: m.group(1) + generators[m.group("name")]() + m.group(4), text)


@contextmanager
def _plain_help():
    """Rich help at a fixed width without colour, so the reference does not depend on the terminal."""
    from typer import rich_utils

    saved = (rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL, rich_utils.COLOR_SYSTEM)
    rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL, rich_utils.COLOR_SYSTEM = HELP_WIDTH, False, None
    try:
        yield
    finally:
        rich_utils.MAX_WIDTH, rich_utils.FORCE_TERMINAL, rich_utils.COLOR_SYSTEM = saved


def help_text(app: typer.Typer, args: list[str]) -> str:
    """The live `raidcorpus ... --help` output, trailing spaces removed."""
    with _plain_help():
        result = CliRunner().invoke(app, [*args, "--help"], prog_name="raidcorpus", env={"NO_COLOR": "1", "COLUMNS": str(HELP_WIDTH)})
    if result.exit_code != 0:
        raise UserError(f"raidcorpus {' '.join(args)} --help failed with exit code {result.exit_code}")
    return "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n") + "\n"


def command_names(app: typer.Typer) -> list[str]:
    """Every command of the live CLI, in the order they are registered; a group's commands
    follow it, named with it ("annotators add")."""

    def walk(group, prefix: str) -> list[str]:
        names = []
        for name, command in getattr(group, "commands", {}).items():
            names.append(prefix + name)
            names += walk(command, f"{prefix}{name} ")
        return names

    return walk(typer.main.get_command(app), "")


def cli_reference(app: typer.Typer) -> str:
    """docs/cli.md: the help of the program and of every command, generated from the live CLI
    (the app is given by the caller, the CLI itself, so that this module stays below it)."""
    parts = [
        "# Command-line reference",
        "",
        "<!-- Generated by `raidcorpus docs` from the live `--help` of every command; do not edit. -->",
        "",
        "```",
        help_text(app, []).rstrip("\n"),
        "```",
    ]
    for name in command_names(app):
        parts += ["", f"## raidcorpus {name}", "", "```", help_text(app, name.split()).rstrip("\n"), "```"]
    return "\n".join(parts) + "\n"


def annotation_counts(root: Path) -> str:
    """DATASHEET.md: mentions per type in every layer, so the datasheet's figures come from the data."""
    from collections import Counter

    reader = Reader(root / "corpus", level=2)
    onto = ontology.load()
    layers: dict[str, dict[str, Counter]] = {}
    docs = 0
    for path in sorted((root / "annotations").glob("*/*.json")):
        if path.name in align.NOT_LAYERS - {"gold.json"}:  # the MUC keys: templates, not mentions
            continue
        record = reader.read(path, "annotation")
        docs += path.stem == "gold"
        counts = layers.setdefault(record["annotator"], {"entity": Counter(), "event": Counter(), "other": Counter()})
        counts["entity"].update(e["type"] for e in record["entities"])
        counts["event"].update(e["type"] for e in record["events"])
        counts["other"].update(
            {
                "arguments": sum(len(e["arguments"]) for e in record["events"]),
                "entity clusters": len(record["entity_clusters"]),
                "event clusters": len(record["event_clusters"]),
            }
        )
    if not layers:
        return "No annotation layers yet.\n"
    names = sorted(layers, key=lambda a: (a != "gold", a))
    head = "| | " + " | ".join(names) + " |\n| --- |" + " ---: |" * len(names) + "\n"
    rows = []
    for kind, labels in (("entity", onto.entity_names), ("event", onto.event_names), ("other", ("arguments", "entity clusters", "event clusters"))):
        for label in labels:
            rows.append(f"| {kind} {label} | " + " | ".join(str(layers[n][kind][label]) for n in names) + " |")
        if kind != "other":
            rows.append(f"| **{kind} mentions, all** | " + " | ".join(f"**{sum(layers[n][kind].values())}**" for n in names) + " |")
    clusters = root / "annotations" / "clusters.yaml"
    cross = len(reader.read(clusters, "event_clusters")["clusters"]) if clusters.exists() else 0
    return (
        f"Annotation counts over {docs} documents with a gold layer; {cross} cross-document event clusters.\n\n"
        + head + "\n".join(rows) + "\n"
    )


def agreement_summary(root: Path) -> str:
    """DATASHEET.md: the overall agreement between the annotator layers, from `raidcorpus agree`."""
    annotations = root / "annotations"
    report = agree.agree([annotations], root / "corpus") if annotations.is_dir() else {"documents": []}
    if not report["documents"]:
        return "No document has two annotator layers yet.\n"
    rows = [r for r in table_rows(report["overall"], True) if r[1] in ("all",) or r[0].startswith(("entity attribute", "event attribute"))]
    lines = [
        f"Agreement between {', '.join(report['annotators'])} over {len(report['documents'])} documents "
        "(`raidcorpus agree --format markdown` gives every figure per document and per type):",
        "",
        "| measure | label | value | counts |",
        "| --- | --- | ---: | --- |",
    ]
    lines += [f"| {a} | {b} | {c} | {d.replace('|', '/')} |" for a, b, c, d in rows]
    return "\n".join(lines) + "\n"


def render(app: typer.Typer, root: Path = ROOT) -> dict[str, str]:
    """The up-to-date content of every generated documentation file, by path relative to `root`."""
    out = {}
    for name, generators in (
        (GUIDELINES, GENERATORS),
        (DATASHEET, {"datasheet-counts": lambda: annotation_counts(root), "datasheet-agreement": lambda: agreement_summary(root)}),
    ):
        path = root / name
        if name == DATASHEET and not path.exists():
            continue
        try:
            current = path.read_text(encoding="utf-8")
        except OSError as e:
            raise UserError(f"{name}: cannot read: {e.strerror or e}") from None
        out[name] = fill_blocks(current, name, generators)
    out[CLI_REFERENCE] = cli_reference(app)
    return out


def schema_copy(root: Path, check: bool) -> list[DocFile]:
    """In the repository, the package's copy of the schema (what an installed raidcorpus reads) made
    byte for byte from schema/raidcorpus.schema.json. Done first, so that everything generated after
    it is made from the schema as it now is."""
    source, copy = root / ontology.SCHEMA_SOURCE, root / ontology.SCHEMA_PACKAGED
    if not source.is_file() or not copy.parent.is_dir():
        return []  # not the repository: there is no copy to keep
    try:
        content = source.read_bytes()
        stale = not copy.is_file() or copy.read_bytes() != content
    except OSError as e:
        raise UserError(f"{e.filename}: cannot read: {e.strerror or e}") from None
    if stale and not check:
        write_bytes_atomic(copy, content)
        ontology.reread()
    return [DocFile(str(ontology.SCHEMA_PACKAGED), stale)]


def run(app: typer.Typer, root: Path = ROOT, check: bool = False) -> list[DocFile]:
    """Regenerate the documentation and the package's schema copy (or, with check, only compare);
    returns one DocFile per file."""
    outcomes = schema_copy(root, check)
    for rel, content in render(app, root).items():
        path = root / rel
        try:
            stale = path.read_text(encoding="utf-8") != content
        except OSError:
            stale = True
        if stale and not check:
            write_bytes_atomic(path, content.encode("utf-8"))
        outcomes.append(DocFile(rel, stale))
    return outcomes
