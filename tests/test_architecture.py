"""The house rules, checked: no cross-package private import, no import cycle, no oversized module.

The layer order itself is an import-linter contract (``[tool.importlinter]`` in pyproject.toml, run
by ``lint-imports`` in .ci/run); this file checks what import-linter cannot express.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "pfs2c2"
MAX_LINES = 500
DATA_TABLES = {"sensors/catalog.py"}
"""Modules that are mostly data (band tables) and may be longer."""


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _package_of(module: str) -> str:
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = _package_of(module).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every pfs2c2 import of ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    type_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for inner in ast.walk(node)
    }
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if id(node) in type_only:  # imports for type hints only never run
            continue
        if isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.append((f"{target}.{alias.name}", None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, None, node.lineno) for alias in node.names)
    return [item for item in found if item[0] == "pfs2c2" or item[0].startswith("pfs2c2.")]


def _private_owner(module: str, name: str | None) -> str | None:
    """Who may import this: ``pkg._mod`` and ``pkg.mod._name`` are for ``pkg`` and below; the private
    names of a top-level module ``pfs2c2.mod`` are for that module alone.

    None if nothing private is imported."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    if name and name.startswith("_") and not name.startswith("__"):
        if module in MODULES and MODULES[module].name == "__init__.py":
            return module  # a package's private name: for its own modules
        parent = module.rpartition(".")[0]
        # a module's private name: for its package's modules; a top-level module is a package of its own
        return module if parent == "pfs2c2" else parent
    return None


def test_no_private_import_across_packages():
    bad = []
    for module in MODULES:
        for target, name, line in _imports(module):
            owner = _private_owner(target, name)
            if owner is not None and not (module == owner or module.startswith(owner + ".")):
                bad.append(
                    f"{MODULES[module].relative_to(PACKAGE)}:{line} imports {target}{'.' + name if name else ''}"
                )
    assert not bad, "private names imported from another package:\n" + "\n".join(bad)


def test_no_import_cycle_between_modules():
    graph = {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m} for m in MODULES}
    # A package __init__ that re-exports its submodules is not a cycle with them.
    for m in graph:
        graph[m] = {t for t in graph[m] if not (MODULES[t].name == "__init__.py" and m.startswith(t + "."))}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt) :] + [node, nxt] if nxt in stack else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, node]):
                return True
        state[node] = 2
        return False

    for m in sorted(graph):
        if state.get(m) is None and visit(m, []):
            break
    assert not cycle, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module):
    path = MODULES[module]
    relative = path.relative_to(PACKAGE).as_posix()
    lines = len(path.read_text().splitlines())
    assert relative in DATA_TABLES or lines <= MAX_LINES, f"{relative} has {lines} lines (at most {MAX_LINES})"
