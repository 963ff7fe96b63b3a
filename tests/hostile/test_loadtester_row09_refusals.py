"""Issue 10, row 9: a refused command's 403 listed every rule and echoed the whole command (900 KB
tried) into the answer and the log.

Here a refusal names what was refused and why, quotes at most 64 characters of the command, never
shows a rule, and the log line is as short; a 900 KB command is refused (413) unread, and the
namespace rule is not shown either.
"""

from __future__ import annotations

RULE = r"hey -z \d+m http://podinfo-canary\.prod:9898/internal-only-[a-z]+"


async def test_a_refusal_is_short_and_shows_no_rule(start_loadtester):
    tester = await start_loadtester(f"--allow-command={RULE}", "--namespace-regexp=prod|team-x")
    long_command = "curl http://attacker.example/" + "A" * 60_000

    refused = await tester.task({"cmd": long_command})
    huge = await tester.task({"cmd": "curl " + "B" * 900_000})
    other_namespace = await tester.task({"cmd": "true"}, namespace="staging")

    assert refused.status_code == 403
    assert refused.text.startswith("command refused: 'curl http://attacker.example/AAAA")
    assert f"({len(long_command)} characters)" in refused.text
    assert len(refused.text) < 200
    assert huge.status_code == 413
    assert len(huge.text) < 100
    assert other_namespace.status_code == 403
    assert "team-x" not in other_namespace.text
    for answer in (refused, huge, other_namespace):
        assert "internal-only" not in answer.text
    log = tester.log()
    assert "internal-only" not in log
    assert "team-x" not in log
    assert "A" * 100 not in log
    assert "B" * 100 not in log
    assert max(len(line) for line in log.splitlines()) < 1000
