"""The load tester's Helm chart (deploy/charts/loadtester), rendered with ``helm template``.

Covers:
- ``helm lint --strict`` finds nothing to warn about;
- the seed's install (release load-tester in prod, ``fullnameOverride: load-tester``) gives a
  Service named load-tester in prod whose port 80 reaches the port the load tester listens on
  (8080), and a Deployment named load-tester (the seed finds the pod with ``grep load-tester``);
- the defaults and every ci/*-values.yaml file render objects that pass the Kubernetes schemas;
- ``allowCommands`` becomes one ``--allow-command`` per entry, and a real ``serinus loadtester``
  started with the rendered arguments answers the probe path, refuses a command outside the list
  and a namespace outside ``namespaceRegexp`` (403), while the seed's load test is allowed;
- the gate state file lives on the state volume: an emptyDir by default, a PersistentVolumeClaim
  (and the Recreate strategy) with persistence;
- kubectl RBAC is off by default (no Role, no API token in the pod) and, when on, binds the
  read-only rules to the load tester's ServiceAccount, in the namespace or cluster-wide;
- bad values are refused with a message naming them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import pathlib
import re
import shlex
import sys
from collections.abc import AsyncIterator
from typing import Any

import click
import httpx
import pytest
import yaml

from serinus.cli import loadtester as loadtester_cli
from serinus.loadtester.authz import Policy
from tests.deploy.support import (
    LOADTESTER_CHART,
    REPO,
    Manifest,
    RenderError,
    container,
    helm_lint,
    helm_template,
    kinds,
    only,
    validate,
)

CI_VALUES = sorted((LOADTESTER_CHART / "ci").glob("*-values.yaml"))
SEED_CANARY = REPO / "examples" / "podinfo-canary.yaml"
START_SECONDS = 30.0


def render(
    *values: str, set_values: tuple[str, ...] = (), namespace: str = "prod"
) -> list[Manifest]:
    return helm_template(
        LOADTESTER_CHART,
        release="load-tester",
        namespace=namespace,
        values=[LOADTESTER_CHART / "ci" / name for name in values],
        set_values=set_values,
    )


def seed_load_test() -> tuple[str, str]:
    """The webhook URL and command of the seed's Canary."""
    canary = yaml.safe_load(SEED_CANARY.read_text())
    [hook] = canary["spec"]["canaryAnalysis"]["webhooks"]
    return hook["url"], hook["metadata"]["cmd"]


def test_the_seeds_install_serves_the_seeds_webhook_url(tmp_path: pathlib.Path) -> None:
    url, _ = seed_load_test()
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"fullnameOverride": "load-tester"}))
    manifests = helm_template(
        LOADTESTER_CHART, release="load-tester", namespace="prod", values=[values]
    )
    validate(manifests)
    service = only(manifests, "Service")
    assert url == f"http://{service['metadata']['name']}.{service['metadata']['namespace']}/"
    [port] = service["spec"]["ports"]
    assert port["port"] == 80
    deployment = only(manifests, "Deployment", "load-tester")
    assert deployment["metadata"]["namespace"] == "prod"
    tester = container(deployment)
    [target] = [p for p in tester["ports"] if p["name"] == port["targetPort"]]
    assert target["containerPort"] == 8080
    assert "--port=8080" in tester["args"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()


def test_chart_passes_helm_lint_strict() -> None:
    assert "0 chart(s) failed" in helm_lint(LOADTESTER_CHART)


def test_default_install_renders_valid_objects() -> None:
    manifests = helm_template(LOADTESTER_CHART, release="loadtester", namespace="test")
    validate(manifests)
    assert kinds(manifests) == [
        "Deployment/loadtester",
        "Service/loadtester",
        "ServiceAccount/loadtester",
    ]


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda path: path.name)
def test_every_ci_values_file_renders_valid_objects(values: pathlib.Path) -> None:
    validate(render(values.name))


def parse_loadtester_args(args: list[str]) -> dict[str, Any]:
    """What ``serinus loadtester`` makes of ``args`` (its real parser, without running)."""
    subcommand, *arguments = args
    assert subcommand == "loadtester"
    try:
        context = loadtester_cli.loadtester.make_context(subcommand, list(arguments))
    except click.UsageError as error:
        pytest.fail(f"serinus loadtester refuses the chart's arguments: {error.format_message()}")
    return context.params


def test_allow_commands_lock_the_load_tester_down_to_the_seeds_load_test() -> None:
    _, command = seed_load_test()
    manifests = render("locked-down-values.yaml")
    args = container(only(manifests, "Deployment"))["args"]
    rules = yaml.safe_load((LOADTESTER_CHART / "ci" / "locked-down-values.yaml").read_text())
    assert [a for a in args if a.startswith("--allow-command=")] == [
        f"--allow-command={rule}" for rule in rules["allowCommands"]
    ]
    params = parse_loadtester_args(args)
    policy = Policy.from_patterns(
        namespace=str(params["namespace_regexp"]),
        commands=params["allow_commands"],
    )
    assert policy.command_denial(shlex.split(command)) is None
    assert policy.command_denial(shlex.split(command + "; rm -rf /")) is not None
    assert policy.namespace_denial("prod") is None
    assert policy.namespace_denial("staging") is not None


def test_no_allow_list_means_no_allow_command_flag() -> None:
    args = container(only(render(), "Deployment"))["args"]
    assert not [a for a in args if a.startswith(("--allow-command", "--namespace-regexp"))]
    assert parse_loadtester_args(args)["allow_commands"] == ()


@contextlib.asynccontextmanager
async def running(args: list[str], state: pathlib.Path) -> AsyncIterator[str]:
    """``serinus loadtester`` with the chart's arguments, on a free loopback port."""
    chart_args = [a for a in args[1:] if not a.startswith(("--port=", "--state="))]
    assert len(chart_args) == len(args) - 3, "expected one --port and one --state"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "serinus",
        "loadtester",
        *chart_args,
        "--host=127.0.0.1",
        "--port=0",
        f"--state={state}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    try:
        address = None
        async with asyncio.timeout(START_SECONDS):
            while address is None and (line := (await process.stderr.readline()).decode()):
                if "Load tester listening on" in line:
                    address = re.search(r"http://\S+", json.loads(line)["msg"])
        if address is None:
            pytest.fail("serinus loadtester exited before listening")
        yield address.group(0)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


async def test_the_rendered_load_tester_refuses_what_the_values_forbid(
    tmp_path: pathlib.Path,
) -> None:
    deployment = only(render("locked-down-values.yaml"), "Deployment")
    tester = container(deployment)
    probe = tester["livenessProbe"]["httpGet"]["path"]
    assert tester["readinessProbe"]["httpGet"]["path"] == probe
    canary = {"name": "podinfo", "namespace": "prod"}
    async with (
        running(tester["args"], tmp_path / "gates.json") as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        assert (await client.get(probe)).status_code == 200
        forbidden = {**canary, "metadata": {"type": "cmd", "cmd": "rm -rf /tmp/anything"}}
        refused = await client.post("/", json=forbidden)
        assert refused.status_code == 403
        assert "command refused" in refused.text
        elsewhere = {**canary, "namespace": "staging"}
        assert (await client.post("/gate/check", json=elsewhere)).status_code == 403


def test_gate_state_lives_on_an_empty_dir_by_default() -> None:
    manifests = render()
    assert [m for m in manifests if m["kind"] == "PersistentVolumeClaim"] == []
    deployment = only(manifests, "Deployment")
    assert "strategy" not in deployment["spec"]
    volume = state_volume(deployment)
    assert volume["emptyDir"] == {}


def test_gate_state_lives_on_a_claim_with_persistence() -> None:
    manifests = render("everything-values.yaml")
    claim = only(manifests, "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == "standard"
    deployment = only(manifests, "Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    volume = state_volume(deployment)
    assert volume["persistentVolumeClaim"] == {"claimName": claim["metadata"]["name"]}


def test_an_existing_claim_is_used_as_is() -> None:
    manifests = render(
        set_values=("state.persistence.enabled=true", "state.persistence.existingClaim=gates")
    )
    assert [m for m in manifests if m["kind"] == "PersistentVolumeClaim"] == []
    volume = state_volume(only(manifests, "Deployment"))
    assert volume["persistentVolumeClaim"] == {"claimName": "gates"}


def state_volume(deployment: Manifest) -> Manifest:
    """The volume mounted where ``--state`` points."""
    tester = container(deployment)
    [state] = [a.removeprefix("--state=") for a in tester["args"] if a.startswith("--state=")]
    [mount] = [m for m in tester["volumeMounts"] if state.startswith(m["mountPath"] + "/")]
    [volume] = [
        v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]
    ]
    result: Manifest = volume
    return result


def test_kubectl_rbac_is_off_by_default_and_no_token_is_mounted() -> None:
    manifests = render()
    assert not [m for m in manifests if m["kind"].endswith(("Role", "RoleBinding"))]
    pod = only(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert only(manifests, "ServiceAccount")["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    ("scope", "role_kind", "binding_kind"),
    [("namespace", "Role", "RoleBinding"), ("cluster", "ClusterRole", "ClusterRoleBinding")],
)
def test_kubectl_rbac_binds_read_only_rules_to_the_load_tester(
    scope: str, role_kind: str, binding_kind: str
) -> None:
    manifests = render(
        set_values=("fullnameOverride=load-tester", "rbac.create=true", f"rbac.scope={scope}")
    )
    validate(manifests)
    role = only(manifests, role_kind, "load-tester")
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}
    binding = only(manifests, binding_kind, "load-tester")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": role_kind,
        "name": "load-tester",
    }
    account = only(manifests, "ServiceAccount")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "load-tester", "namespace": "prod"}
    ]
    assert account["automountServiceAccountToken"] is True
    pod = only(manifests, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "load-tester"
    assert pod["automountServiceAccountToken"] is True


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        ("rbac.create=true,rbac.scope=everywhere", "scope"),
        ("allowCommands=hey", "allowCommands"),
        ("cmd.timeout=forever", "timeout"),
        ("fullnameoverride=load-tester", "fullnameoverride"),
    ],
)
def test_bad_values_are_refused_naming_them(assignment: str, named: str) -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=(assignment,))
    assert named in refused.value.message
