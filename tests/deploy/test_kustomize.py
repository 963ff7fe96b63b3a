"""The kustomize trees (deploy/kustomize), rendered with ``kubectl kustomize``.

Covers:
- base/serinus, base/loadtester and the linkerd overlay render objects that pass the Kubernetes
  schemas;
- the bases are the charts' defaults as plain manifests: base/serinus is ``helm template serinus``
  in serinus-system with its CRDs, base/loadtester is the seed's ``fullnameOverride: load-tester``
  install, object for object and field for field (less the labels only Helm adds);
- the load tester base, put in prod by an overlay, serves http://load-tester.prod/ (port 80);
- the linkerd overlay is the chart with ci/linkerd-values.yaml installed in linkerd: every object
  in linkerd, the ClusterRoleBinding's subject moved along with the ServiceAccount (else the
  operator would have no permissions), mesh provider linkerd and the linkerd-viz Prometheus.
"""

from __future__ import annotations

import os
import pathlib

from tests.deploy.support import (
    KUSTOMIZE,
    LOADTESTER_CHART,
    SERINUS_CHART,
    Manifest,
    container,
    helm_template,
    kustomize,
    name_of,
    only,
    validate,
    without_helm_labels,
)


def keyed(manifests: list[Manifest], *, drop_namespace: bool = False) -> dict[str, Manifest]:
    result = {}
    for manifest in manifests:
        plain = without_helm_labels(manifest)
        if drop_namespace:
            plain["metadata"].pop("namespace", None)
        result[name_of(plain)] = plain
    return result


def test_every_tree_renders_valid_objects() -> None:
    for tree in ("base/serinus", "base/loadtester", "linkerd"):
        validate(kustomize(KUSTOMIZE / tree))


def test_serinus_base_is_the_charts_default_install() -> None:
    chart = helm_template(
        SERINUS_CHART, release="serinus", namespace="serinus-system", include_crds=True
    )
    assert keyed(kustomize(KUSTOMIZE / "base" / "serinus")) == keyed(chart)


def test_loadtester_base_is_the_seeds_chart_install() -> None:
    chart = helm_template(
        LOADTESTER_CHART,
        release="load-tester",
        namespace="prod",
        set_values=("fullnameOverride=load-tester",),
    )
    base = kustomize(KUSTOMIZE / "base" / "loadtester")
    assert keyed(base) == keyed(chart, drop_namespace=True)


def test_loadtester_base_in_prod_serves_the_seeds_webhook_url(tmp_path: pathlib.Path) -> None:
    overlay = tmp_path / "kustomization.yaml"
    base = os.path.relpath(KUSTOMIZE / "base" / "loadtester", tmp_path)  # roots must be relative
    overlay.write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"namespace: prod\nresources:\n  - {base}\n"
    )
    service = only(kustomize(tmp_path), "Service")
    assert (service["metadata"]["name"], service["metadata"]["namespace"]) == (
        "load-tester",
        "prod",
    )
    [port] = service["spec"]["ports"]
    assert port["port"] == 80


def test_linkerd_overlay_is_the_chart_with_linkerd_values() -> None:
    chart = helm_template(
        SERINUS_CHART,
        release="serinus",
        namespace="linkerd",
        values=[SERINUS_CHART / "ci" / "linkerd-values.yaml"],
        include_crds=True,
    )
    overlay = kustomize(KUSTOMIZE / "linkerd")
    assert keyed(overlay) == keyed(chart)


def test_linkerd_overlay_moves_everything_to_linkerd() -> None:
    overlay = kustomize(KUSTOMIZE / "linkerd")
    namespaced = [m for m in overlay if m["kind"] in ("ServiceAccount", "Deployment", "Service")]
    assert {m["metadata"]["namespace"] for m in namespaced} == {"linkerd"}
    account = only(overlay, "ServiceAccount")["metadata"]
    assert only(overlay, "ClusterRoleBinding")["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": "linkerd"}
    ]
    args = container(only(overlay, "Deployment"))["args"]
    assert "--mesh-provider=linkerd" in args
    assert "--metrics-server=http://prometheus.linkerd-viz:9090" in args
