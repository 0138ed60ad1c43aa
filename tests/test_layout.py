"""The house rules a newcomer relies on: no import cycles, and a README whose paths exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("appointments", "sandbox")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path, modules: set[str]) -> set[str]:
    """Project modules ``path`` imports, from every import statement in it, wherever it stands
    (inside a function or under ``TYPE_CHECKING`` too: a cycle hidden there is still one)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            # ``from pkg import module`` imports the module; ``from module import name`` the module.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, set[str]]:
    files = [
        path
        for package in packages
        for path in (root / package).rglob("*.py")
        if "migrations" not in path.parts
    ]
    modules = {_module_name(path, root) for path in files}
    return {_module_name(path, root): _imports(path, root, modules) for path in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One path per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ importing nothing of its own never closes a loop.
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_it_has_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_it_finds_a_cycle_hidden_in_a_function(tmp_path: Path) -> None:
    # The detector itself, on a package whose second module imports the first lazily.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("from pkg.b import thing\n")
    (tmp_path / "pkg" / "b.py").write_text("def thing():\n    from . import a\n    return a\n")
    (tmp_path / "pkg" / "c.py").write_text("import pkg.a\n")
    assert _cycles(_graph(tmp_path, ("pkg",))) == [["pkg.a", "pkg.b"]]


def test_every_path_the_readme_names_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(
        re.findall(
            r"`((?:appointments|sandbox|hubportal|templates|static|tests|bench)/[^`*<>{} ]*)`",
            readme,
        )
    )
    assert len(named) > 20, "the README's architecture table names the project's files"
    missing = sorted(path for path in named if not (ROOT / path.rstrip("/")).exists())
    assert missing == []
