"""The shape of the code base, checked: what a newcomer can rely on (docs/architecture.md).

The layers and the absence of import cycles are checked by ``lint-imports`` (pyproject.toml),
which ``./test`` runs before pytest; these tests check the rest of the contract.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "loopfind_core"
MAX_MODULE_LINES = 600
LAYERS = ("base", "features", "corpus", "retrieval", "library", "training", "research",
          "interactive")


def python_files(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_core_module_is_longer_than_600_lines():
    lengths = {p.relative_to(REPO): len(p.read_text().splitlines()) for p in python_files(CORE)}
    assert {p: n for p, n in lengths.items() if n > MAX_MODULE_LINES} == {}


def test_every_layer_says_its_job_and_what_it_may_import():
    for layer in LAYERS:
        docstring = ast.get_docstring(ast.parse((CORE / layer / "__init__.py").read_text()))
        assert docstring and "May import" in docstring, layer


def test_every_core_module_has_a_docstring():
    missing = [p.relative_to(REPO) for p in python_files(CORE)
               if p.name != "__main__.py" and not ast.get_docstring(ast.parse(p.read_text()))]
    assert missing == []


@pytest.mark.parametrize("folder", ["loopfind_core", "scripts", "pages", "loopfind_app",
                                    "testkit"])
def test_nothing_outside_tests_imports_from_tests(folder):
    offenders = [p.relative_to(REPO) for p in python_files(REPO / folder)
                 if any(m == "tests" or m.startswith("tests.") for m in imported_modules(p))]
    assert offenders == []


def test_the_core_never_imports_the_app_or_streamlit():
    offenders = {str(p.relative_to(REPO)): sorted(m for m in imported_modules(p)
                                                  if m.split(".")[0] in
                                                  ("streamlit", "loopfind_app"))
                 for p in python_files(CORE)}
    assert {p: m for p, m in offenders.items() if m} == {}
