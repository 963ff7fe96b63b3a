"""Issue 10, row 15: the deploy artefacts gave the operator Secret writes cluster-wide, the load
tester ran anything (``allowCommands: []``) with no limits or NetworkPolicy, and the base images
were unpinned.

Rendered with the real ``helm template`` as the README installs them (the operator in linkerd,
the load tester as ``load-tester`` in prod): the operator's role reads Secrets and nothing more;
the load tester's arguments, expanded as the kubelet expands them, refuse a shell, ``id`` and
``curl`` while allowing the seed's load test; it has resource limits and a NetworkPolicy; every
image the Dockerfiles start from is pinned by digest.
"""

from __future__ import annotations

import pathlib
import re
import shlex

from serinus.cli import loadtester as loadtester_cli
from serinus.loadtester.authz import Policy
from serinus.sandbox.workloads.env import expand
from tests.deploy.support import LOADTESTER_CHART, SERINUS_CHART, container, helm_template, only

REPO = pathlib.Path(__file__).resolve().parents[2]
SEED_LOAD_TEST = "hey -z 2m -q 10 -c 2 http://podinfo:9898/"


def test_the_readmes_install_is_locked_down() -> None:
    operator = helm_template(
        SERINUS_CHART,
        release="serinus",
        namespace="linkerd",
        set_values=("meshProvider=linkerd", "metricsServer=http://prometheus.linkerd-viz:9090"),
    )
    secret_verbs = {
        verb
        for rule in only(operator, "ClusterRole")["rules"]
        if "secrets" in rule["resources"]
        for verb in rule["verbs"]
    }
    assert secret_verbs == {"get"}

    tester = helm_template(
        LOADTESTER_CHART,
        release="load-tester",
        namespace="prod",
        set_values=("fullnameOverride=load-tester",),
    )
    pod = container(only(tester, "Deployment"))
    args = [expand(arg, {"POD_NAMESPACE": "prod"}) for arg in pod["args"]][1:]
    params = loadtester_cli.loadtester.make_context("loadtester", args).params
    policy = Policy.from_patterns(
        namespace=params["namespace_regexp"], commands=params["allow_commands"]
    )
    assert policy.command_denial(shlex.split(SEED_LOAD_TEST)) is None
    for hostile in ("sh -c id", "id", "curl http://169.254.169.254/", "bash -c 'touch x'"):
        assert policy.command_denial(shlex.split(hostile)) is not None, hostile
    assert pod["resources"]["limits"]
    assert only(tester, "NetworkPolicy")["spec"]["policyTypes"] == ["Ingress", "Egress"]

    for dockerfile in sorted((REPO / "deploy" / "docker").glob("*.Dockerfile")):
        text = dockerfile.read_text()
        images = re.findall(r"^ARG \w+_IMAGE=(\S+)$", text, re.MULTILINE)
        assert images, dockerfile.name
        for image in images:
            assert re.search(r"@sha256:[0-9a-f]{64}$", image), f"{dockerfile.name}: {image}"
