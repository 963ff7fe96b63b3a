"""Rendering and checking the install manifests in ``deploy/``, for the tests in this package.

The charts are rendered with the real ``helm template`` and the kustomize trees with the real
``kubectl kustomize``; both are found on PATH (``kubectl`` is on every machine; ``helm`` comes with
the setup, see docs/install.md). Every rendered object is checked by :func:`validate` against the
Kubernetes OpenAPI schemas shipped in ``kubernetes-validate``, in strict mode, so a misspelled
field fails as it would with ``kubectl apply --validate=strict``. Prometheus Operator kinds have no
schema there; the tests check what matters about them (selectors and ports) directly.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
from collections.abc import Sequence
from typing import Any

import kubernetes_validate
import pytest
import yaml

REPO = pathlib.Path(__file__).parents[2]
DEPLOY = REPO / "deploy"
SERINUS_CHART = DEPLOY / "charts" / "serinus"
LOADTESTER_CHART = DEPLOY / "charts" / "loadtester"
KUSTOMIZE = DEPLOY / "kustomize"

KUBERNETES_VERSIONS = ("1.25", kubernetes_validate.latest_version())
"""The oldest and the newest Kubernetes releases kubernetes-validate has schemas for (the charts
declare 1.23+, the first release with autoscaling/v2; 1.23 and 1.24 schemas are not shipped)."""

WITHOUT_SCHEMA = {"monitoring.coreos.com/v1"}
"""API groups whose kinds kubernetes-validate has no schema for (Prometheus Operator CRDs)."""

HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")

Manifest = dict[str, Any]


class RenderError(Exception):
    """helm or kubectl refused to render; ``message`` is what it printed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def tool(name: str) -> str:
    """The path of a program the tests need; a missing one fails the test with how to get it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not on PATH; the deploy tests render the charts with it "
            "(scripts/system-packages.sh installs helm)"
        )
    return found


def _run(command: Sequence[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RenderError(done.stderr.strip() or done.stdout.strip())
    return done.stdout


def _documents(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def helm_template(
    chart: pathlib.Path,
    *,
    release: str,
    namespace: str,
    values: Sequence[pathlib.Path] = (),
    set_values: Sequence[str] = (),
    set_json: Sequence[str] = (),
    include_crds: bool = False,
) -> list[Manifest]:
    """The objects ``helm template RELEASE CHART -n NAMESPACE ...`` renders."""
    command = [tool("helm"), "template", release, str(chart), "--namespace", namespace]
    if include_crds:
        command.append("--include-crds")
    for path in values:
        command += ["--values", str(path)]
    for assignment in set_values:
        command += ["--set", assignment]
    for assignment in set_json:
        command += ["--set-json", assignment]
    return _documents(_run(command))


def helm_lint(chart: pathlib.Path) -> str:
    """``helm lint --strict CHART``'s report; RenderError when it finds a warning or an error."""
    return _run([tool("helm"), "lint", "--strict", str(chart)])


def kustomize(directory: pathlib.Path) -> list[Manifest]:
    """The objects ``kubectl kustomize DIRECTORY`` renders."""
    return _documents(_run([tool("kubectl"), "kustomize", str(directory)]))


def validate(manifests: Sequence[Manifest]) -> None:
    """Check every object against the Kubernetes schemas of each version in KUBERNETES_VERSIONS."""
    assert manifests, "nothing was rendered"
    problems = []
    for manifest in manifests:
        if manifest["apiVersion"] in WITHOUT_SCHEMA:
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(manifest, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                first_line = str(error).splitlines()[0]
                problems.append(f"{name_of(manifest)} on Kubernetes {version}: {first_line}")
    assert problems == []


def name_of(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{manifest['metadata']['name']}"


def only(manifests: Sequence[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The single object of ``kind`` (and ``name``) among ``manifests``."""
    found = [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {[name_of(m) for m in found]}"
    return found[0]


def kinds(manifests: Sequence[Manifest]) -> list[str]:
    return sorted(name_of(m) for m in manifests)


def container(deployment: Manifest) -> Manifest:
    [first] = deployment["spec"]["template"]["spec"]["containers"]
    result: Manifest = first
    return result


def without_helm_labels(manifest: Manifest) -> Manifest:
    """A copy without the labels only Helm adds, to compare a chart with plain manifests."""
    copy: Manifest = yaml.safe_load(yaml.safe_dump(manifest))
    labels = copy["metadata"].get("labels", {})
    for label in HELM_ONLY_LABELS:
        labels.pop(label, None)
    return copy
