"""Reading ``hey``'s text summary, because hey's exit code says nothing.

``hey`` exits 0 even when every request was refused or answered 500, so a load tester that only
looks at the exit status reports a dead target as a good load test. After a command that runs hey
finishes, :mod:`serinus.loadtester.tasks` hands its standard output to :func:`parse_reports` and
logs :func:`describe` of each report; :mod:`serinus.loadtester.metrics` exports the counts.

hey (0.1.x) prints sections headed by an unindented line: ``Summary:`` (Total, Slowest, Fastest,
Average in seconds, Requests/sec), ``Latency distribution:`` (``99% in 0.0120 secs``),
``Status code distribution:`` (``[200] 16 responses``) and ``Error distribution:``
(``[5] Get "http://…": … connection refused``). Two quirks are handled here: averages are
printed as ``NaN`` when no response came back, and a percentile hey could not compute is printed
as ``0% in 0.0000 secs``, which is dropped rather than read as a real 0th percentile.
"""

from __future__ import annotations

import dataclasses
import math
import re
import shlex

_SECONDS = re.compile(r"^\s+(Total|Slowest|Fastest|Average):\s+(\S+) secs")
_RATE = re.compile(r"^\s+Requests/sec:\s+(\S+)")
_PERCENTILE = re.compile(r"^\s+(\d+(?:\.\d+)?)% in (\S+) secs")
_STATUS = re.compile(r"^\s+\[(\d+)\]\s+(\d+) responses")
_ERROR = re.compile(r"^\s+\[(\d+)\]\s+(.*\S)")
_SECTION = re.compile(r"^(\S.*):\s*$")
_RATE_LINE = re.compile(r"(?m)^\s+Requests/sec:")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPER_ARG = re.compile(r"^(-\S*|[\d.]+[smhd]?)$")
# Words that run the command after them: ``timeout 70s hey ...``, ``exec hey ...``.
_WRAPPERS = frozenset({"exec", "command", "time", "nice", "nohup", "env", "timeout", "stdbuf"})


@dataclasses.dataclass(frozen=True)
class HeyReport:
    """What one hey run reported. Times are seconds; None where hey printed NaN or nothing."""

    total_seconds: float | None
    slowest: float | None
    fastest: float | None
    average: float | None
    requests_per_second: float | None
    percentiles: dict[float, float]
    """Latency by percentile (50.0 -> seconds), only those hey actually computed."""
    status_codes: dict[int, int]
    """Responses per HTTP status code."""
    errors: dict[str, int]
    """Requests that got no response, per error text (refused, timed out, ...)."""

    @property
    def responses(self) -> int:
        return sum(self.status_codes.values())

    @property
    def failed_requests(self) -> int:
        return sum(self.errors.values())

    @property
    def requests(self) -> int:
        """Every request hey made: those answered plus those that got no answer."""
        return self.responses + self.failed_requests

    @property
    def successes(self) -> int:
        """Requests answered with a 2xx or 3xx status."""
        return sum(count for code, count in self.status_codes.items() if 200 <= code < 400)

    @property
    def all_failed(self) -> bool:
        """True when not one request succeeded (including a run that made no request at all)."""
        return self.successes == 0


def mentions_hey(command_line: str) -> bool:
    """Whether a shell command line runs ``hey``: as the program of one of its simple commands.

    ``hey -z 1m URL``, ``/usr/bin/hey ...``, ``sleep 1 && hey ...`` and ``timeout 70s hey ...`` do;
    ``curl -d hey URL`` does not.
    """
    try:
        lexer = shlex.shlex(command_line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        words = list(lexer)
    except ValueError:
        words = command_line.split()
    at_program, after_wrapper = True, False
    for word in words:
        program = word.rsplit("/", 1)[-1]
        if word and all(char in "();<>|&" for char in word):
            at_program, after_wrapper = True, False
        elif not at_program:
            continue
        elif program == "hey":
            return True
        elif program in _WRAPPERS:
            after_wrapper = True
        elif not _ASSIGNMENT.match(word) and not (after_wrapper and _WRAPPER_ARG.match(word)):
            at_program = False
    return False


def parse_reports(output: str) -> list[HeyReport]:
    """Every hey summary in ``output``, in order (a command may run hey more than once)."""
    chunks = re.split(r"(?m)^Summary:\s*$", output)
    return [_parse_one(chunk) for chunk in chunks[1:] if _RATE_LINE.search(chunk)]


def _parse_one(text: str) -> HeyReport:
    seconds: dict[str, float | None] = {}
    rate: float | None = None
    percentiles: dict[float, float] = {}
    codes: dict[int, int] = {}
    errors: dict[str, int] = {}
    section = "Summary"
    for line in text.splitlines():
        if header := _SECTION.match(line):
            section = header.group(1)
            continue
        if section == "Summary":
            if match := _SECONDS.match(line):
                seconds[match.group(1)] = _number(match.group(2))
            elif match := _RATE.match(line):
                rate = _number(match.group(1))
        elif section == "Latency distribution" and (match := _PERCENTILE.match(line)):
            percent, value = float(match.group(1)), _number(match.group(2))
            if percent > 0 and value is not None:
                percentiles[percent] = value
        elif section == "Status code distribution" and (match := _STATUS.match(line)):
            codes[int(match.group(1))] = codes.get(int(match.group(1)), 0) + int(match.group(2))
        elif section == "Error distribution" and (match := _ERROR.match(line)):
            errors[match.group(2)] = errors.get(match.group(2), 0) + int(match.group(1))
    return HeyReport(
        total_seconds=seconds.get("Total"),
        slowest=seconds.get("Slowest"),
        fastest=seconds.get("Fastest"),
        average=seconds.get("Average"),
        requests_per_second=rate,
        percentiles=percentiles,
        status_codes=codes,
        errors=errors,
    )


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


def describe(canary: str, report: HeyReport) -> str:
    """One log line: ``hey finished for podinfo.prod: 1200 requests, 1188 [200], 12 [500], ...``."""
    parts = [f"{report.requests} requests"]
    parts += [f"{count} [{code}]" for code, count in sorted(report.status_codes.items())]
    if report.failed_requests:
        parts.append(f"{report.failed_requests} without response")
    if report.requests_per_second is not None:
        parts.append(f"{report.requests_per_second:.1f} req/s")
    p99 = report.percentiles.get(99.0)
    parts.append(f"p99 {p99:.3f}s" if p99 is not None else "p99 n/a")
    if report.slowest is not None and report.responses:
        parts.append(f"slowest {report.slowest:.3f}s")
    errors = "; ".join(f"[{count}] {text[:200]}" for text, count in report.errors.items())
    parts.append(f"errors: {errors or 'none'}")
    return f"hey finished for {canary}: " + ", ".join(parts)
