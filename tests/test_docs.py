"""Generated documentation: committed blocks must match the schema and the live CLI, and staleness is caught."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from raidcorpus import docs, ontology
from raidcorpus.cli import app
from raidcorpus.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def _project(tmp_path: Path) -> Path:
    """A copy of the committed documentation to break without touching the work tree."""
    shutil.copy(ROOT / "GUIDELINES.md", tmp_path / "GUIDELINES.md")
    (tmp_path / "docs").mkdir()
    if (ROOT / "docs" / "cli.md").exists():
        shutil.copy(ROOT / "docs" / "cli.md", tmp_path / "docs" / "cli.md")
    return tmp_path


def test_committed_ontology_block_is_fresh():
    text = (ROOT / "GUIDELINES.md").read_text(encoding="utf-8")
    assert "<!-- BEGIN GENERATED: ontology -->" in text
    assert docs.fill_blocks(text, "GUIDELINES.md") == text, "GUIDELINES.md is stale: run 'raidcorpus docs'"


def _commands(group=None, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    """Every command of the click tree behind the app, walked here (not by docs.command_names)."""
    group = group or typer.main.get_command(app)
    found = []
    for name, command in getattr(group, "commands", {}).items():
        found.append(((*path, name), command))
        found += _commands(command, (*path, name))
    return found


def _blocks(text: str) -> dict[str, str]:
    """docs/cli.md's help block of each command, by its name ("" for the program's own)."""
    out = {}
    for i, part in enumerate(text.split("\n## raidcorpus ")):
        name = part.split("\n", 1)[0] if i else ""
        found = re.search(r"```\n(.*?)```", part, re.S)
        out[name] = found.group(1) if found else ""
    return out


def _live_help(*args: str) -> str:
    """`raidcorpus ARGS --help` run as a user runs it: a new process, at the reference's width."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": str(docs.HELP_WIDTH), "TERM": "dumb"}
    proc = subprocess.run([str(Path(sys.executable).parent / "raidcorpus"), *args, "--help"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return "\n".join(line.rstrip() for line in proc.stdout.splitlines()).strip("\n") + "\n"


def test_committed_cli_reference_is_the_live_help():
    """Each block of docs/cli.md is what `raidcorpus CMD --help` prints now, command by command."""
    blocks = _blocks((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    names = [" ".join(path) for path, _ in _commands()]
    assert set(blocks) == {"", *names}, "docs/cli.md lists other commands than the CLI has: run 'raidcorpus docs'"
    assert blocks[""] == _live_help(), "docs/cli.md is stale (the program's help): run 'raidcorpus docs'"
    for name in names:
        assert blocks[name] == _live_help(*name.split()), f"docs/cli.md is stale for {name}: run 'raidcorpus docs'"


def test_every_cli_option_is_in_the_reference():
    blocks = _blocks((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    missing = []
    for path, command in _commands():
        block = blocks.get(" ".join(path), "")
        for param in command.params:
            for opt in (*param.opts, *param.secondary_opts):
                if opt.startswith("-") and not re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", block):
                    missing.append(f"{' '.join(path)} {opt}")
    assert not missing, f"options missing from docs/cli.md (run 'raidcorpus docs'): {missing}"


def test_the_reference_check_sees_a_stale_block():
    blocks = _blocks((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"))
    assert "--jobs" in blocks["build"]
    assert blocks["build"].replace("--jobs", "--workers") != _live_help("build")


def test_tables_list_every_type_role_and_value_from_the_schema():
    onto = ontology.load()
    table = docs.ontology_tables(onto)
    for name in onto.entity_names + onto.event_names:
        assert f"| `{name}` |" in table
    for event in onto.event_types:
        assert f"#### {event.name} roles" in table
        for role in event.roles:
            assert f"| `{role.name}` | {', '.join(f'`{t}`' for t in role.fillers)} |" in table
    for attr in onto.entity_attributes + onto.event_attributes:
        for value in attr.values:
            assert f"| `{value.name}` |" in table


def test_a_schema_change_changes_the_tables():
    schema = copy.deepcopy(ontology.load_schema())
    schema["$defs"]["EntityType"]["oneOf"].append(
        {"const": "DRUG", "title": "Drug", "description": "A test-only type.", "examples": ["captagon"]}
    )
    schema["$defs"]["roles_Raid"]["oneOf"][0]["description"] = "Who | raids."
    table = docs.ontology_tables(ontology.from_schema(schema))
    assert "| `DRUG` | Drug | A test-only type. | “captagon” |" in table
    assert "Who \\| raids." in table  # a pipe would break the table row
    assert table != docs.ontology_tables(ontology.load())


def test_check_names_a_stale_block_and_docs_repairs_it(tmp_path):
    root = _project(tmp_path)
    guide = root / "GUIDELINES.md"
    fresh = docs.fill_blocks(guide.read_text(encoding="utf-8"), "GUIDELINES.md")
    guide.write_text(fresh.replace("| `Raid` |", "| `Raid (old)` |", 1), encoding="utf-8")
    (root / "docs" / "cli.md").write_text(docs.cli_reference(app), encoding="utf-8")

    runner = CliRunner()
    result = runner.invoke(app, ["docs", "--check", "--root", str(root)])
    assert result.exit_code == 1
    assert "stale: GUIDELINES.md (run 'raidcorpus docs')" in result.stderr
    assert "docs/cli.md" not in result.stderr

    result = runner.invoke(app, ["docs", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert "wrote GUIDELINES.md" in result.stdout and "unchanged docs/cli.md" in result.stdout
    assert guide.read_text(encoding="utf-8") == fresh

    result = runner.invoke(app, ["docs", "--check", "--root", str(root)])
    assert result.exit_code == 0 and "up to date" in result.stdout


def test_hand_written_text_outside_blocks_is_kept(tmp_path):
    text = "intro\n<!-- BEGIN GENERATED: ontology -->\nold\n<!-- END GENERATED: ontology -->\noutro\n"
    out = docs.fill_blocks(text, "x.md")
    assert out.startswith("intro\n<!-- BEGIN GENERATED: ontology -->\nOntology version")
    assert out.endswith("<!-- END GENERATED: ontology -->\noutro\n")
    assert "\nold\n" not in out
    assert docs.fill_blocks(out, "x.md") == out


@pytest.mark.parametrize(
    "text, message",
    [
        ("<!-- BEGIN GENERATED: ontology -->\nno end\n", "x.md: a GENERATED marker without its partner (found ontology)"),
        (
            "<!-- BEGIN GENERATED: tables -->\n<!-- END GENERATED: tables -->\n",
            "x.md: unknown generated block 'tables' (known: ontology)",
        ),
    ],
)
def test_broken_markers_are_one_line_errors(text, message):
    with pytest.raises(UserError) as e:
        docs.fill_blocks(text, "x.md")
    assert e.value.message == message


def test_missing_guidelines_is_a_clean_error(tmp_path):
    result = CliRunner().invoke(app, ["docs", "--check", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: GUIDELINES.md: cannot read:")
    assert "Traceback" not in result.output


def test_cli_reference_covers_every_command():
    reference = docs.cli_reference(app)
    names = docs.command_names(app)
    assert "docs" in names and "validate" in names
    for name in names:
        assert f"## raidcorpus {name}\n" in reference
        assert f"Usage: raidcorpus {name} [OPTIONS]" in reference
    assert "\x1b[" not in reference  # no colour codes, whatever the terminal


NBC = "2015-01-15-nbc-two-suspects-dead-in-belgium-raids"


def _nbc_text() -> str:
    path = ROOT / "corpus" / f"{NBC}.json"
    if not path.exists():
        pytest.skip("the seed corpus is not ingested")
    import json

    return json.loads(path.read_text(encoding="utf-8"))["text"]


def test_worked_examples_slice_the_seed_text():
    """The offsets quoted in GUIDELINES.md and docs/schema.md are real: text[start:end] is the quoted span."""
    import json
    import re

    text = _nbc_text()
    checked = 0
    guide = (ROOT / "GUIDELINES.md").read_text(encoding="utf-8")
    for quoted, start, end in re.findall(r"^\| [TE]\d+ \| \"([^\"]+)\" \| (\d+)–(\d+) \|", guide, re.M):
        assert text[int(start) : int(end)] == quoted, f"GUIDELINES.md {start}-{end}: {text[int(start):int(end)]!r} != {quoted!r}"
        checked += 1
    schema_doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    for line in re.findall(r"^(\{\"id\": \"T\d+\".*\})$", schema_doc, re.M):
        span = json.loads(line)
        assert text[span["start"] : span["end"]] == span["text"], f"docs/schema.md {line}"
        checked += 1
    for start, end, quoted in re.findall(r"\{\"start\": (\d+), \"end\": (\d+), \"text\": \"([^\"]+)\"\}", guide + schema_doc):
        assert text[int(start) : int(end)] == json.loads(f'"{quoted}"'), f"{start}-{end} {quoted!r}"
        checked += 1
    assert checked >= 15
