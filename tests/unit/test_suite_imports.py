"""The test suite's own layout: shared helpers live in support modules, never in tests.

A test module or conftest that imports another test module (or a conftest) couples
files that pytest collects independently: fixtures and helpers leak between them and
moving one file breaks another. Support modules (tests/factories.py, tests/*_support.py,
tests/support_*.py, ...) are the one place helpers are shared from.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _is_test_module(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_")


def imported_test_modules(path: Path) -> list[str]:
    """Every test module or conftest that ``path`` imports, anywhere in the file."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if _is_test_module(module):
                found.append(module)
            elif node.level or module == "tests" or module.startswith("tests."):
                # `from tests.unit import test_x` or `from . import conftest`
                prefix = module if module.endswith(".") else module + "."
                found += [
                    prefix + a.name for a in node.names if _is_test_module(a.name)
                ]
    return found


def test_no_test_module_or_conftest_imports_another() -> None:
    files = [*TESTS.rglob("test_*.py"), *TESTS.rglob("conftest.py")]
    assert len(files) > 40  # the walk really found the suite
    offenders = {
        str(path.relative_to(TESTS)): names
        for path in sorted(files)
        if (names := imported_test_modules(path))
    }
    assert not offenders, f"import helpers from a support module instead: {offenders}"


def test_support_modules_import_no_test_module_or_conftest() -> None:
    support = [
        path
        for path in TESTS.rglob("*.py")
        if path.name != "conftest.py" and not path.name.startswith("test_")
    ]
    offenders = {
        str(path.relative_to(TESTS)): names
        for path in sorted(support)
        if (names := imported_test_modules(path))
    }
    assert not offenders, f"support modules must not depend on tests: {offenders}"


def test_the_check_sees_every_form_of_import(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text(
        "import tests.unit.test_a\n"
        "from tests.conftest import x\n"
        "from tests.unit import test_b\n"
        "from . import conftest\n"
        "from .test_c import y\n"
        "def f():\n"
        "    from tests.integration.test_d import z\n"
        "from tests.factories import make_tenant\n"
        "from tests import factories\n",
        encoding="utf-8",
    )
    assert sorted(imported_test_modules(sample)) == [
        ".conftest",
        ".test_c",
        "tests.conftest",
        "tests.integration.test_d",
        "tests.unit.test_a",
        "tests.unit.test_b",
    ]
