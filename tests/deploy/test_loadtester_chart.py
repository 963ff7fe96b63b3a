"""The load tester's Helm chart (deploy/charts/loadtester), rendered with ``helm template``.

Covers:
- ``helm lint --strict`` finds nothing to warn about;
- the seed's install (release load-tester in prod, ``fullnameOverride: load-tester``) gives a
  Service named load-tester in prod whose port 80 reaches the port the load tester listens on
  (8080), and a Deployment named load-tester (the seed finds the pod with ``grep load-tester``);
- the defaults and every ci/*-values.yaml file render objects that pass the Kubernetes schemas;
- locked down by default: the rendered arguments (``$(POD_NAMESPACE)`` expanded as the kubelet
  does) serve the release namespace only and allow hey with bounded flags against that
  namespace's Services, which covers the seed's load test; a real ``serinus loadtester`` started
  with them answers the probe path, runs the seed's load test and refuses other commands, other
  hosts, other namespaces' Services, unbounded flags and other namespaces' payloads (403);
- ``allowCommands`` adds one ``--allow-command`` per entry; ``allowAnyCommand`` (Flagger's open
  load tester) gives none, and is refused together with ``allowCommands``; a chart that could run
  nothing is refused;
- resource limits; a NetworkPolicy that lets only the operator's pods in (and a mesh proxy's
  port) and lets the pod reach DNS, its own namespace and the Linkerd control plane (the API
  server too with kubectl RBAC); ``signing.secretName`` hands the key to the load tester through
  its environment, where ``serinus loadtester`` reads it;
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
from serinus.sandbox.workloads.env import expand
from tests.deploy.support import (
    LOADTESTER_CHART,
    REPO,
    SERINUS_CHART,
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
        "NetworkPolicy/loadtester",
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


def expanded(args: list[str], namespace: str) -> list[str]:
    """The arguments as the kubelet hands them over, ``$(POD_NAMESPACE)`` expanded."""
    return [expand(arg, {"POD_NAMESPACE": namespace}) for arg in args]


def policy_of(args: list[str]) -> Policy:
    params = parse_loadtester_args(args)
    return Policy.from_patterns(
        namespace=params["namespace_regexp"], commands=params["allow_commands"]
    )


def allowed(policy: Policy, command: str) -> bool:
    return policy.command_denial(shlex.split(command)) is None


def test_the_default_install_allows_hey_against_its_own_services_only() -> None:
    _, command = seed_load_test()
    args = container(only(render(set_values=("fullnameOverride=load-tester",)), "Deployment"))[
        "args"
    ]
    policy = policy_of(expanded(args, "prod"))

    assert allowed(policy, command)  # hey -z 2m -q 10 -c 2 http://podinfo:9898/
    for own in (
        "hey -z 1m -q 10 -c 2 http://podinfo-canary.prod:9898/",
        "hey -n 100 -c 5 -m HEAD http://podinfo.prod.svc.cluster.local:9898/status/500",
        "hey -z 30s http://podinfo/",
    ):
        assert allowed(policy, own), own
    for refused in (
        "hey -z 1m -q 10 -c 2 http://podinfo.staging:9898/",
        "hey -z 1m -c 1000 http://podinfo:9898/",
        "hey -z 1m -D /etc/passwd http://podinfo:9898/",
        "hey -z 1m -x http://proxy.elsewhere:3128 http://podinfo:9898/",
        "hey -z 1m http://169.254.169.254/latest/meta-data/",
        "hey -z 1m http://podinfo:9898/; id",
        "curl -sf http://podinfo:9898/",
        "bash -c id",
    ):
        assert not allowed(policy, refused), refused
    assert policy.namespace_denial("prod") is None
    assert policy.namespace_denial("staging") is not None


def test_allow_commands_add_to_the_default_rule() -> None:
    _, command = seed_load_test()
    args = container(only(render("locked-down-values.yaml"), "Deployment"))["args"]
    rules = yaml.safe_load((LOADTESTER_CHART / "ci" / "locked-down-values.yaml").read_text())
    assert [a for a in args if a.startswith("--allow-command=")][1:] == [
        f"--allow-command={rule}" for rule in rules["allowCommands"]
    ]
    policy = policy_of(expanded(args, "prod"))
    assert allowed(policy, command)
    assert allowed(policy, "curl -sf http://podinfo-canary:9898/token")
    assert not allowed(policy, command + "; rm -rf /")
    assert not allowed(policy, "curl -sf http://podinfo-canary:9898/$(id)")
    assert policy.namespace_denial("prod") is None
    assert policy.namespace_denial("staging") is not None


def test_allow_any_command_is_flaggers_open_load_tester() -> None:
    args = container(only(render(set_values=("allowAnyCommand=true",)), "Deployment"))["args"]
    assert not [a for a in args if a.startswith("--allow-command")]
    assert parse_loadtester_args(args)["allow_commands"] == ()


@pytest.mark.parametrize(
    ("assignment", "named"),
    [
        ("allowAnyCommand=true,allowCommands[0]=hey", "allowAnyCommand"),
        ("defaultCommands=false", "no command could run"),
    ],
)
def test_contradicting_command_values_are_refused(assignment: str, named: str) -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=(assignment,))
    assert named in refused.value.message


def test_limits_and_a_network_policy_that_lets_only_the_operator_in() -> None:
    manifests = render(set_values=("fullnameOverride=load-tester",))
    tester = container(only(manifests, "Deployment"))
    assert tester["resources"]["limits"] == {"cpu": "1000m", "memory": "512Mi"}
    policy = only(manifests, "NetworkPolicy")["spec"]
    pod_labels = only(manifests, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [ingress] = policy["ingress"]
    operator_labels = only(
        helm_template(SERINUS_CHART, release="serinus", namespace="linkerd"), "Deployment"
    )["spec"]["template"]["metadata"]["labels"]
    [peer] = ingress["from"]
    assert peer["podSelector"]["matchLabels"].items() <= operator_labels.items()
    assert {port["port"] for port in ingress["ports"]} == {"http", 4143}
    destinations = [rule.get("to") for rule in policy["egress"]]
    assert [{"podSelector": {}}] in destinations
    assert {"port": 53, "protocol": "UDP"} in policy["egress"][0]["ports"]
    assert not any(
        {"port": 443, "protocol": "TCP"} in rule.get("ports", []) for rule in policy["egress"]
    )
    with_rbac = only(render(set_values=("rbac.create=true",)), "NetworkPolicy")["spec"]
    assert any(
        {"port": 443, "protocol": "TCP"} in rule.get("ports", []) for rule in with_rbac["egress"]
    )
    assert [
        m
        for m in render(set_values=("networkPolicy.enabled=false",))
        if m["kind"] == "NetworkPolicy"
    ] == []


def test_the_signing_secret_reaches_the_load_tester_through_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tester = container(only(render(set_values=("signing.secretName=hooks",)), "Deployment"))
    [variable] = [e for e in tester["env"] if "secretKeyRef" in e.get("valueFrom", {})]
    assert variable["valueFrom"]["secretKeyRef"] == {"name": "hooks", "key": "key"}
    assert not any("hooks" in arg for arg in tester["args"])
    monkeypatch.setenv(variable["name"], "the key")
    assert parse_loadtester_args(tester["args"])["signing_secret"] == "the key"


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
            process.terminate()  # SIGTERM: the load tester stops the commands it started
            try:
                async with asyncio.timeout(START_SECONDS):
                    await process.wait()
            except TimeoutError:
                process.kill()
        await process.wait()


async def test_the_rendered_load_tester_refuses_what_the_values_forbid(
    tmp_path: pathlib.Path,
) -> None:
    _, command = seed_load_test()
    deployment = only(render(set_values=("fullnameOverride=load-tester",)), "Deployment")
    tester = container(deployment)
    probe = tester["livenessProbe"]["httpGet"]["path"]
    assert tester["readinessProbe"]["httpGet"]["path"] == probe
    canary = {"name": "podinfo", "namespace": "prod"}
    marker = tmp_path / "anything"
    marker.touch()
    async with (
        running(expanded(tester["args"], "prod"), tmp_path / "gates.json") as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        assert (await client.get(probe)).status_code == 200
        seed = await client.post("/", json={**canary, "metadata": {"cmd": command}})
        assert seed.status_code == 202
        forbidden = {**canary, "metadata": {"type": "cmd", "cmd": f"rm -f {marker}"}}
        refused = await client.post("/", json=forbidden)
        assert refused.status_code == 403
        assert "command refused" in refused.text
        elsewhere = {**canary, "namespace": "staging"}
        assert (await client.post("/gate/check", json=elsewhere)).status_code == 403
    assert marker.exists()


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
        ("networkPolicy.proxyPorts[0]=0", "proxyPorts"),
        ("cmd.timeout=forever", "timeout"),
        ("fullnameoverride=load-tester", "fullnameoverride"),
    ],
)
def test_bad_values_are_refused_naming_them(assignment: str, named: str) -> None:
    with pytest.raises(RenderError) as refused:
        render(set_values=(assignment,))
    assert named in refused.value.message
