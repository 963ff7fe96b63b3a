"""Control by hand: what a person asks of a Canary, and what serinus made of it.

A request is written to the Canary as one annotation, ``serinus.io/request``, whose value is a
small JSON document (:class:`ControlRequest`): the action, a unique id, who asked and when.
Annotations are metadata, so:

* Flagger ignores them, and GitOps tools leave them alone (Flux and Argo CD apply the fields
  their manifests set; an annotation another writer added is not theirs to remove);
* Kubernetes RBAC decides who may ask: writing it needs ``patch`` on ``canaries`` in the
  Canary's namespace, the same right as ``kubectl annotate``.

The operator handles a request once (its id is kept in ``status.control.last``), on the next
tick, and records the outcome there and in an Event naming who asked. The annotation stays as
written; a later request replaces it. ``status.control`` also holds what lasts beyond one tick:
who paused the run, and a revision whose analysis is to be skipped or retried.

``by`` is what the client says: the CLI asks the API server who its caller is (a
SelfSubjectReview), the dashboard writes the user its TokenReview found. Anyone allowed to patch
the Canary could write another name; the API server's audit log is the authority.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated

import pydantic
from pydantic import Field

from serinus.apis.base import ApiModel

ANNOTATION = "serinus.io/request"
"""The annotation that carries the latest request."""
MAX_REQUEST_BYTES = 1024
"""A request longer than this is refused unread (it is ours to write, and small)."""


class Action(enum.StrEnum):
    """What a person can ask of a Canary."""

    PROMOTE = "promote"
    """Finish the run now, through the promotion steps (gates and checks are skipped)."""
    ABORT = "abort"
    """Roll the run back now: all traffic to the primary, the canary scaled down, Failed."""
    PAUSE = "pause"
    """Hold the run where it is: the weight stays, no step is judged, nothing is counted."""
    RESUME = "resume"
    """Continue a paused run from where it was held."""
    RETRY = "retry"
    """Run a failed revision again, without editing the pod template."""
    SKIP_ANALYSIS = "skip-analysis"
    """Promote the current revision without analysis once it is ready."""


Text = Annotated[str, Field(max_length=256)]


class ControlRequest(ApiModel):
    """The value of the ``serinus.io/request`` annotation."""

    action: Action
    id: Annotated[str, Field(min_length=1, max_length=64)]
    """Unique per request, so a request is handled once even when it repeats an earlier one."""
    by: Text = ""
    """Who asked (the user name the API server knows them by)."""
    at: Text = ""
    """When it was asked (RFC 3339)."""

    def annotation(self) -> str:
        return json.dumps(self.dump(), separators=(",", ":"), sort_keys=True)


def read_request(annotations: dict[str, str] | None) -> ControlRequest | str | None:
    """The request on a Canary; None when there is none, a sentence when it cannot be read."""
    text = (annotations or {}).get(ANNOTATION)
    if text is None or not text.strip():
        return None
    if len(text) > MAX_REQUEST_BYTES:
        return f"annotation {ANNOTATION}: expected at most {MAX_REQUEST_BYTES} bytes of JSON"
    try:
        return ControlRequest.model_validate_json(text)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "value"
        return f"annotation {ANNOTATION}: {where}: {first['msg']}"[:300]


class ControlRecord(ApiModel):
    """A request and what became of it."""

    action: Action | None = None
    """None when the annotation could not be read at all."""
    id: str
    by: str = ""
    at: str = ""
    """When it was asked."""
    handled_at: str | None = None
    accepted: bool = True
    """False when it was refused; ``message`` says why."""
    message: str | None = None


class Intent(ApiModel):
    """What a request asked for, kept until it is done: for which revision, asked by whom."""

    revision: str
    """The target's pod template hash (``lastAppliedSpec``) the request is about."""
    by: str = ""


class ControlStatus(ApiModel):
    """serinus: requests made by hand, in the Canary's status.

    Handling a request is one status write: the record in ``last`` and what it asks for, as an
    intent for the revision it is about. Each tick then acts on the intents, so a request is done
    even if the operator dies between the two, and an intent for an older revision is ignored.
    """

    last: ControlRecord | None = None
    """The last request handled (its id is never handled twice)."""
    paused: ControlRecord | None = None
    """Set while the run is held: who paused it and when."""
    promote: Intent | None = None
    abort: Intent | None = None
    retry: Intent | None = None
    skip_analysis: Intent | None = None
