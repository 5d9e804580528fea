"""No import cycles in ikefleet/, tasks/ and runbooks/, counting imports inside functions and under
TYPE_CHECKING too: a cycle held apart by a function-level import is still a cycle in the design."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"ikefleet": "ikefleet", "ikefleet.tasks": "tasks", "ikefleet.runbooks": "runbooks"}
SKIPPED = ("ikefleet.lab",)  # the lab is one package that only the CLI and tests import; judged on its own


def modules(root: Path, packages: dict[str, str] = PACKAGES, skipped: tuple[str, ...] = SKIPPED
            ) -> dict[str, Path]:
    """Module name -> file, for every Python file of the packages (installed names: ikefleet.tasks...)."""
    found: dict[str, Path] = {}
    for package, folder in packages.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            if not skipped or not name.startswith(skipped):
                found[name] = path
    return found


def imports(root: Path, packages: dict[str, str] = PACKAGES, skipped: tuple[str, ...] = SKIPPED
            ) -> dict[str, set[str]]:
    """Module -> the package modules it imports anywhere in its body (a package's own children excluded)."""
    mods = modules(root, packages, skipped)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                inside = name.startswith(target + ".")
                parent_package = inside and mods.get(target, path).name == "__init__.py"
                if target and target != name and not parent_package:
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of two or more modules (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in edges:
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_finder_sees_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    for folder in PACKAGES.values():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "ikefleet" / "a.py").write_text("from ikefleet.b import x\n")
    (tmp_path / "ikefleet" / "b.py").write_text("def x():\n    from ikefleet import a\n")
    (tmp_path / "tasks" / "c.py").write_text("from ikefleet.a import x\n")
    assert cycles(imports(tmp_path)) == [["ikefleet.a", "ikefleet.b"]]


def test_no_import_cycles() -> None:
    edges = imports(ROOT)
    assert len(edges) > 50  # the packages were found
    assert cycles(edges) == []
