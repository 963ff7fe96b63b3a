"""The CRDs generated from the models.

Covers: the committed YAML in deploy/crds/ is what the models generate (run `make crds` when this
fails); the schemas are structural (every node typed, no $ref or anyOf); the printer columns of
`kubectl get canary` (STATUS, WEIGHT, FAILEDCHECKS, LASTTRANSITIONTIME, the rest with -o wide); the
status subresource; both API versions served from one schema.
"""

from __future__ import annotations

import pathlib
from typing import Any

import pytest
import yaml

from serinus.apis import crds

DEPLOY = pathlib.Path(__file__).parents[2] / "deploy" / "crds"


@pytest.mark.parametrize("name", sorted(crds.custom_resource_definitions()))
def test_committed_crds_are_current(name: str) -> None:
    expected = crds.render(crds.custom_resource_definitions()[name])
    assert (DEPLOY / name).read_text() == expected, f"deploy/crds/{name} is stale: run make crds"


def _walk(node: Any, path: str = "") -> list[str]:
    """Paths of schema nodes that are not structural."""
    if not isinstance(node, dict):
        return []
    bad = [path] if any(k in node for k in ("$ref", "anyOf", "allOf", "oneOf", "$defs")) else []
    typed = (
        "type" in node
        or node.get("x-kubernetes-int-or-string")
        or node.get("x-kubernetes-preserve-unknown-fields")
    )
    if not typed:
        bad.append(path + " (untyped)")
    for key, child in (node.get("properties") or {}).items():
        bad += _walk(child, f"{path}.{key}")
    if isinstance(node.get("items"), dict):
        bad += _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        bad += _walk(node["additionalProperties"], f"{path}{{}}")
    return bad


@pytest.mark.parametrize("name", sorted(crds.custom_resource_definitions()))
def test_schemas_are_structural(name: str) -> None:
    crd = crds.custom_resource_definitions()[name]
    for version in crd["spec"]["versions"]:
        assert _walk(version["schema"]["openAPIV3Schema"]) == []


def test_canary_columns_status_subresource_and_versions() -> None:
    canary = crds.custom_resource_definitions()["canaries.yaml"]
    versions = {v["name"]: v for v in canary["spec"]["versions"]}
    assert set(versions) == {"v1beta1", "v1alpha3"}
    assert versions["v1beta1"]["storage"] is True
    assert versions["v1alpha3"]["storage"] is False
    columns = [
        (c["name"], c.get("priority", 0)) for c in versions["v1beta1"]["additionalPrinterColumns"]
    ]
    assert [n for n, p in columns if p == 0] == [
        "Status",
        "Weight",
        "FailedChecks",
        "LastTransitionTime",
    ]
    assert [n for n, p in columns if p == 1] == [
        "Suspended",
        "Interval",
        "Mirror",
        "StepWeight",
        "StepWeights",
        "MaxWeight",
    ]
    assert versions["v1beta1"]["subresources"] == {"status": {}}
    schema = versions["v1alpha3"]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    assert "canaryAnalysis" in schema
    assert "analysis" in schema
    assert canary["spec"]["names"]["categories"] == ["all"]


def test_generated_yaml_parses_back() -> None:
    for path in DEPLOY.glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        assert document["kind"] == "CustomResourceDefinition"
