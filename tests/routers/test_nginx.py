"""The nginx router: a canary copy of the referenced Ingress, against a real local API server.

Covers: reconcile copies ``spec.ingressRef`` to ``<ingress>-canary`` with the apex backends
pointed at ``<apex>-canary``, the original's labels and annotations (less kubectl's record and
canary annotations) and ``canary: "true"`` with ``canary-weight: "0"`` (as Flagger writes it: a
copy marked ``canary: "false"`` would be a second plain Ingress for the same hosts and paths,
which ingress-nginx serves in creation order, so a re-created original would lose its traffic to
the canary); a second reconcile writes nothing and a change of the original Ingress reaches the
copy; weights as ``canary``/``canary-weight`` annotations read back, kept by reconcile, and 0 at
100/0; A/B testing with a header (exact or pattern) and a cookie
reads back as 0/100; a configurable annotation prefix; errors: no ingressRef, a missing Ingress,
no apex backend, two headers, a uri condition, mirroring.
"""

from __future__ import annotations

from typing import Any

import pytest

from serinus.apis.canary import Canary
from serinus.errors import InvalidCanaryError, RouterError
from serinus.ports import Routes
from serinus.routers.registry import refusals, router_for
from tests.routers.support import NAMESPACE, CountingKube, canary, get, new_canary, version_of

INGRESS = "networking.k8s.io/v1"
PREFIX = "nginx.ingress.kubernetes.io"


def ingress(backend: str = "podinfo") -> dict[str, Any]:
    return {
        "apiVersion": INGRESS,
        "kind": "Ingress",
        "metadata": {
            "name": "podinfo",
            "namespace": NAMESPACE,
            "labels": {"app": "podinfo"},
            "annotations": {
                f"{PREFIX}/proxy-body-size": "8m",
                "kubectl.kubernetes.io/last-applied-configuration": "{}",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "app.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": backend, "port": {"number": 9898}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


async def nginx_canary(kube: CountingKube, **analysis: object) -> Canary:
    await kube.create(ingress())
    return await new_canary(
        kube,
        provider="nginx",
        ingressRef={"apiVersion": INGRESS, "kind": "Ingress", "name": "podinfo"},
        analysis=analysis,
    )


async def copy_of(kube: CountingKube) -> dict[str, Any]:
    return await get(kube, INGRESS, "Ingress", "podinfo-canary")


async def test_reconcile_copies_the_ingress_to_the_canary(kube: CountingKube) -> None:
    canary = await nginx_canary(kube)
    router = router_for("nginx", kube)
    await router.initialize(canary)
    await router.reconcile(canary)
    written = await copy_of(kube)
    path = written["spec"]["rules"][0]["http"]["paths"][0]
    assert path["backend"] == {"service": {"name": "podinfo-canary", "port": {"number": 9898}}}
    assert written["spec"]["ingressClassName"] == "nginx"
    assert written["metadata"]["labels"] == {"app": "podinfo"}
    assert written["metadata"]["annotations"] == {
        f"{PREFIX}/proxy-body-size": "8m",
        f"{PREFIX}/canary": "true",
        f"{PREFIX}/canary-weight": "0",
    }
    assert written["metadata"]["ownerReferences"][0]["uid"] == canary.metadata.uid
    assert await router.get_routes(canary) == Routes(100, 0)
    version, writes = version_of(written), kube.writes
    await router.reconcile(canary)
    assert (version_of(await copy_of(kube)), kube.writes) == (version, writes)


async def test_changes_of_the_original_reach_the_copy(kube: CountingKube) -> None:
    canary = await nginx_canary(kube)
    router = router_for("nginx", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(70, 30))
    original = await get(kube, INGRESS, "Ingress", "podinfo")
    original["spec"]["rules"][0]["host"] = "www.example.com"
    await kube.replace(original)
    await router.reconcile(canary)
    assert (await copy_of(kube))["spec"]["rules"][0]["host"] == "www.example.com"
    assert await router.get_routes(canary) == Routes(70, 30)


async def test_weights_are_annotations(kube: CountingKube) -> None:
    canary = await nginx_canary(kube)
    router = router_for("nginx", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(90, 10))
    annotations = (await copy_of(kube))["metadata"]["annotations"]
    assert annotations[f"{PREFIX}/canary"] == "true"
    assert annotations[f"{PREFIX}/canary-weight"] == "10"
    assert await router.get_routes(canary) == Routes(90, 10)
    await router.set_routes(canary, Routes(100, 0))
    annotations = (await copy_of(kube))["metadata"]["annotations"]
    assert annotations[f"{PREFIX}/canary"] == "true"
    assert annotations[f"{PREFIX}/canary-weight"] == "0"
    assert await router.get_routes(canary) == Routes(100, 0)


async def test_ab_testing_by_header_and_cookie(kube: CountingKube) -> None:
    match = [
        {"headers": {"x-canary": {"regex": "^(insider|beta)$"}}},
        {"headers": {"cookie": {"exact": "canary"}}},
    ]
    canary = await nginx_canary(kube, iterations=10, match=match)
    router = router_for("nginx", kube)
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    annotations = (await copy_of(kube))["metadata"]["annotations"]
    assert {k: v for k, v in annotations.items() if k.startswith(f"{PREFIX}/canary")} == {
        f"{PREFIX}/canary": "true",
        f"{PREFIX}/canary-by-header": "x-canary",
        f"{PREFIX}/canary-by-header-pattern": "^(insider|beta)$",
        f"{PREFIX}/canary-by-cookie": "canary",
    }
    assert await router.get_routes(canary) == Routes(0, 100)
    await router.reconcile(canary)
    assert await router.get_routes(canary) == Routes(0, 100)
    await router.set_routes(canary, Routes(100, 0))
    annotations = (await copy_of(kube))["metadata"]["annotations"]
    assert {k: v for k, v in annotations.items() if k.startswith(f"{PREFIX}/canary")} == {
        f"{PREFIX}/canary": "true",
        f"{PREFIX}/canary-weight": "0",
    }


async def test_exact_header_and_a_custom_prefix(kube: CountingKube) -> None:
    canary = await nginx_canary(
        kube, iterations=10, match=[{"headers": {"x-canary": {"exact": "insider"}}}]
    )
    router = router_for("nginx", kube, nginx_annotations_prefix="custom.ingress.example")
    await router.reconcile(canary)
    await router.set_routes(canary, Routes(0, 100))
    annotations = (await copy_of(kube))["metadata"]["annotations"]
    assert annotations["custom.ingress.example/canary-by-header"] == "x-canary"
    assert annotations["custom.ingress.example/canary-by-header-value"] == "insider"
    assert await router.get_routes(canary) == Routes(0, 100)


async def test_what_nginx_cannot_do_is_refused(kube: CountingKube) -> None:
    router = router_for("nginx", kube)
    no_ref = await new_canary(kube, provider="nginx")
    with pytest.raises(InvalidCanaryError, match=r"^spec\.ingressRef: expected the Ingress"):
        await router.reconcile(no_ref)


def test_what_nginx_cannot_match_or_mirror_is_refused_when_the_canary_is_checked() -> None:
    def refused(**analysis: object) -> list[str]:
        written = canary(provider="nginx", analysis=analysis, ingressRef={"name": "podinfo"})
        return refusals(written, "nginx")

    two = [{"headers": {"x-a": {"exact": "1"}, "x-b": {"exact": "2"}}}]
    assert refused(iterations=2, match=two) == [
        "spec.analysis.match[0].headers.x-b: NGINX matches on one header and one cookie only, "
        "found a second one"
    ]
    assert refused(iterations=2, match=[{"uri": {"prefix": "/beta"}}]) == [
        "spec.analysis.match[0].uri: NGINX matches on headers only, found uri"
    ]
    cookie = [{"headers": {"cookie": {"regex": "^(.*?;)?(canary=always)(;.*)?$"}}}]
    assert refused(iterations=2, match=cookie) == [
        "spec.analysis.match[0].headers.cookie: NGINX matches it by exact only, found regex"
    ]
    assert refused(iterations=2, mirror=True) == [
        "spec.analysis.mirror: traffic mirroring needs a provider that mirrors requests "
        "(gatewayapi, istio), found provider nginx, which cannot mirror"
    ]
    header_and_cookie = [
        {"headers": {"x-canary": {"prefix": "insider"}, "cookie": {"exact": "canary"}}},
        {"headers": {"x-canary": {"prefix": "insider"}}},
    ]
    assert refused(iterations=2, match=header_and_cookie) == []
    assert refusals(canary(provider="nginx"), "nginx") == [
        "spec.ingressRef: expected the Ingress of the apex Service for the nginx provider, "
        "found none"
    ]


async def test_a_missing_ingress_or_apex_backend_is_an_error(kube: CountingKube) -> None:
    canary = await new_canary(kube, provider="nginx", ingressRef={"name": "podinfo"})
    router = router_for("nginx", kube)
    with pytest.raises(RouterError, match=r"^Ingress prod/podinfo: not found$"):
        await router.reconcile(canary)
    await kube.create(ingress(backend="frontend"))
    with pytest.raises(RouterError) as raised:
        await router.reconcile(canary)
    assert str(raised.value) == "Ingress prod/podinfo: no backend names the apex Service podinfo"
