"""OpenAPI schemas: ``kubectl explain`` on built-in kinds and on custom resources.

Covers: ``kubectl explain deployment.spec.replicas`` prints the field's type and Kubernetes'
description; ``kubectl explain canary.spec.analysis`` reads the schema of the Canary CRD once
applied; each group-version's OpenAPI v3 document carries its kinds' schemas with every reference
resolvable inside it; ``/openapi/v2`` serves the definitions as JSON with v2 refs to clients that
accept JSON (kubectl asks for protobuf only and must get a 404 to go on to v3).
"""

from __future__ import annotations

import json

import httpx

from tests.sandbox.apiserver.support import CANARY_CRD, Kubectl, load_yaml


async def test_kubectl_explain_built_in_and_custom_kinds(kubectl: Kubectl) -> None:
    replicas = await kubectl.run("explain", "deployment.spec.replicas")
    assert "FIELD: replicas <integer>" in replicas.stdout
    assert "Number of desired pods." in replicas.stdout
    await kubectl.apply(load_yaml(CANARY_CRD))
    analysis = await kubectl.run("explain", "canary.spec.analysis")
    assert "KIND:       Canary" in analysis.stdout
    assert "interval" in analysis.stdout


async def test_documents_resolve_their_references(http: httpx.AsyncClient) -> None:
    index = (await http.get("/openapi/v3")).json()
    url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
    document = (await http.get(url)).json()
    schemas = document["components"]["schemas"]
    assert "io.k8s.api.apps.v1.Deployment" in schemas
    references = set()

    def collect(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                references.add(node["$ref"].removeprefix("#/components/schemas/"))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(schemas)
    assert references <= set(schemas)
    swagger = (await http.get("/openapi/v2")).json()
    deployment = swagger["definitions"]["io.k8s.api.apps.v1.Deployment"]
    assert (
        deployment["properties"]["spec"]["$ref"]
        == "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
    )
    assert "#/components/" not in json.dumps(swagger)
    protobuf = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    only_protobuf = await http.get("/openapi/v2", headers={"Accept": protobuf})
    assert only_protobuf.status_code == 404  # kubectl then reads /openapi/v3
