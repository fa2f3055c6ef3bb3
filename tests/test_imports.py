"""The import graph keeps its layers: nothing imports upward, nothing in a cycle, no hidden imports.

Layers, lowest first: questionnaires (the engine and the journey) ← storage ← analysis ←
bot / web ← enkatbot (the command-line entry points). A module may import its own layer and
lower ones only. Imports inside functions hide dependencies (and cycles) from readers and
tools, so they are allowed only as a deliberate lazy import of something heavy, said so in
a comment ("Lazy: …", "Imported on first use: …") in the same function before the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.pure

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("questionnaires", "storage", "analysis", "bot", "web", "enkatbot")
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "questionnaires": ("storage", "analysis", "bot", "web", "enkatbot"),
    "storage": ("analysis", "bot", "web", "enkatbot"),
    "analysis": ("bot", "web", "enkatbot"),
    "bot": ("enkatbot",),
    "web": ("enkatbot",),
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom | ast.Import) -> list[str]:
    """Return the first-party modules an import statement names."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            anchor = module.split(".")[: len(module.split(".")) - node.level + (
                1 if MODULES[module].name == "__init__.py" else 0)]
            base = ".".join([*anchor, base] if base else anchor)
        # `from pkg import mod` imports the module pkg.mod when there is one.
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                 for a in node.names]
    return [n for n in names if n.split(".")[0] in PACKAGES]


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _top_level_imports(module: str, tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in tree.body:
        blocks: list[ast.stmt] = [node]
        if isinstance(node, ast.If) and not _is_type_checking(node):
            blocks = [*node.body, *node.orelse]
        if isinstance(node, ast.Try):
            blocks = [*node.body, *node.orelse, *node.finalbody]
        for stmt in blocks:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                found.update(_resolve(module, stmt))
    return found


def _graph() -> dict[str, set[str]]:
    return {
        module: {m for m in _top_level_imports(module, ast.parse(path.read_text())) if m != module}
        for module, path in MODULES.items()
    }


def test_the_import_scan_sees_the_tree() -> None:
    graph = _graph()
    assert "questionnaires.flow" in graph and "bot.participant" in graph
    assert "questionnaires.flow" in graph["bot.participant"]
    assert "storage" in graph["bot.survey"]


def test_no_module_imports_upward() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in sorted(targets)
        if target.split(".")[0] in FORBIDDEN.get(module.split(".")[0], ())
    ]
    assert upward == []


def test_no_import_cycle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    # A package importing its own submodules from __init__ is no cycle worth the name.
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c[1:])]
    assert real == []


def test_imports_inside_functions_are_only_deliberate_lazy_ones() -> None:
    hidden = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        for func in ast.walk(ast.parse(source)):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                before = lines[func.lineno - 1: node.lineno - 1]
                said = ("lazy", "on first use")
                if not any("#" in line and any(w in line.lower() for w in said)
                           for line in before):
                    hidden.append(f"{module}:{node.lineno} {ast.unparse(node)}")
    assert hidden == []
