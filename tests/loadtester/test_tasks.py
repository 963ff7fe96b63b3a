"""Task types and the runner: dedupe of background commands, timeouts, stopping.

Covers:
- two identical ``cmd`` calls for one canary while the first runs start one hey: the target
  server sees one run's requests, and ``commands_skipped`` counts the second call;
- once the command has ended, the same call starts it again;
- dedupe is per namespace and command, not per canary name (a name the caller chooses): the same
  command for two canaries of one namespace runs once, in two namespaces twice; two different
  commands for one canary both run;
- a background command over ``--timeout`` is killed with its whole process group (a child it
  started in the background dies too) and counted as failed;
- stopping the app (what SIGTERM does) stops running background and blocking commands, also a
  command whose 202 went out but whose process was still being started;
- the type registry: Flagger's names resolve, an unknown name is a PayloadError naming it rather
  than a fall back to ``cmd``; ``kubectl`` and ``helm`` command lines are built as ``kubectl ARGS``
  and ``helm ARGS``; ``cmd`` runs through ``sh -c`` without rules and as plain arguments with
  them.
"""

from __future__ import annotations

import asyncio
import os
import pathlib

import pytest

from serinus.loadtester import tasks
from serinus.loadtester.payload import Payload, PayloadError

# hey -n N -c 1 makes exactly N requests; the wait loop holds the command open until released.
HOLD = "while [ ! -e {release} ]; do sleep 0.02; done"


def held_hey(url: str, release: pathlib.Path, requests: int = 3) -> str:
    return f"hey -n {requests} -c 1 {url}; " + HOLD.format(release=release)


async def test_identical_cmd_while_running_starts_one_process(loadtester, target, tmp_path):
    release = tmp_path / "release"
    command = held_hey(target.url("/ok"), release)

    first = await loadtester.task({"cmd": command})
    second = await loadtester.task({"cmd": command})
    release.touch()
    await loadtester.wait_idle()

    assert first.status_code == 202
    assert second.status_code == 202
    assert target.hits("/ok") == 3
    samples = await loadtester.metrics()
    assert samples[("serinus_loadtester_commands_started_total", (("type", "cmd"),))] == 1
    assert samples[("serinus_loadtester_commands_skipped_total", (("type", "cmd"),))] == 1


async def test_same_command_runs_again_after_it_ended(loadtester, target):
    command = f"hey -n 3 -c 1 {target.url('/ok')}"

    await loadtester.task({"cmd": command})
    await loadtester.wait_idle()
    await loadtester.task({"cmd": command})
    await loadtester.wait_idle()

    assert target.hits("/ok") == 6


async def test_same_command_for_two_canaries_of_a_namespace_runs_once(loadtester, target, tmp_path):
    release = tmp_path / "release"
    command = held_hey(target.url("/ok"), release)

    await loadtester.task({"cmd": command}, name="podinfo")
    await loadtester.task({"cmd": command}, name="frontend")
    await loadtester.task({"cmd": command}, name="frontend", namespace="other")
    release.touch()
    await loadtester.wait_idle()

    assert target.hits("/ok") == 6


async def test_two_commands_for_one_canary_both_run(loadtester, target, tmp_path):
    release = tmp_path / "release"

    await loadtester.task({"cmd": held_hey(target.url("/ok"), release, requests=3)})
    await loadtester.task({"cmd": held_hey(target.url("/ok"), release, requests=2)})
    release.touch()
    await loadtester.wait_idle()

    assert target.hits("/ok") == 5


async def test_timeout_kills_the_whole_process_group(
    loadtester_factory, tmp_path, process_alive, wait_for_file
):
    tester = await loadtester_factory(task_timeout=0.5)
    child_pid = tmp_path / "child"

    # The shell starts a child in the background and waits: killing only the shell would leave it.
    await tester.task({"cmd": f"sleep 60 & echo $! > {child_pid}; wait"})
    pid = int(await wait_for_file(child_pid))
    await tester.wait_idle()

    assert not process_alive(pid)
    samples = await tester.metrics()
    assert samples[("serinus_loadtester_commands_failed_total", (("type", "cmd"),))] == 1


async def test_stopping_the_app_stops_running_commands(
    loadtester, tmp_path, process_alive, wait_for_file
):
    background_pid, blocking_pid = tmp_path / "background", tmp_path / "blocking"
    await loadtester.task({"cmd": f"sleep 60 & echo $! > {background_pid}; wait"})
    blocking = asyncio.create_task(
        loadtester.task({"type": "bash", "cmd": f"sleep 60 & echo $! > {blocking_pid}; wait"})
    )
    pids = [int(await wait_for_file(background_pid)), int(await wait_for_file(blocking_pid))]

    await loadtester.app.shutdown()

    assert not any(process_alive(pid) for pid in pids)
    response = await blocking
    assert response.status_code == 500
    assert "killed by signal" in response.text


def payload(metadata: dict[str, str]) -> Payload:
    return Payload(name="podinfo", namespace="test", phase="", checksum="", metadata=metadata)


def test_registry_resolves_flaggers_types_and_refuses_unknown_ones():
    assert set(tasks.TASK_TYPES) == {
        "cmd", "bash", "kubectl", "helm", "helmv3", "concord", "ngrinder"
    }  # fmt: skip
    assert tasks.build(payload({"type": "bash", "cmd": "true"}), locked=False).blocking
    assert not tasks.build(payload({"cmd": "true"}), locked=False).blocking
    with pytest.raises(PayloadError, match="unknown task type 'wrk'"):
        tasks.build(payload({"type": "wrk", "cmd": "wrk"}), locked=False)


@pytest.mark.parametrize(
    ("type_name", "cmd", "line", "argv"),
    [
        (
            "kubectl",
            "get deploy -n test",
            "kubectl get deploy -n test",
            ("kubectl", "get", "deploy", "-n", "test"),
        ),
        ("kubectl", "kubectl get 'a b'", "kubectl get 'a b'", ("kubectl", "get", "a b")),
        ("helmv3", "test app -n t", "helm test app -n t", ("helm", "test", "app", "-n", "t")),
        ("helm", "helm test podinfo", "helm test podinfo", ("helm", "test", "podinfo")),
    ],
)  # fmt: skip
def test_program_command_line_and_arguments(type_name, cmd, line, argv):
    task = tasks.build(payload({"type": type_name, "cmd": cmd}), locked=True)

    assert (task.line, task.argv, task.blocking) == (line, argv, True)


def test_cmd_runs_through_sh_without_rules_and_as_arguments_with_them():
    command = "hey -z 1m http://podinfo:9898/; echo done"

    open_task = tasks.build(payload({"cmd": command}), locked=False)
    locked_task = tasks.build(payload({"cmd": command}), locked=True)

    assert (open_task.line, open_task.argv) == (command, ("sh", "-c", command))
    assert locked_task.argv == ("hey", "-z", "1m", "http://podinfo:9898/;", "echo", "done")
    assert locked_task.line == "hey -z 1m 'http://podinfo:9898/;' echo done"


def processes_running(argv: list[str]) -> list[int]:
    """PIDs of processes whose command line is exactly ``argv``."""
    wanted = ("\0".join(argv) + "\0").encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if pathlib.Path(f"/proc/{pid}/cmdline").read_bytes() == wanted:
                found.append(int(pid))
        except OSError:
            continue
    return found


async def test_stopping_right_after_the_answer_leaves_no_process(loadtester):
    # The 202 goes out before the child is started: a stop in between must still reach it.
    argv = ["sleep", "77.123"]

    assert (await loadtester.task({"cmd": " ".join(argv)})).status_code == 202
    await loadtester.app.shutdown()

    assert processes_running(argv) == []
