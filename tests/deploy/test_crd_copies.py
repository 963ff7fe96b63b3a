"""The CRDs as the chart and the kustomize base install them.

Covers:
- the chart's crds/ and the kustomize base's crds/ hold exactly the files of deploy/crds/, byte
  for byte (scripts/sync-chart-crds.sh copies them; run it after ``make crds`` when this fails);
- each CRD passes the API server's own checks that a schema file cannot show by itself: named
  ``<plural>.<group>``, exactly one storage version, every version served with a schema whose root
  is an object, no schema node with both ``properties`` and ``additionalProperties``;
- the installed Canary schema accepts the seed's Canary and rejects it with a misspelled field
  type, so the CRD does the validation users expect from ``kubectl apply``.
"""

from __future__ import annotations

import copy
import pathlib
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml

from tests.deploy.support import DEPLOY, KUSTOMIZE, REPO, SERINUS_CHART

GENERATED = DEPLOY / "crds"
COPIES = [SERINUS_CHART / "crds", KUSTOMIZE / "base" / "serinus" / "crds"]
SEED_CANARY = REPO / "examples" / "podinfo-canary.yaml"


def crds() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in sorted(GENERATED.glob("*.yaml"))]


@pytest.mark.parametrize("copies", COPIES, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_copies_are_the_generated_crds(copies: pathlib.Path) -> None:
    generated = {path.name: path.read_bytes() for path in GENERATED.glob("*.yaml")}
    copied = {path.name: path.read_bytes() for path in copies.glob("*.yaml")}
    assert sorted(copied) == sorted(generated), "run scripts/sync-chart-crds.sh"
    stale = [name for name in generated if copied[name] != generated[name]]
    assert stale == [], "run scripts/sync-chart-crds.sh"


def both_properties_and_additional(node: Any, path: str = "") -> list[str]:
    if not isinstance(node, dict):
        return []
    found = [path] if "properties" in node and "additionalProperties" in node else []
    for key, child in (node.get("properties") or {}).items():
        found += both_properties_and_additional(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += both_properties_and_additional(node[key], f"{path}[{key}]")
    return found


@pytest.mark.parametrize("crd", crds(), ids=lambda crd: crd["metadata"]["name"])
def test_crd_passes_the_api_servers_checks(crd: dict[str, Any]) -> None:
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{spec['names']['plural']}.{spec['group']}"
    assert len([v for v in spec["versions"] if v["storage"]]) == 1
    for version in spec["versions"]:
        assert version["served"] is True
        schema = version["schema"]["openAPIV3Schema"]
        assert schema["type"] == "object"
        assert both_properties_and_additional(schema) == []


def canary_schema(version: str) -> dict[str, Any]:
    [crd] = [crd for crd in crds() if crd["spec"]["names"]["kind"] == "Canary"]
    [served] = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
    return schema


def test_the_seeds_canary_is_accepted_and_a_wrong_type_is_not() -> None:
    canary = yaml.safe_load(SEED_CANARY.read_text())
    schema = canary_schema(canary["apiVersion"].split("/")[1])
    # OpenAPI v3.0 schemas are JSON Schema draft 4 (boolean exclusiveMinimum/Maximum)
    jsonschema.validate(canary, schema, cls=jsonschema.Draft4Validator)
    broken = copy.deepcopy(canary)
    broken["spec"]["canaryAnalysis"]["stepWeight"] = "five"
    with pytest.raises(jsonschema.ValidationError, match="'five' is not of type 'integer'"):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft4Validator)
