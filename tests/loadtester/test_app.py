"""``POST /``, ``/healthz`` and ``/metrics`` of a real load tester on a loopback port.

Covers:
- 400 with a text naming the problem for a body that is not JSON, not an object, without ``name``,
  without ``metadata`` (Flagger's text), without ``cmd``, with a non-string metadata value or a
  bad boolean; an unknown ``type`` names itself and the supported types, and nothing runs;
- ``--namespace-regexp``: 403 (without the rule) and nothing runs for another namespace; a
  matching one runs;
- ``--allow-command``: 403 without listing the rules, and the refused command provably never ran
  (also when an allowed command carries a second one after ``;`` or a newline); a shell runs only
  when a rule starts with its name, ``.*`` is not enough; an allowed command runs;
- ``bash``: 200 on success (and it really is bash); 500 with exit code and stderr on failure;
- ``returnCmdOutput`` puts stdout in the body; without it the body is empty;
- ``kubectl``: the real kubectl with shell-split arguments (a leading ``kubectl`` is accepted);
  500 on failure;
- ``cmd``: 202 at once while the command keeps running; ``logCmdOutput`` logs the output, tagged
  with the canary;
- ``/healthz``; ``/metrics`` counts started and failed commands by type, refusals by reason.
"""

from __future__ import annotations

import logging

import pytest


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"not json", "payload is not JSON"),
        (b"[1, 2]", "payload: expected a JSON object, got an array"),
        (b'{"namespace": "test", "metadata": {"cmd": "true"}}', "payload.name"),
        (b'{"name": "podinfo", "namespace": "test"}', "metadata not found in payload"),
        (b'{"name": "podinfo", "namespace": "test", "metadata": {}}', "metadata not found"),
        (b'{"name": "p", "namespace": "t", "metadata": {"type": "bash"}}', "cmd not found"),
        (
            b'{"name": "p", "namespace": "t", "metadata": {"cmd": "true", "retries": 3}}',
            "metadata.retries: expected a string, got a number 3",
        ),
        (
            b'{"name": "p", "namespace": "t", "metadata": {"cmd": "x", "logCmdOutput": "yes"}}',
            "metadata.logCmdOutput",
        ),
        (
            b'{"name": "p", "namespace": "t", "metadata": {"type": "kubectl", "cmd": "get \'x"}}',
            "metadata.cmd: cannot split",
        ),
    ],
)
async def test_bad_payloads_get_400_with_a_text_naming_the_problem(loadtester, body, expected):
    response = await loadtester.post("/", content=body)

    assert response.status_code == 400
    assert expected in response.text


async def test_unknown_type_names_the_type_and_the_supported_ones(loadtester, tmp_path):
    marker = tmp_path / "ran"

    response = await loadtester.task({"type": "helm2", "cmd": f"touch {marker}"})

    assert response.status_code == 400
    assert "'helm2'" in response.text
    assert "bash, cmd, concord, helm, helmv3, kubectl, ngrinder" in response.text
    assert not marker.exists()


async def test_namespace_outside_the_regexp_is_refused_and_nothing_runs(
    loadtester_factory, tmp_path
):
    tester = await loadtester_factory(namespace="^prod$")
    marker = tmp_path / "ran"

    refused = await tester.task({"type": "bash", "cmd": f"touch {marker}"}, namespace="test")
    allowed = await tester.task({"type": "bash", "cmd": f"touch {marker}"}, namespace="prod")

    assert refused.status_code == 403
    assert "namespace 'test' is not allowed" in refused.text
    assert "^prod$" not in refused.text  # the rule is not the caller's business
    assert allowed.status_code == 200
    assert marker.exists()


async def test_a_command_outside_allow_command_is_refused_and_never_runs(
    loadtester_factory, tmp_path
):
    marker = tmp_path / "pwned"
    tester = await loadtester_factory(allow=(r"hey -n \d+ http://\S+", r"echo ok", r".*"))

    background = await tester.task({"cmd": f"touch {marker}"}, namespace="other")
    # No shell without a rule naming it first: ".*" does not allow bash (or sh).
    blocking = await tester.task({"type": "bash", "cmd": f"touch {marker}"})
    smuggled = await tester.task({"cmd": f"sh -c 'echo ok; touch {marker}'"})
    await tester.wait_idle()

    assert background.status_code == 202  # ".*" allows touch itself: the control
    for response in (blocking, smuggled):
        assert response.status_code == 403
        assert "no --allow-command rule starts with" in response.text
        assert r"\d+" not in response.text  # the rules are not listed
    marker.unlink()
    strict = await loadtester_factory(allow=(r"hey -n \d+ http://\S+", r"echo ok"))
    # A rule must match the whole command: an allowed prefix cannot carry a second command.
    chained = await strict.task({"cmd": f"echo ok; touch {marker}"})
    newline = await strict.task({"cmd": f"echo ok\ntouch {marker}"})
    await strict.wait_idle()
    for response in (chained, newline):
        assert response.status_code == 403
        assert "does not fully match any --allow-command rule" in response.text
    assert not marker.exists()
    samples = await tester.metrics()
    assert samples[("serinus_loadtester_requests_rejected_total", (("reason", "command"),))] == 2
    samples = await strict.metrics()
    assert samples[("serinus_loadtester_requests_rejected_total", (("reason", "command"),))] == 2
    assert ("serinus_loadtester_commands_started_total", (("type", "cmd"),)) not in samples


async def test_an_allowed_command_runs(loadtester_factory, tmp_path):
    marker = tmp_path / "ran"
    tester = await loadtester_factory(allow=(rf"bash -c 'touch {tmp_path}/\w+'",))

    response = await tester.task({"type": "bash", "cmd": f"touch {marker}"})

    assert response.status_code == 200
    assert marker.exists()


async def test_bash_failure_answers_500_with_exit_code_and_stderr(loadtester):
    response = await loadtester.task(
        {"type": "bash", "cmd": "echo to-stdout; echo 'token missing' >&2; exit 3"}
    )

    assert response.status_code == 500
    assert "exit code 3" in response.text
    assert "token missing" in response.text


async def test_bash_runs_in_bash_and_answers_200(loadtester):
    # [[ ]] exists in bash, not in POSIX sh: this fails if the command ran under sh.
    response = await loadtester.task({"type": "bash", "cmd": "[[ abc == a* ]]"})

    assert response.status_code == 200
    assert response.text == ""


async def test_return_cmd_output_puts_the_output_in_the_body(loadtester):
    response = await loadtester.task(
        {"type": "bash", "cmd": "echo token-42", "returnCmdOutput": "true"}
    )

    assert response.status_code == 200
    assert response.text == "token-42\n"


async def test_kubectl_runs_kubectl_with_split_arguments(loadtester):
    ok = await loadtester.task(
        {"type": "kubectl", "cmd": "version --client -o 'json'", "returnCmdOutput": "true"}
    )
    with_prefix = await loadtester.task({"type": "kubectl", "cmd": "kubectl version --client"})
    failed = await loadtester.task({"type": "kubectl", "cmd": "no-such-subcommand"})

    assert ok.status_code == 200
    assert '"clientVersion"' in ok.text
    assert with_prefix.status_code == 200
    assert failed.status_code == 500
    assert "no-such-subcommand" in failed.text


async def test_cmd_answers_202_while_the_command_keeps_running(loadtester, tmp_path):
    release = tmp_path / "release"
    done = tmp_path / "done"

    response = await loadtester.task(
        {"cmd": f"while [ ! -e {release} ]; do sleep 0.02; done; touch {done}"}
    )
    assert response.status_code == 202
    assert not done.exists()

    release.touch()
    await loadtester.wait_idle()
    assert done.exists()


async def test_log_cmd_output_logs_what_the_command_printed(loadtester, caplog):
    caplog.set_level(logging.INFO, logger="serinus.loadtester")

    await loadtester.task({"cmd": "echo quiet-output"})
    await loadtester.wait_idle()
    await loadtester.task({"cmd": "echo loud-output", "logCmdOutput": "true"})
    await loadtester.wait_idle()

    messages = [record.getMessage() for record in caplog.records]
    assert any("loud-output" in message and "Command output" in message for message in messages)
    assert not any("Command output" in message and "quiet" in message for message in messages)
    assert any(getattr(record, "canary", None) == "podinfo.test" for record in caplog.records)


async def test_healthz(loadtester):
    response = await loadtester.client.get(loadtester.base + "/healthz")

    assert response.status_code == 200


async def test_metrics_count_commands_by_type_and_outcome(loadtester):
    await loadtester.task({"type": "bash", "cmd": "true"})
    await loadtester.task({"type": "bash", "cmd": "false"})
    await loadtester.task({"cmd": "false"})
    await loadtester.post("/", content=b"{")
    await loadtester.wait_idle()

    samples = await loadtester.metrics()

    assert samples[("serinus_loadtester_commands_started_total", (("type", "bash"),))] == 2
    assert samples[("serinus_loadtester_commands_failed_total", (("type", "bash"),))] == 1
    assert samples[("serinus_loadtester_commands_started_total", (("type", "cmd"),))] == 1
    assert samples[("serinus_loadtester_commands_failed_total", (("type", "cmd"),))] == 1
    assert (
        samples[("serinus_loadtester_requests_rejected_total", (("reason", "bad_request"),))] == 1
    )
