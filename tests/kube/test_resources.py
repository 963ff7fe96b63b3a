"""``KubeResources`` against the real API server: templates, alert providers and Secrets.

Covers: a MetricTemplate and an AlertProvider are parsed into their models; a missing one is
NotFoundError naming kind and namespace/name; one the models reject is InvalidCanaryError with
the field path; a status on the object does not get in the way; Secret ``data`` is decoded from
base64 to text, ``stringData`` wins for its keys; a missing Secret is NotFoundError; a value that
is not base64 UTF-8 text is InvalidCanaryError naming the key; a signing key is read only from a
Secret labelled ``serinus.io/signing: "true"`` (issue 10, row 6), any other is
InvalidCanaryError saying which label is missing.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from serinus import errors
from serinus.kube import Kube, KubeResources
from serinus.kube.resources import decode_secret
from tests.sandbox.apiserver.support import simple_crd


def template(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "MetricTemplate",
        "metadata": {"name": "not-found-percentage", "namespace": "prod"},
        "spec": spec
        or {
            "provider": {"type": "prometheus", "address": "http://prometheus.istio-system:9090"},
            "query": 'sum(rate(requests{status="404"}[{{ interval }}]))',
        },
    }


def provider(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "flagger.app/v1beta1",
        "kind": "AlertProvider",
        "metadata": {"name": "on-call", "namespace": "prod"},
        "spec": spec or {"type": "slack", "channel": "on-call", "secretRef": {"name": "slack"}},
    }


def secret(data: dict[str, str], string_data: dict[str, str] | None = None) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "slack", "namespace": "prod"},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }
    if string_data:
        manifest["stringData"] = string_data
    return manifest


@pytest.mark.usefixtures("flagger_crds")
async def test_a_metric_template_is_parsed(kube: Kube) -> None:
    await kube.create(template())
    found = await KubeResources(kube).metric_template("prod", "not-found-percentage")
    assert found.spec.provider.type == "prometheus"
    assert "{{ interval }}" in found.spec.query


@pytest.mark.usefixtures("flagger_crds")
async def test_an_alert_provider_is_parsed(kube: Kube) -> None:
    await kube.create(provider())
    found = await KubeResources(kube).alert_provider("prod", "on-call")
    assert found.spec.type == "slack"
    assert found.spec.secret_ref is not None
    assert found.spec.secret_ref.name == "slack"


@pytest.mark.usefixtures("flagger_crds")
async def test_missing_objects_are_not_found_by_kind_and_name(kube: Kube) -> None:
    resources = KubeResources(kube)
    with pytest.raises(errors.NotFoundError, match="MetricTemplate prod/absent not found"):
        await resources.metric_template("prod", "absent")
    with pytest.raises(errors.NotFoundError, match="AlertProvider prod/absent not found"):
        await resources.alert_provider("prod", "absent")
    with pytest.raises(errors.NotFoundError, match="Secret prod/absent not found"):
        await resources.secret("prod", "absent")


@pytest.mark.usefixtures("flagger_crds")
async def test_a_provider_the_models_reject_is_invalid_with_the_field_path(kube: Kube) -> None:
    await kube.create(provider(type="slack", channel="on-call"))
    with pytest.raises(errors.InvalidCanaryError) as caught:
        await KubeResources(kube).alert_provider("prod", "on-call")
    assert str(caught.value).startswith("AlertProvider prod/on-call is invalid: ")
    assert "spec.address: expected an address, or a secretRef" in str(caught.value)


@pytest.mark.usefixtures("flagger_crds")
async def test_a_status_on_the_object_does_not_get_in_the_way(kube: Kube) -> None:
    """Flagger's own CRDs (which a cluster may keep) give AlertProviders a status subresource."""
    flaggers_crd = simple_crd("flagger.app", "AlertProvider", "alertproviders", ("v1beta1",))
    await kube.replace({**flaggers_crd, "metadata": await _crd_metadata(kube)})
    await kube.create(provider())
    await kube.patch_status(
        "flagger.app/v1beta1",
        "AlertProvider",
        "on-call",
        "prod",
        {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
    )
    found = await KubeResources(kube).alert_provider("prod", "on-call")
    assert found.spec.channel == "on-call"


@pytest.mark.usefixtures("flagger_crds")
async def test_secret_data_is_decoded_and_string_data_wins(kube: Kube) -> None:
    await kube.create(secret({"address": "https://hooks.slack.com/services/T0/B0/x", "token": "é"}))
    found = await KubeResources(kube).secret("prod", "slack")
    assert found == {"address": "https://hooks.slack.com/services/T0/B0/x", "token": "é"}

    merged = decode_secret(secret({"address": "old", "token": "t"}, {"address": "new"}))
    assert merged == {"address": "new", "token": "t"}


async def test_a_signing_key_comes_only_from_a_labelled_secret(kube: Kube) -> None:
    resources = KubeResources(kube)
    unlabelled = secret({"password": "hunter2"})
    unlabelled["metadata"]["name"] = "db-creds"
    await kube.create(unlabelled)
    with pytest.raises(errors.InvalidCanaryError) as caught:
        await resources.signing_secret("prod", "db-creds")
    assert str(caught.value) == (
        "Secret prod/db-creds is not labelled serinus.io/signing=true; serinus signs only with "
        "Secrets made for it (label the Secret if its value is a signing key)"
    )
    assert "hunter2" not in str(caught.value)

    labelled = secret({"key": "k3y"})
    labelled["metadata"].update(name="hook-key", labels={"serinus.io/signing": "true"})
    await kube.create(labelled)
    assert await resources.signing_secret("prod", "hook-key") == {"key": "k3y"}
    with pytest.raises(errors.NotFoundError, match="Secret prod/absent not found"):
        await resources.signing_secret("prod", "absent")


async def _crd_metadata(kube: Kube) -> dict[str, Any]:
    current = await kube.get(
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", "alertproviders.flagger.app"
    )
    assert current is not None
    return dict(current["metadata"])


def test_a_value_that_is_not_base64_text_is_invalid_naming_the_key() -> None:
    broken = secret({})
    broken["data"] = {"token": "not base64!"}
    with pytest.raises(
        errors.InvalidCanaryError, match=r"Secret prod/slack: data\.token: expected"
    ):
        decode_secret(broken)
    binary = secret({})
    binary["data"] = {"token": base64.b64encode(b"\xff\xfe").decode()}
    with pytest.raises(errors.InvalidCanaryError, match="UTF-8"):
        decode_secret(binary)


@pytest.mark.usefixtures("flagger_crds")
async def test_templates_and_providers_are_read_again_as_they_change(kube: Kube) -> None:
    """Parsed once per version (every analysis tick reads its templates), and every edit is
    seen: a new query or channel, a mistake, the mistake fixed, deleted and created again."""
    resources = KubeResources(kube)
    created = await kube.create(template())
    first = await resources.metric_template("prod", "not-found-percentage")
    assert await resources.metric_template("prod", "not-found-percentage") is first
    created["spec"]["query"] = "sum(rate(requests[{{ interval }}]))"
    await kube.replace(created)
    edited = await resources.metric_template("prod", "not-found-percentage")
    assert edited.spec.query == "sum(rate(requests[{{ interval }}]))"
    await kube.delete("flagger.app/v1beta1", "MetricTemplate", "not-found-percentage", "prod")
    with pytest.raises(errors.NotFoundError):
        await resources.metric_template("prod", "not-found-percentage")
    await kube.create(template())
    again = await resources.metric_template("prod", "not-found-percentage")
    assert "{{ interval }}" in again.spec.query

    stored = await kube.create(provider())
    assert (await resources.alert_provider("prod", "on-call")).spec.channel == "on-call"
    del stored["spec"]["secretRef"]
    stored = await kube.replace(stored)
    with pytest.raises(errors.InvalidCanaryError, match="expected an address, or a secretRef"):
        await resources.alert_provider("prod", "on-call")
    stored["spec"].update(secretRef={"name": "slack"}, channel="releases")
    await kube.replace(stored)
    assert (await resources.alert_provider("prod", "on-call")).spec.channel == "releases"
