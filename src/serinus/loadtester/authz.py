"""Who may ask the load tester for what: the namespace rule and the command allow-list.

Flagger's load tester runs any command for any caller that can reach it; its only guard is
``-namespace-regexp`` (the payload's namespace must match, searched anywhere in the name as Go's
``MatchString`` does). serinus keeps that flag and adds ``--allow-command``: when at least one rule
is given, a command runs only if one rule matches the *whole* command line (``re.fullmatch``), so a
rule such as ``hey -z \\S+ -q \\d+ -c \\d+ http://podinfo-canary\\.test:9898/`` cannot be widened by
appending ``; rm -rf /`` (write rules with ``\\S`` and explicit characters: a negated class such as
``[^;]*`` also matches a newline, which ``sh`` reads as a command separator). The routes in
:mod:`serinus.loadtester.app` ask :class:`Policy` before anything runs and answer 403 with the
returned text.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Policy:
    """The checks made before a payload is acted on. Empty rules allow everything (Flagger)."""

    namespace_regexp: re.Pattern[str] | None = None
    allowed_commands: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def from_patterns(cls, *, namespace: str | None, commands: Sequence[str]) -> Policy:
        """Compile the flag values; ValueError names the flag and the pattern that is not valid."""
        return cls(
            namespace_regexp=_compile("--namespace-regexp", namespace) if namespace else None,
            allowed_commands=tuple(_compile("--allow-command", rule) for rule in commands),
        )

    def namespace_denial(self, namespace: str) -> str | None:
        """Why ``namespace`` may not use this load tester, or None when it may."""
        if self.namespace_regexp is None or self.namespace_regexp.search(namespace):
            return None
        return (
            f"namespace {namespace} is not allowed: it does not match "
            f"--namespace-regexp {self.namespace_regexp.pattern!r}"
        )

    def command_denial(self, command_line: str) -> str | None:
        """Why ``command_line`` may not run, or None when it may."""
        if not self.allowed_commands:
            return None
        if any(rule.fullmatch(command_line) for rule in self.allowed_commands):
            return None
        rules = ", ".join(repr(rule.pattern) for rule in self.allowed_commands)
        return (
            f"command {command_line!r} is not allowed: it does not fully match "
            f"any --allow-command rule ({rules})"
        )


def _compile(flag: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{flag}: {pattern!r} is not a regular expression: {error}") from None
