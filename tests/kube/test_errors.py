"""HTTP answers of the API turned into serinus error classes, over real HTTP.

Covers: 409 AlreadyExists on create and 409 on a stale replace are ConflictError; 422 Invalid
carries the API's field message; 404 from a write is NotFoundError; every status of the table
(401/403, 404, 409, 400/415/422, 429, 5xx) maps to its class, through the proxy; the message
starts with what was being done and carries the API's message; the kept body is cut to 256
characters; a non-JSON answer (a load balancer's HTML 502) is still a ServerError; a server that
does not answer is an UnreachableError (retriable); the original exception is chained; Retry-After
is read from a 429.
"""

from __future__ import annotations

import pytest

from serinus import errors
from serinus.kube import Kube
from serinus.kube import errors as kube_errors
from tests.kube.conftest import settings
from tests.kube.support import FaultProxy, configmap


async def test_creating_an_existing_object_is_a_conflict(kube: Kube) -> None:
    await kube.create(configmap("settings"))
    with pytest.raises(errors.ConflictError) as caught:
        await kube.create(configmap("settings"))
    assert caught.value.http_status == 409
    assert "already exists" in str(caught.value)
    assert str(caught.value).startswith("create configmaps prod/settings: ")


async def test_replacing_with_a_stale_resource_version_is_a_conflict(kube: Kube) -> None:
    created = await kube.create(configmap("settings", color="blue"))
    await kube.patch("v1", "ConfigMap", "settings", "prod", {"data": {"color": "red"}})
    created["data"]["color"] = "green"
    with pytest.raises(errors.ConflictError, match="the object has been modified"):
        await kube.replace(created)
    current = await kube.get("v1", "ConfigMap", "settings", "prod")
    assert current is not None
    assert current["data"] == {"color": "red"}


async def test_an_invalid_object_is_invalid_with_the_apis_field_message(kube: Kube) -> None:
    with pytest.raises(errors.InvalidError) as caught:
        await kube.create(configmap("Not_A_Valid_Name"))
    assert caught.value.http_status == 422
    assert "metadata.name" in str(caught.value)
    assert not caught.value.retriable


async def test_patching_a_missing_object_is_not_found(kube: Kube) -> None:
    with pytest.raises(errors.NotFoundError) as caught:
        await kube.patch("v1", "ConfigMap", "absent", "prod", {"data": {"a": "b"}})
    assert '"absent" not found' in str(caught.value)
    assert isinstance(caught.value.__cause__, kube_errors.Answered)
    assert caught.value.__cause__.status == 404


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.InvalidError),
        (401, errors.ForbiddenError),
        (403, errors.ForbiddenError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (415, errors.InvalidError),
        (422, errors.InvalidError),
        (429, errors.TooManyRequestsError),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (504, errors.ServerError),
    ],
)
async def test_each_status_maps_to_its_class(
    proxy: FaultProxy, proxied: Kube, status: int, expected: type[errors.KubeError]
) -> None:
    proxy.fail(status, times=10, message=f"refused with {status}", method="PATCH")
    with pytest.raises(errors.KubeError) as caught:
        await proxied.patch("v1", "ConfigMap", "x", "prod", {"data": {}})
    assert type(caught.value) is expected
    assert caught.value.http_status == status
    assert f"refused with {status}" in str(caught.value)
    assert str(caught.value).startswith("merge-patch configmaps prod/x: ")


async def test_a_long_error_body_is_cut_to_256_characters(proxy: FaultProxy, proxied: Kube) -> None:
    secret = "s3cr3t-" * 200
    proxy.fail(422, message=f"bad value {secret}", reason="Invalid", method="POST")
    with pytest.raises(errors.InvalidError) as caught:
        await proxied.create(configmap("x"))
    assert len(caught.value.body) == 256
    assert caught.value.body.startswith('{"kind": "Status"')


async def test_a_load_balancers_html_answer_is_a_server_error(
    proxy: FaultProxy, proxied: Kube
) -> None:
    proxy.fail(502, times=10, raw="<html><body>502 Bad Gateway</body></html>", method="GET")
    with pytest.raises(errors.ServerError) as caught:
        await proxied.get("v1", "ConfigMap", "x", "prod")
    assert caught.value.http_status == 502
    assert "502 Bad Gateway" in str(caught.value)
    assert caught.value.retriable


async def test_a_server_that_does_not_answer_is_unreachable(proxy: FaultProxy) -> None:
    async with Kube(settings(proxy.url)) as kube:
        proxy.refuse = True
        with pytest.raises(kube_errors.UnreachableError) as caught:
            await kube.get("v1", "ConfigMap", "x", "prod")
    assert isinstance(caught.value, errors.ServerError)
    assert errors.is_retriable(caught.value)
    assert "the API server did not answer" in str(caught.value)
    assert isinstance(caught.value.__cause__, kube_errors.Unanswered)


async def test_retry_after_is_read_from_a_429(proxy: FaultProxy, proxied: Kube) -> None:
    proxy.fail(429, times=10, reason="TooManyRequests", headers={"Retry-After": "7"}, method="GET")
    with pytest.raises(errors.TooManyRequestsError) as caught:
        await proxied.get("v1", "ConfigMap", "x", "prod")
    assert kube_errors.retry_after(caught.value) == 7.0


def test_retry_after_is_none_without_the_header_or_with_a_date() -> None:
    for headers in ({}, {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}):
        cause = kube_errors.Answered(429, "Too Many Requests", headers, b"")
        error = kube_errors.translate(cause, action="get x")
        assert isinstance(error, errors.TooManyRequestsError)
        error.__cause__ = cause
        assert kube_errors.retry_after(error) is None


def test_other_exceptions_are_not_translated() -> None:
    assert kube_errors.translate(ValueError("no"), action="get x") is None
