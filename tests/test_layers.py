"""Rules of the code base that import-linter cannot express.

Covers: only `serinus.cli` reads settings from the environment or the command line
(`os.getenv`, `os.environ.get`, `os.environ[...]`, `sys.argv`; handing the whole environment on
to a child process is not reading a setting); every module of the package opens with a docstring
that says what lives there.
"""

from __future__ import annotations

import ast
import pathlib

SRC = pathlib.Path(__file__).parents[1] / "src" / "serinus"


def _modules() -> list[pathlib.Path]:
    return sorted(p for p in SRC.rglob("*.py") if "__pycache__" not in p.parts)


def test_only_the_cli_reads_the_environment_or_the_command_line() -> None:
    offenders = []
    for path in _modules():
        if path.relative_to(SRC).parts[0] == "cli":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if _reads_a_setting(node):
                offenders.append(f"{path.relative_to(SRC)}:{getattr(node, 'lineno', 0)}")
    assert offenders == []


def _is(node: ast.AST, module: str, attribute: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == attribute
        and isinstance(node.value, ast.Name)
        and node.value.id == module
    )


def _reads_a_setting(node: ast.AST) -> bool:
    """os.getenv(...), os.environ.get(...), os.environ[...], "X" in os.environ, sys.argv."""
    if _is(node, "os", "getenv") or _is(node, "sys", "argv"):
        return True
    if isinstance(node, ast.Subscript) and _is(node.value, "os", "environ"):
        return True
    if isinstance(node, ast.Attribute) and node.attr in ("get", "setdefault", "pop"):
        return _is(node.value, "os", "environ")
    if isinstance(node, ast.Compare):
        return any(_is(c, "os", "environ") for c in node.comparators)
    return False


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(p.relative_to(SRC))
        for p in _modules()
        if p.read_text().strip() and ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert missing == []
