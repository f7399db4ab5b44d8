"""The benchmark scripts use contrastkit as a user would: only names a module exports.

Every ``from contrastkit.X import name`` in ``benchmarks/`` must name a submodule or a name in
``contrastkit.X.__all__``; no leading-underscore names. ``NOT_EXPORTED_YET`` lists the names the
scripts still need that no ``__all__`` holds: each should be exported by the library (then
removed here), and the test fails when one is no longer used.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

NOT_EXPORTED_YET: set[tuple[str, str]] = set()


def imported_names() -> list[tuple[str, str, str]]:
    """(file:line, module, name) of every name imported from contrastkit in benchmarks/."""
    found = []
    for path in sorted(BENCHMARKS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("contrastkit"):
                where = f"{path.relative_to(BENCHMARKS)}:{node.lineno}"
                found += [(where, str(node.module), alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                where = f"{path.relative_to(BENCHMARKS)}:{node.lineno}"
                for alias in node.names:
                    if alias.name.startswith("contrastkit."):
                        module, _, name = alias.name.rpartition(".")
                        found.append((where, module, name))
    return found


def is_submodule(module: str, name: str) -> bool:
    try:
        importlib.import_module(f"{module}.{name}")
    except ImportError:
        return False
    return True


def test_benchmarks_import_only_exported_names() -> None:
    private, unexported, used = [], [], set()
    for where, module, name in imported_names():
        if name.startswith("_"):
            private.append(f"{where}: {module}.{name}")
        elif (module, name) in NOT_EXPORTED_YET:
            used.add((module, name))
        elif name not in getattr(importlib.import_module(module), "__all__", ()) and not (
            is_submodule(module, name)
        ):
            unexported.append(f"{where}: {module}.{name}")
    assert not private, private
    assert not unexported, f"not in the module's __all__: {unexported}"
    assert used == NOT_EXPORTED_YET, f"no longer imported: {sorted(NOT_EXPORTED_YET - used)}"
