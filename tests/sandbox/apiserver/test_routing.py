"""URL paths to targets.

Covers: core and group paths, namespaced collections and items, all-namespace collections,
cluster-scoped resources, namespace subresources (`namespaces/<n>/status`) versus resources
inside a namespace, subresources only where the type has them, and 404 for everything else.
"""

from __future__ import annotations

import pytest

from serinus.sandbox.apiserver.builtin import BUILTIN
from serinus.sandbox.apiserver.resources import Registry
from serinus.sandbox.apiserver.routing import group_version, resolve
from serinus.sandbox.apiserver.status import ApiError

REGISTRY = Registry(BUILTIN)


def target(path: str) -> tuple[str, str | None, str | None, str]:
    located = group_version([p for p in path.split("/") if p])
    assert located is not None
    found = resolve(REGISTRY, *located)
    return found.resource.resource, found.namespace, found.name, found.subresource


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/namespaces", ("namespaces", None, None, "")),
        ("/api/v1/namespaces/prod", ("namespaces", None, "prod", "")),
        ("/api/v1/namespaces/prod/status", ("namespaces", None, "prod", "status")),
        ("/api/v1/namespaces/status/pods", ("pods", "status", None, "")),
        ("/api/v1/namespaces/prod/pods/web/log", ("pods", "prod", "web", "log")),
        ("/api/v1/pods", ("pods", None, None, "")),
        (
            "/apis/apps/v1/namespaces/prod/deployments/web/scale",
            ("deployments.apps", "prod", "web", "scale"),
        ),
        ("/apis/apps/v1/deployments", ("deployments.apps", None, None, "")),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x.y",
            ("customresourcedefinitions.apiextensions.k8s.io", None, "x.y", ""),
        ),
    ],
)
def test_resolves(path: str, expected: tuple[str, str | None, str | None, str]) -> None:
    assert target(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "/api/v2/pods",
        "/apis/apps/v1/nothings",
        "/apis/apps/v1/deployments/web",  # a namespaced item needs its namespace
        "/api/v1/namespaces/prod/nodes",  # nodes are cluster-scoped
        "/api/v1/namespaces/prod/configmaps/c/status",  # configmaps have no status
        "/apis/apps/v1/namespaces/prod/daemonsets/d/scale",
        "/api/v1/namespaces/prod/pods/web/log/extra",
    ],
)
def test_unserved_paths_are_404(path: str) -> None:
    with pytest.raises(ApiError) as caught:
        target(path)
    assert caught.value.code == 404
