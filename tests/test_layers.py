"""Rules of the code base that import-linter cannot express.

Covers: only `serinus.cli` reads the environment or the command line (os.environ, os.getenv,
sys.argv); every module of the package opens with a docstring that says what lives there.
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
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "argv"):
                if isinstance(node.value, ast.Name) and node.value.id in ("os", "sys"):
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert offenders == []


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(p.relative_to(SRC))
        for p in _modules()
        if p.read_text().strip() and ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert missing == []
