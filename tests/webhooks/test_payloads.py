"""Webhook bodies and the revision checksum, compared with what Flagger (Go) produces.

Covers:
- the checksum equals Flagger's for nil, empty and filled trackedConfigs and any lastAppliedSpec
  (known answers computed with Go 1.19, go-spew 1.1.1 and Kubernetes' SafeEncodeString);
- the checksum changes when lastAppliedSpec or a tracked config changes, and only then;
- the JSON encoding is byte-identical to Go's encoding/json (HTML escaping, sorted metadata);
- metadata is left out when a hook has none; event metadata never overrides the event keys.
"""

from __future__ import annotations

import json

import pytest

from serinus.apis.status import CanaryPhase, CanaryStatus
from serinus.webhooks import payloads

# (trackedConfigs, lastAppliedSpec) -> checksum, as Flagger's canaryChecksum computes it.
GO_CHECKSUMS = [
    (None, "", "758df7c9fc"),
    (None, "5f7b8b8c9d", "74c779d96f"),
    ({}, "5f7b8b8c9d", "7f669bc7bd"),
    ({"secret/b": "x y", "configmap/a": "abc", "configmap/Z": "1"}, "6d9c5b5bf4", "698d6774b"),
    ({"configmap/podinfo-config": "7f8d9c6b5"}, 'héllo "q" <tag>', "5c4488765f"),
]

# json.Marshal of Flagger's CanaryWebhookPayload with this metadata, from Go 1.19.
GO_METADATA = {
    "zeta": 'a<b>&c \u2028 é "q" \\ \n\t\x01\x1f',
    "cmd": "hey -z 1m -q 10 http://podinfo-canary.test:9898/",
    "Type": "bash",
}
GO_BODY = (
    b'{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"abc",'
    b'"metadata":{"Type":"bash","cmd":"hey -z 1m -q 10 http://podinfo-canary.test:9898/",'
    b'"zeta":"a\\u003cb\\u003e\\u0026c \\u2028 \xc3\xa9 \\"q\\" \\\\ \\n\\t\\u0001\\u001f"}}'
)


@pytest.mark.parametrize(("tracked", "spec", "expected"), GO_CHECKSUMS)
def test_checksum_matches_flagger(tracked, spec, expected):
    status = CanaryStatus(tracked_configs=tracked, last_applied_spec=spec or None)
    assert payloads.canary_checksum(status) == expected


def test_checksum_of_a_canary_without_status_is_that_of_an_empty_status():
    assert payloads.canary_checksum(None) == "758df7c9fc"


def test_checksum_follows_the_revision():
    base = CanaryStatus(tracked_configs={"configmap/a": "1"}, last_applied_spec="abc")
    same = CanaryStatus(tracked_configs={"configmap/a": "1"}, last_applied_spec="abc")
    new_spec = CanaryStatus(tracked_configs={"configmap/a": "1"}, last_applied_spec="abd")
    new_config = CanaryStatus(tracked_configs={"configmap/a": "2"}, last_applied_spec="abc")
    more_config = CanaryStatus(
        tracked_configs={"configmap/a": "1", "secret/b": "1"}, last_applied_spec="abc"
    )
    sums = {payloads.canary_checksum(s) for s in (new_spec, new_config, more_config)}
    assert payloads.canary_checksum(base) == payloads.canary_checksum(same)
    assert payloads.canary_checksum(base) not in sums
    assert len(sums) == 3


def test_json_is_byte_identical_to_go(make_canary):
    document = {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "abc",
        "metadata": dict(sorted(GO_METADATA.items())),
    }
    assert payloads.encode_go_json(document) == GO_BODY


def test_hook_payload_sorts_metadata_like_go(make_canary):
    canary = make_canary(lastAppliedSpec="5f7b8b8c9d")
    body = payloads.hook_payload(canary, CanaryPhase.PROGRESSING, GO_METADATA)
    assert body.startswith(b'{"name":"podinfo","namespace":"test","phase":"Progressing",')
    assert b'"checksum":"74c779d96f","metadata":{"Type":"bash","cmd":' in body


def test_hook_without_metadata_sends_no_metadata_key(make_canary):
    body = payloads.hook_payload(make_canary(), CanaryPhase.SUCCEEDED, None)
    assert json.loads(body) == {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Succeeded",
        "checksum": "758df7c9fc",
    }
    assert payloads.hook_payload(make_canary(), CanaryPhase.SUCCEEDED, {}) == body


def test_event_metadata_keeps_the_event_keys(make_canary):
    canary = make_canary(phase="Progressing")
    body = payloads.event_payload(
        canary,
        message="Advance podinfo.test canary weight 10",
        event_type="Normal",
        timestamp_ms=1714564800250,
        metadata={"eventType": "spoofed", "team": "web"},
    )
    assert json.loads(body)["metadata"] == {
        "eventMessage": "Advance podinfo.test canary weight 10",
        "eventType": "Normal",
        "team": "web",
        "timestamp": "1714564800250",
    }
    assert json.loads(body)["phase"] == "Progressing"
