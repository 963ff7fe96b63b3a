"""Reading hey's summary, on output of the real ``hey`` binary.

Covers:
- a run against a target answering 200s and 500s: the parsed status-code counts equal what the
  server counted, requests add up, times and requests/sec are read, percentiles are in order;
- a run against a refused port: no status codes, every request in the error distribution with
  hey's error text, no NaN leaking into the numbers, and the run counts as all failed (while hey
  still exited 0, which is why the summary must be read);
- two hey runs in one command's output give two reports;
- the log line names the canary, the counts per code, p99 and the errors;
- which command lines run hey.
"""

from __future__ import annotations

import asyncio

import pytest

from serinus.loadtester import hey


async def run_hey(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        "hey", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stdout.decode()


async def test_parsed_counts_match_what_the_server_counted(target):
    _, output = await run_hey("-n", "40", "-c", "2", target.url("/mixed"))

    [report] = hey.parse_reports(output)

    assert report.status_codes == {200: target.hits("/mixed", 200), 500: target.hits("/mixed", 500)}
    assert report.status_codes == {200: 30, 500: 10}
    assert report.requests == 40
    assert report.errors == {}
    assert not report.all_failed
    assert report.requests_per_second is not None
    assert report.requests_per_second > 0
    assert report.fastest is not None
    assert report.slowest is not None
    assert report.average is not None
    assert report.fastest <= report.average <= report.slowest
    assert report.percentiles[50.0] <= report.percentiles[90.0]
    assert 0.0 not in report.percentiles


async def test_connection_refused_run(refused_url):
    exit_code, output = await run_hey("-n", "5", "-c", "1", refused_url)

    [report] = hey.parse_reports(output)

    assert exit_code == 0
    assert report.status_codes == {}
    assert report.requests == 5
    [(text, count)] = report.errors.items()
    assert count == 5
    assert "connection refused" in text
    assert report.average is None
    assert report.all_failed
    line = hey.describe("podinfo.test", report)
    assert line.startswith("hey finished for podinfo.test: 5 requests, 5 without response")
    assert "connection refused" in line


async def test_two_runs_in_one_output_give_two_reports(target):
    _, first = await run_hey("-n", "3", "-c", "1", target.url("/ok"))
    _, second = await run_hey("-n", "2", "-c", "1", target.url("/fail"))

    reports = hey.parse_reports(first + second)

    assert [r.status_codes for r in reports] == [{200: 3}, {500: 2}]
    assert reports[1].all_failed


async def test_log_line_names_canary_codes_p99_and_errors(target):
    _, output = await run_hey("-n", "200", "-c", "2", target.url("/mixed"))
    [report] = hey.parse_reports(output)

    line = hey.describe("podinfo.prod", report)

    assert line.startswith("hey finished for podinfo.prod: 200 requests, 150 [200], 50 [500]")
    assert f"p99 {report.percentiles[99.0]:.3f}s" in line
    assert line.endswith("errors: none")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/", True),
        ("/usr/local/bin/hey -z 1m http://podinfo/", True),
        ("sleep 1 && hey -n 1 http://podinfo/", True),
        ("curl -sd 'hey' http://podinfo-canary/token | grep token", False),
        ("timeout 70s hey -z 1m http://podinfo/", True),
        ("QPS=10 exec hey -z 1m http://podinfo/", True),
        ("echo they", False),
        ("echo hey", False),
    ],
)
def test_which_commands_run_hey(command, expected):
    assert hey.mentions_hey(command) is expected
