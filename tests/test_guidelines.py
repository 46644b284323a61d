"""guidelines --check: GUIDELINES.md quotes no test document (issue 27), and the check can fail."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from typer.testing import CliRunner

from raidcorpus import guidelines
from raidcorpus.cli import app

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "invalid" / "quotes-test-document"


def run(*args):
    return CliRunner().invoke(app, ["guidelines", *args], catch_exceptions=False)


def test_the_repository_guidelines_quote_no_test_document():
    result = run("--check", "--root", str(ROOT), "GUIDELINES.md", "docs/annotating-muc.md")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.strip() == "no quote of a test document"


def test_the_muc_test_messages_are_read_from_sources_while_the_corpus_lacks_them():
    texts = guidelines.read_test_split(ROOT)
    assert len(texts) == 200 and {d[:4] for d in texts} == {"tst3", "tst4"}
    assert "tst3-muc4-0001" in texts and "tst4-muc4-0100" in texts


def project_quoting(tmp_path: Path, quote: str) -> Path:
    """A copy of the project's GUIDELINES.md with `quote` added as a paragraph, beside its sources/."""
    (tmp_path / "sources").symlink_to(ROOT / "sources")
    text = (ROOT / "GUIDELINES.md").read_text(encoding="utf-8")
    (tmp_path / "GUIDELINES.md").write_text(text + "\n" + quote + "\n", encoding="utf-8")
    return tmp_path


def a_message_sentence(doc: str, words: int) -> str:
    """`words` consecutive words of a TST3/TST4 message, rewritten in mixed case with other punctuation."""
    body = guidelines.read_test_split(ROOT)[doc]
    tokens = [w for w, _ in guidelines.words(body)][20:20 + words]
    return "An example: \"" + ", ".join(" ".join(tokens[i:i + 3]).capitalize() for i in range(0, len(tokens), 3)) + "\"."


def test_a_quote_of_eight_words_fails_with_its_line_and_document(tmp_path):
    root = project_quoting(tmp_path, a_message_sentence("tst4-muc4-0042", 8))
    result = run("--check", "--root", str(root))
    assert result.exit_code == 1
    first, summary = result.stdout.strip().splitlines()
    lines = (root / "GUIDELINES.md").read_text(encoding="utf-8").count("\n")
    assert re.fullmatch(rf"GUIDELINES\.md:{lines} doc=tst4-muc4-0042 / \[quotes-test-document\] 8 consecutive words of test document tst4-muc4-0042: .*", first)
    assert summary == "1 quote of test documents"
    assert run("--root", str(root)).exit_code == 0  # without --check it is a report


def test_seven_words_pass(tmp_path):
    root = project_quoting(tmp_path, a_message_sentence("tst4-muc4-0042", 7))
    assert run("--check", "--root", str(root)).exit_code == 0


def test_corpus_records_replace_the_sources_once_splits_yaml_lists_muc_messages(tmp_path):
    result = run("--check", "--root", str(FIXTURE))
    assert result.exit_code == 1
    assert "doc=tst9-muc4-0001" in result.stdout and "12 consecutive words" in result.stdout
    shutil.copytree(FIXTURE, tmp_path / "p")
    record = tmp_path / "p" / "corpus" / "tst9-muc4-0001.json"
    record.unlink()
    result = CliRunner().invoke(app, ["guidelines", "--check", "--root", str(tmp_path / "p")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"lists test document tst9-muc4-0001, but {record} does not exist" in result.output


def test_find_quotes_merges_a_long_run_into_one_quote():
    doc = "one two three four five six seven eight nine ten eleven twelve"
    quotes = guidelines.find_quotes("x ONE two, three-four five\nsix seven eight nine ten y", {"d": doc})
    assert [(q.doc, q.length, q.line, q.text) for q in quotes] == [("d", 10, 1, "ONE two, three-four five six seven eight nine ten")]
