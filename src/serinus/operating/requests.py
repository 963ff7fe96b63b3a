"""Asking the operator for something by hand: write the request, wait for its answer.

:func:`send` checks that the request makes sense for the Canary as it is now
(:func:`serinus.controller.manual.refusal`: a refusal needs no round trip), then writes it as the
``serinus.io/request`` annotation with a merge patch, which needs only ``patch`` on the Canary;
:func:`answer` waits until the operator has handled it (``status.control.last`` carries its id)
and returns what it made of it. :func:`whoami` asks the API server who the caller is (a
SelfSubjectReview, as ``kubectl auth whoami``), which names the request's author.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid

from serinus import errors
from serinus.apis.control import ANNOTATION, Action, ControlRecord, ControlRequest
from serinus.controller import manual
from serinus.kube.client import Kube
from serinus.kube.status import API_VERSION, KIND
from serinus.operating import reading


class RefusedError(errors.SerinusError):
    """The request makes no sense for the Canary as it is."""

    retriable = False


async def whoami(kube: Kube) -> str:
    """The caller's user name, as the API server knows it; empty when it will not say."""
    # reviews are answered, never stored; the name is only there because every create names
    # its object here (the API server ignores it)
    review = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
        "metadata": {"name": "serinus"},
    }
    try:
        answered = await kube.create(review)
    except errors.SerinusError:
        return ""
    user = ((answered.get("status") or {}).get("userInfo") or {}).get("username")
    return str(user or "")[:256]


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def send(kube: Kube, namespace: str, name: str, action: Action, *, by: str) -> ControlRequest:
    """Write the request on the Canary; RefusedError when it makes no sense now."""
    canary = await reading.canary(kube, namespace, name)
    reason = manual.refusal(canary.status, action)
    if reason is not None:
        raise RefusedError(f"{action.value} {canary.key}: refused, {reason}")
    request = ControlRequest(action=action, id=uuid.uuid4().hex[:16], by=by, at=now())
    patch = {"metadata": {"annotations": {ANNOTATION: request.annotation()}}}
    await kube.patch(API_VERSION, KIND, name, namespace, patch)
    return request


async def answer(
    kube: Kube, namespace: str, name: str, request: ControlRequest, *, within: float
) -> ControlRecord | None:
    """The operator's record of the request; None without an answer within ``within`` s."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        canary = await reading.canary(kube, namespace, name)
        control = canary.status.control if canary.status else None
        if control is not None and control.last is not None and control.last.id == request.id:
            return control.last
        if asyncio.get_running_loop().time() >= deadline:
            return None
        await asyncio.sleep(0.5)
