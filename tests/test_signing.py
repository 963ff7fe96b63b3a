"""The HMAC scheme both sides share (serinus.signing): what is signed and what a verifier refuses.

Covers:
- the signature of ``<timestamp>\\n<type>\\n<url>\\n<body>`` equals an independent HMAC-SHA256 (a
  known answer made with the openssl command);
- :func:`verify` accepts the headers :func:`signature_headers` makes, for the same path, and
  refuses: a missing header (naming it), a wrong key, a changed body, type or URL, a request
  signed for another path, a timestamp outside the window (stale, or from the future), and a
  header too long or holding a newline; no refusal echoes a header's value.
"""

from __future__ import annotations

import pytest

from serinus import signing

BODY = b'{"name":"podinfo","namespace":"test","phase":"Progressing","checksum":"758df7c9fc"}'
URL = "http://load-tester.prod/"
TYPE_HEADER, URL_HEADER = "X-Serinus-Webhook-Type", "X-Serinus-Webhook-URL"
CHANGED = BODY.replace(b"Progressing", b"Succeeded")
MISMATCH = "does not match"
# printf '1700000000\nrollout\nhttp://load-tester.prod/\n<BODY>' | openssl dgst -sha256 -hmac s3cr3t
OPENSSL_DIGEST = "b4268f22e04a75b70a888867e6f33541666d42556d1f19bf037d317f06a33df4"
NOW = 1_700_000_000


def headers(**changes: str) -> dict[str, str]:
    made = signing.signature_headers(
        BODY, key=b"s3cr3t", timestamp=NOW, hook_type="rollout", url=URL
    )
    return {**made, **changes}


def test_signature_matches_openssl():
    assert signing.signature(BODY, key=b"s3cr3t", timestamp=NOW, hook_type="rollout", url=URL) == (
        "sha256=" + OPENSSL_DIGEST
    )


def test_verify_accepts_what_signature_headers_made():
    verified = signing.verify(BODY, headers(), key=b"s3cr3t", now=NOW + 10, path="/")

    assert (verified.hook_type, verified.url, verified.timestamp) == ("rollout", URL, NOW)


@pytest.mark.parametrize(
    "header",
    [
        "X-Serinus-Timestamp",
        "X-Serinus-Webhook-Type",
        "X-Serinus-Webhook-URL",
        "X-Serinus-Signature",
    ],
)
def test_a_missing_header_is_named(header):
    sent = headers()
    del sent[header]

    with pytest.raises(signing.SignatureError, match=f"missing {header}"):
        signing.verify(BODY, sent, key=b"s3cr3t", now=NOW, path="/")


@pytest.mark.parametrize(
    ("body", "sent", "key", "now", "path", "expected"),
    [
        (BODY, headers(), b"other", NOW, "/", MISMATCH),
        (CHANGED, headers(), b"s3cr3t", NOW, "/", MISMATCH),
        (BODY, headers(**{TYPE_HEADER: "rollback"}), b"s3cr3t", NOW, "/", MISMATCH),
        (BODY, headers(**{URL_HEADER: URL + "rollback/check"}), b"s3cr3t", NOW, "/", MISMATCH),
        (BODY, headers(), b"s3cr3t", NOW, "/rollback/check", "signed for another URL"),
        (BODY, headers(), b"s3cr3t", NOW + 301, "/", "stale or replayed"),
        (BODY, headers(), b"s3cr3t", NOW - 301, "/", "stale or replayed"),
        (BODY, headers(**{"X-Serinus-Timestamp": "17e8"}), b"s3cr3t", NOW, "/", "Unix seconds"),
        (BODY, headers(**{URL_HEADER: "x" * 5000}), b"s3cr3t", NOW, "/", "not valid"),
    ],
    ids=["key", "body", "type", "url", "path", "stale", "future", "timestamp", "long"],
)  # fmt: skip
def test_verify_refuses_and_never_echoes_a_value(body, sent, key, now, path, expected):
    with pytest.raises(signing.SignatureError, match=expected) as refused:
        signing.verify(body, sent, key=key, now=now, path=path)

    assert sent["X-Serinus-Signature"] not in str(refused.value)
    assert "x" * 100 not in str(refused.value)


def test_the_url_header_leaves_out_userinfo_and_the_path_keeps_the_query():
    sent = signing.signature_headers(
        BODY, key=b"k", timestamp=NOW, hook_type="event", url="http://u:p@gate.test/hook?team=a"
    )

    assert sent["X-Serinus-Webhook-URL"] == "http://gate.test/hook?team=a"
    signing.verify(BODY, sent, key=b"k", now=NOW, path="/hook?team=a")
    with pytest.raises(signing.SignatureError, match="another URL"):
        signing.verify(BODY, sent, key=b"k", now=NOW, path="/hook")
