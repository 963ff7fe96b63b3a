"""``serinus sandbox up --install-with``: the documented commands it runs, and what it prepares.

Covers: the Helm commands are the README's two ``helm upgrade --install`` lines (continuations
joined), with the README's namespaces; the kustomize commands are docs/install.md's ``kubectl
apply -k`` lines for Linkerd and the load tester in prod; the cluster objects give
linkerd-viz's Prometheus the address the README hands the operator. The end-to-end run of those
commands is tests/e2e/test_install.py.
"""

from __future__ import annotations

import pathlib

from serinus.sandbox.orchestration import install

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_helm_commands_are_the_readmes() -> None:
    commands = install.commands("helm", REPO)
    assert [c[:4] for c in commands] == [
        ["helm", "upgrade", "--install", "serinus"],
        ["helm", "upgrade", "--install", "load-tester"],
    ]
    assert commands[0][commands[0].index("--namespace") + 1] == "linkerd"
    assert commands[1][commands[1].index("--namespace") + 1] == "prod"
    assert "metricsServer=http://prometheus.linkerd-viz:9090" in commands[0]
    readme = " ".join((REPO / "README.md").read_text().replace("\\\n", " ").split())
    for command in commands:
        assert " ".join(command) in readme


def test_kustomize_commands_are_the_install_docs() -> None:
    assert install.commands("kustomize", REPO) == [
        ["kubectl", "apply", "-k", "deploy/kustomize/linkerd"],
        ["kubectl", "apply", "-k", "deploy/kustomize/base/loadtester", "-n", "prod"],
    ]


def test_linkerd_viz_prometheus_points_at_the_sandboxs() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in install.cluster_objects(41234)}
    assert {("Namespace", n) for n in ("linkerd", "linkerd-viz", "prod")} <= set(objects)
    service = objects[("Service", "prometheus")]
    assert service["metadata"]["namespace"] == "linkerd-viz"
    assert service["spec"]["ports"][0]["port"] == 9090
    endpoints = objects[("Endpoints", "prometheus")]["subsets"][0]
    assert endpoints["ports"][0]["port"] == 41234
