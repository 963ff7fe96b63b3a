"""``serinus operator``'s options, built from the fields of ``OperatorSettings``.

Covers: without arguments the command hands over exactly the settings' defaults (each default is
written once, on the field); Flagger's spellings (single dash, ``-zap-encoding``) and values
(comma-separated lists, durations, switches, a bare flag) reach the settings typed; Flagger's
notifier environment variables set the global notifier; every flagged field has its option, and
nothing else does; ``-threadiness`` and ``-control-loop-interval`` are accepted, said to be
ignored, and change nothing; a bad duration or port names the option and exits 2.
"""

from __future__ import annotations

import dataclasses
import logging

import click
import pytest
from click.testing import CliRunner

from serinus.cli.operator import operator, settings_options
from serinus.operator.settings import NotifierSettings, OperatorSettings


def settings_of(*args: str, env: dict[str, str] | None = None) -> OperatorSettings:
    """What ``serinus operator ARGS`` hands to the operator (which is not started)."""
    got: list[OperatorSettings] = []
    command = click.command()(settings_options(got.append))
    result = CliRunner().invoke(command, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return got[0]


def test_no_arguments_give_the_defaults_of_the_settings() -> None:
    found = settings_of("--identity", "replica-0")
    defaults = OperatorSettings(kube=found.kube, identity="replica-0")
    assert found == defaults
    assert found.notifier == NotifierSettings()
    assert (found.kube.server, found.kube.kubeconfig, found.kube.context) == (None, None, None)


def test_flaggers_arguments_reach_the_settings_typed() -> None:
    found = settings_of(
        "-namespace=prod, staging",
        "-mesh-provider=linkerd",
        "-selector-labels=app,team.example.com/app",
        "-include-label-prefix=app.kubernetes.io",
        "--disable-config-tracking",
        "--no-track-secrets",
        "-enable-leader-election",
        "-min-interval=1s",
        "-port=9090",
        "-server=http://127.0.0.1:6443",
        "-slack-channel=alerts",
    )
    assert found.namespaces == ("prod", "staging")
    assert found.mesh_provider == "linkerd"
    assert found.selector_labels == ("app", "team.example.com/app")
    assert found.include_label_prefixes == ("app.kubernetes.io",)
    assert (found.config_tracking, found.track_secrets, found.leader_election) == (
        False,
        False,
        True,
    )
    assert (found.min_interval_seconds, found.port) == (1.0, 9090)
    assert found.kube.server == "http://127.0.0.1:6443"
    assert found.notifier.slack_channel == "alerts"
    assert found.identity  # host name and pid when not given


def test_the_notifier_comes_from_flaggers_environment_variables() -> None:
    env = {"SLACK_URL": "https://hooks.slack.example/T/B/x", "CLUSTER_NAME": "prod-eu"}
    found = settings_of(env=env)
    assert (found.notifier.slack_url, found.notifier.cluster_name) == (
        "https://hooks.slack.example/T/B/x",
        "prod-eu",
    )


def test_every_flagged_field_has_an_option_and_only_those() -> None:
    params = {param.name for param in operator.params}
    fields = [
        *dataclasses.fields(OperatorSettings),
        *dataclasses.fields(NotifierSettings),
    ]
    flagged = {field.name for field in fields if "flag" in field.metadata}
    unflagged = {field.name for field in fields if "flag" not in field.metadata}
    assert flagged <= params
    assert unflagged & params == set()
    assert not hasattr(OperatorSettings, "control_loop_seconds")


def test_flaggers_ignored_flags_are_accepted_and_said_to_be_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="serinus.operator"):
        found = settings_of("-threadiness=4", "-control-loop-interval=30s", "--identity", "r")
    assert found == settings_of("--identity", "r")
    said = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("-threadiness is accepted for Flagger compatibility") for m in said)
    assert any(m.startswith("-control-loop-interval is accepted") for m in said)


@pytest.mark.parametrize(
    ("args", "named"),
    [(("-min-interval=soon",), "-min-interval"), (("--port", "70000"), "--port")],
)
def test_a_bad_value_names_the_option(args: tuple[str, ...], named: str) -> None:
    command = click.command()(settings_options(lambda settings: None))
    result = CliRunner().invoke(command, list(args))
    assert result.exit_code == 2
    assert named in result.output
