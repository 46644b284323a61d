"""The package's layout: no import cycles between its modules, at top level or inside functions.

Every module under src/raidcorpus is parsed (not imported) and every import statement in it is
collected, wherever it sits: at top level, inside a function, inside a try block. An import
written inside a function still couples the two modules, so it counts as an edge the same way.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "raidcorpus"


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, modules: set[str], root: Path = PACKAGE) -> dict[str, int]:
    """The package modules that `path` imports (anywhere in its body), each with its first line."""
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        if target in modules and target != name:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                # `import raidcorpus.a.b` binds raidcorpus and loads every package on the way
                parts = alias.name.split(".")
                for i in range(1, len(parts) + 1):
                    add(".".join(parts[:i]), node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join(base + (node.module.split(".") if node.module else []))
            add(target, node.lineno)
            for alias in node.names:  # `from . import x` and `from .pkg import mod` import modules
                add(f"{target}.{alias.name}", node.lineno)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, dict[str, int]]:
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    modules = set(files)
    return {name: imports_of(path, modules, root) for name, path in files.items()}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (as a closed path a -> b -> ... -> a) for every strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)

    found = []
    for group in groups:
        members = set(group)
        start = group[0]
        # shortest path from start back to start inside the group (breadth first)
        previous: dict[str, str] = {}
        frontier = [start]
        path = None
        while frontier and path is None:
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w not in members:
                        continue
                    if w == start:
                        path = [start]
                        u = v
                        while u != start:
                            path.append(u)
                            u = previous[u]
                        path = [start] + path[1:][::-1] + [start]
                        break
                    if w not in previous:
                        previous[w] = v
                        nxt.append(w)
                if path:
                    break
            frontier = nxt
        found.append(path)
    return found


def describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} (line {graph[a][b]}) -> {b}" for a, b in zip(cycle, cycle[1:])]
    return "; ".join(steps)



def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 20, "the package was not found"
    found = cycles(graph)
    lines = [f"{describe(c, graph)}   [group: {', '.join(groups_of(graph)[c[0]])}]" for c in found]
    assert not found, "import cycles:\n" + "\n".join(lines)


def groups_of(graph: dict[str, dict[str, int]]) -> dict[str, list[str]]:
    """Each module to the modules that can both reach it and be reached from it (itself included)."""

    def reach(v: str) -> set[str]:
        seen, todo = {v}, [v]
        while todo:
            for w in graph[todo.pop()]:
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen

    reachable = {v: reach(v) for v in graph}
    return {v: sorted(w for w in reachable[v] if v in reachable[w]) for v in graph}


@pytest.mark.parametrize(
    "files, expected",
    [
        # a function-level relative import closes a cycle just as a top-level one does
        ({"a.py": "from . import b\n", "b.py": "def f():\n    from .a import x\n"}, ["pkg.a", "pkg.b", "pkg.a"]),
        # `from .sub import mod` names a module inside a subpackage; absolute imports count too
        (
            {"a.py": "from .sub import c\n", "sub/__init__.py": "", "sub/c.py": "import pkg.a\n"},
            ["pkg.a", "pkg.sub.c", "pkg.a"],
        ),
        ({"a.py": "from . import b\n", "b.py": "import json\n"}, None),
    ],
)
def test_the_cycle_finder_sees_every_kind_of_import(tmp_path, files, expected):
    root = tmp_path / "pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    found = cycles(import_graph(root))
    assert found == ([expected] if expected else [])


def test_no_error_line_is_formatted_by_hand():
    """`path doc=ID /pointer [slug] message` is made by errors.Problem alone: a string literal in the
    package that writes a `[slug] ` itself is a second formatter (docstrings and comments aside)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if re.search(r"\[[a-z0-9]+(?:-[a-z0-9]+)+\] ", node.value):
                    found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value.strip()[:80]}")
    assert not found, "error lines formatted by hand (raise errors.ProblemError or use Problem(...).line()):\n" + "\n".join(found)


MAX_LINES = 100
# Functions in other developers' files that are still longer than MAX_LINES (issue 29): this
# list may only shrink; a new long function anywhere fails the test below.
LONG_FUNCTIONS: set[tuple[str, str]] = set()


def long_functions(root: Path = PACKAGE) -> dict[tuple[str, str], int]:
    """(module, function) -> its length in lines, for every function (methods and nested ones
    included) longer than MAX_LINES."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    found[(module_name(path, root), node.name)] = lines
    return found


def test_no_function_is_over_100_lines():
    found = long_functions()
    new = {k: v for k, v in found.items() if k not in LONG_FUNCTIONS}
    assert not new, f"functions over {MAX_LINES} lines (split them by concern): {new}"
    shorter = LONG_FUNCTIONS - set(found)
    assert not shorter, f"now at most {MAX_LINES} lines: take them off LONG_FUNCTIONS: {sorted(shorter)}"


def test_the_length_check_finds_a_long_function(tmp_path):
    package = tmp_path / "raidcorpus"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_LINES))
    (package / "long.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n", encoding="utf-8")
    assert long_functions(package) == {("raidcorpus.long", "long"): MAX_LINES + 1}
