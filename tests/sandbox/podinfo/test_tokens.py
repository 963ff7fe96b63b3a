"""HS256 tokens (covers ``serinus/sandbox/podinfo/tokens.py``).

Covers: a token validates with its key until it expires a minute later; a wrong key, a changed
payload and a malformed token are refused with a reason.
"""

from __future__ import annotations

import datetime

import pytest

from serinus.sandbox.podinfo import tokens

NOW = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)


def test_token_validates_until_it_expires() -> None:
    issued = tokens.issue("alice", secret="s", now=NOW)
    found = tokens.validate(issued.token, secret="s", now=NOW + datetime.timedelta(seconds=59))
    assert (found.name, found.expires_at) == ("alice", NOW + tokens.LIFETIME)
    with pytest.raises(tokens.TokenError, match="expired"):
        tokens.validate(issued.token, secret="s", now=NOW + datetime.timedelta(seconds=61))


def test_wrong_key_and_tampering_are_refused() -> None:
    issued = tokens.issue("alice", secret="s", now=NOW)
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.validate(issued.token, secret="other", now=NOW)
    header, _, signature = issued.token.split(".")
    forged = tokens.issue("mallory", secret="x", now=NOW).token.split(".")[1]
    with pytest.raises(tokens.TokenError, match="signature"):
        tokens.validate(f"{header}.{forged}.{signature}", secret="s", now=NOW)
    with pytest.raises(tokens.TokenError, match="segments"):
        tokens.validate("not-a-token", secret="s", now=NOW)
