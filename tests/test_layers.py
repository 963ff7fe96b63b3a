"""Rules of the code base that import-linter cannot express.

Covers: only `serinus.cli` touches the environment or the command line (`os.environ` in any use,
`os.getenv`, `os.environb`, `sys.argv`, or those names imported from `os`/`sys`): what a module
below needs of it, even the whole environment for a child process, the CLI hands in; every
module of the package opens with a docstring that says what lives there.
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


_ENVIRONMENT = {("os", "environ"), ("os", "environb"), ("os", "getenv"), ("os", "getenvb")}
_COMMAND_LINE = {("sys", "argv"), ("sys", "orig_argv")}


def _reads_a_setting(node: ast.AST) -> bool:
    """os.environ (any use), os.getenv(...), sys.argv, or one of them imported by name."""
    touched = _ENVIRONMENT | _COMMAND_LINE
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return (node.value.id, node.attr) in touched
    if isinstance(node, ast.ImportFrom) and node.module in ("os", "sys"):
        return any((node.module, alias.name) in touched for alias in node.names)
    return False


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(p.relative_to(SRC))
        for p in _modules()
        if p.read_text().strip() and ast.get_docstring(ast.parse(p.read_text())) is None
    ]
    assert missing == []
