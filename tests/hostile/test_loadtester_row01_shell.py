"""Issue 10, row 1: the documented locked-down rules must not let shell syntax through.

The docs (docs/install.md) and the chart (``ci/locked-down-values.yaml``) allow
``curl -sf http://podinfo-canary(\\.prod)?:9898/\\S*``. With Flagger's ``sh -c``, ``\\S*`` matched
``;``, ``$(...)``, backticks and ``||``, and anyone who could reach the load tester ran what they
liked. Here every one of those payloads, as a ``cmd`` (background) and as a ``bash`` task, is
refused with 403, the load tester starts nothing, and no file appears anywhere.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
LOCKED_DOWN = REPO / "deploy" / "charts" / "loadtester" / "ci" / "locked-down-values.yaml"
URL = "http://podinfo-canary:9898/"


def payloads(marker: pathlib.Path) -> list[str]:
    """Issue 10's payloads, each trying to create ``marker`` (or ``x`` in the working directory)."""
    return [
        f"curl -sf {URL};touch${{IFS}}{marker};uname${{IFS}}-n",
        f"curl -sf {URL}$(touch${{IFS}}{marker})",
        f"curl -sf {URL}`touch${{IFS}}{marker}`",
        f"curl -sf {URL}||touch${{IFS}}{marker}",
        f"curl -sf {URL} || touch {marker}",
        f"curl -sf {URL}\ntouch {marker}",
        f"curl -sf {URL}$(touch${{IFS}}x)",
    ]


def locked_down_flags() -> list[str]:
    values = yaml.safe_load(LOCKED_DOWN.read_text())
    flags = [f"--namespace-regexp={values['namespaceRegexp']}"]
    flags += [f"--allow-command={rule}" for rule in values["allowCommands"]]
    assert any(r"\S*" in rule for rule in values["allowCommands"]), "the rule under test is gone"
    return flags


@pytest.mark.parametrize("task_type", ["cmd", "bash"])
async def test_the_documented_rules_refuse_every_shell_payload(
    start_loadtester, tmp_path, task_type
):
    tester = await start_loadtester(*locked_down_flags())
    marker = tmp_path / "pwned"

    answers = [
        await tester.task({"type": task_type, "cmd": command}) for command in payloads(marker)
    ]
    await tester.wait_idle()

    assert [answer.status_code for answer in answers] == [403] * len(answers)
    assert not marker.exists()
    assert list(tester.cwd.iterdir()) == []
    samples = (await tester.client.get(tester.base + "/metrics")).text
    assert "serinus_loadtester_commands_started_total{" not in samples
