"""Parsing the webhook payload.

Covers: Flagger's full payload parses (``canary`` is ``name.namespace``); ``phase``/``checksum``
may be absent or null; metadata values must be strings (Flagger's map of strings); boolean flags
take Go's ParseBool spellings, absent means false, and anything else is an error naming the key.
"""

from __future__ import annotations

import json

import pytest

from serinus.loadtester.payload import PayloadError, parse_payload


def test_flaggers_payload_parses():
    body = {
        "name": "podinfo",
        "namespace": "test",
        "phase": "Progressing",
        "checksum": "6d8f7b",
        "metadata": {"type": "cmd", "cmd": "hey -z 1m http://podinfo-canary.test:9898/"},
    }

    payload = parse_payload(json.dumps(body).encode())

    assert payload.canary == "podinfo.test"
    assert payload.phase == "Progressing"
    assert payload.checksum == "6d8f7b"
    assert payload.metadata["cmd"].startswith("hey -z 1m")


def test_phase_checksum_and_metadata_are_optional():
    payload = parse_payload(b'{"name": "podinfo", "namespace": "test", "phase": null}')

    assert (payload.phase, payload.checksum, dict(payload.metadata)) == ("", "", {})


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("1", True), ("False", False)])
def test_flags_take_go_bool_spellings(text, expected):
    payload = parse_payload(
        json.dumps({"name": "a", "namespace": "b", "metadata": {"logCmdOutput": text}}).encode()
    )

    assert payload.flag("logCmdOutput") is expected
    assert payload.flag("returnCmdOutput") is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"name": "", "namespace": "b"}', "payload.name: expected a non-empty string, got ''"),
        (
            b'{"name": "a", "namespace": 3}',
            "payload.namespace: expected a non-empty string, got a number 3",
        ),
        (b'{"name": "a", "namespace": "b", "phase": 1}', "payload.phase: expected a string"),
        (
            b'{"name": "a", "namespace": "b", "metadata": "cmd"}',
            "payload.metadata: expected an object",
        ),
        (
            b'{"name": "a", "namespace": "b", "metadata": {"cmd": ["hey"]}}',
            "metadata.cmd: expected a string, got an array",
        ),
        (b"\xff", "payload is not JSON"),
    ],
)
def test_bad_payloads_name_the_field(body, expected):
    with pytest.raises(PayloadError) as error:
        parse_payload(body)

    assert str(error.value).startswith(expected)


def test_a_flag_that_is_not_a_boolean_is_an_error():
    payload = parse_payload(b'{"name": "a", "namespace": "b", "metadata": {"logCmdOutput": "on"}}')

    with pytest.raises(PayloadError, match=r"metadata\.logCmdOutput"):
        payload.flag("logCmdOutput")
