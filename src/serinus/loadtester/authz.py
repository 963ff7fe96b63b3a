"""Who may ask the load tester for what: the namespace rule and the command allow-list.

Flagger's load tester runs any command for any caller that can reach it, through ``sh -c``; its
only guard is ``-namespace-regexp``. serinus keeps that flag and adds ``--allow-command``. With at
least one rule set:

* a command is split into arguments as a shell would (``shlex``) and **run without a shell**, so
  ``;``, ``|``, ``$(...)``, backticks and newlines are plain characters of an argument;
* a rule must match the *whole* :func:`command line <command_line>` (``re.fullmatch``): the
  arguments joined back with ``shlex.join``, so an argument that holds anything a shell would read
  specially is shown in single quotes, and a rule such as
  ``curl -sf http://podinfo-canary(\\.prod)?:9898/\\S*`` cannot match ``.../;id`` or ``.../$(id)``
  (the quoted argument starts with ``'``);
* a program that runs other programs (a shell, ``env``, ``xargs``, an interpreter: see
  :data:`RUNNERS`) runs only when a rule *starts with its name*: ``.*`` or ``\\S+ -c .*`` do not
  hand out a shell, ``bash -c \\./smoke\\.sh`` does. ``bash`` tasks are such commands.

Every pattern is matched with ``fullmatch`` (the namespace rule too), so ``$`` never matches before
a trailing newline. Refusals name what was refused and why, quote at most
:data:`~serinus.loadtester.payload.QUOTE_LIMIT` characters of the command, and never list the rules
(a caller learns nothing that helps to get around them). The routes in
:mod:`serinus.loadtester.app` ask :class:`Policy` before anything runs and answer 403 with the
returned text.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Sequence

from serinus.loadtester.payload import quote

RUNNERS = frozenset(
    {
        # shells
        "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox",
        # programs whose arguments are another program or a script
        "env", "xargs", "nohup", "setsid", "timeout", "nice", "ionice", "stdbuf", "chroot",
        "unshare", "nsenter", "flock", "watch", "script", "strace", "su", "sudo", "doas",
        "runuser", "python", "perl", "ruby", "node", "php", "lua", "tclsh", "awk", "gawk",
        "mawk", "find", "parallel", "make",
    }
)  # fmt: skip
"""Programs that run other programs: allowed only by a rule that names them first. A version
suffix does not hide one (``python3.11``, ``bash5``). The list stops a careless rule such as ``.*``
from handing out a shell; it cannot make a broad rule narrow (``tar``, ``git`` or GNU ``sed`` can
run programs too), so write each rule for the exact command you mean."""

_VERSION = re.compile(r"[\d.]+$")


def command_line(argv: Sequence[str]) -> str:
    """What the rules match and the logs show: ``argv`` joined back with shell quoting."""
    return shlex.join(argv)


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

    @property
    def locked(self) -> bool:
        """Whether rules are set: then commands run without a shell."""
        return bool(self.allowed_commands)

    def namespace_denial(self, namespace: str) -> str | None:
        """Why ``namespace`` may not use this load tester, or None when it may."""
        if self.namespace_regexp is None or self.namespace_regexp.fullmatch(namespace):
            return None
        return f"namespace {quote(namespace)} is not allowed here (--namespace-regexp)"

    def command_denial(self, argv: Sequence[str]) -> str | None:
        """Why the command ``argv`` may not run, or None when it may."""
        if not self.allowed_commands:
            return None
        line = command_line(argv)
        program = argv[0] if argv else ""
        rules = self.allowed_commands
        if _VERSION.sub("", program.rsplit("/", 1)[-1]) in RUNNERS:
            rules = tuple(rule for rule in rules if _names_first(rule, program))
            if not rules:
                return (
                    f"command refused: {quote(program)} runs other programs, and no "
                    f"--allow-command rule starts with {quote(program + ' ')}"
                )
        if any(rule.fullmatch(line) for rule in rules):
            return None
        return f"command refused: {quote(line)} does not fully match any --allow-command rule"

    def task_denial(self, line: str) -> str | None:
        """Why a task that runs no program (``concord``, ``ngrinder``) may not run, or None."""
        if not self.allowed_commands or any(r.fullmatch(line) for r in self.allowed_commands):
            return None
        return f"task refused: {quote(line)} does not fully match any --allow-command rule"


def _names_first(rule: re.Pattern[str], program: str) -> bool:
    return rule.pattern.startswith((program + " ", re.escape(program) + " "))


def _compile(flag: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{flag}: {pattern!r} is not a regular expression: {error}") from None
