"""What serinus shows people: credentials in URLs hidden, long text cut (issue 10, rows 7, 11).

Covers: the userinfo of a URL, every query value and the fragment become ``***`` while scheme,
host, port and path stay; several URLs in one message, URLs in quotes and in JSON; ``Bearer``
tokens and ``Authorization`` values; text without a URL is unchanged; :func:`cap` keeps the limit
exactly and says how much was cut; :func:`clean` bounds the work on huge text, and a password in
a URL that crosses the cut does not show.
"""

from __future__ import annotations

import json

import pytest

from serinus.redaction import MESSAGE_LIMIT, cap, clean, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "http://load-tester.prod/ unreachable: connection refused",
            "http://load-tester.prod/ unreachable: connection refused",
        ),
        (
            "webhook http://user:hunter2@gate.prod:8080/approve answered HTTP 500",
            "webhook http://***@gate.prod:8080/approve answered HTTP 500",
        ),
        ("https://h/q?token=abc&x=1&flag", "https://h/q?token=***&x=***&***"),
        ("see https://h/p#access_token=abc.", "see https://h/p#***"),
        (
            "'http://a:b@h/' and \"https://c@d/?e=f\"",
            "'http://***@h/' and \"https://***@d/?e=***\"",
        ),
        ("Prometheus http://admin:p%40ss@prom:9090", "Prometheus http://***@prom:9090"),
        ("http://u:p@ss@host/x", "http://***@host/x"),
        ("Authorization: Bearer abc.def", "Authorization: ***"),
        ("got Bearer eyJhbGciOi.x.y back", "got Bearer *** back"),
        ('{"Authorization": "Basic dXNlcjpwYXNz"}', '{"Authorization": "***"}'),
        ("no secrets here: 5 of 10 checks failed", "no secrets here: 5 of 10 checks failed"),
    ],
)
def test_redact_hides_credentials_and_keeps_where(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_url_inside_json_keeps_the_json_readable() -> None:
    text = json.dumps({"url": "http://u:secret@h/x?token=t"})
    assert json.loads(redact(text)) == {"url": "http://***@h/x?token=***"}


def shown_and_hidden(text: str) -> tuple[str, int]:
    shown, _, note = text.rpartition("... (")
    return shown, int(note.removesuffix(" more characters)").replace(",", ""))


def test_cap_keeps_the_limit_exactly_and_counts_what_it_cut() -> None:
    assert cap("short") == "short"
    cut = cap("x" * 5000)
    assert len(cut) == MESSAGE_LIMIT
    shown, hidden = shown_and_hidden(cut)
    assert shown == "x" * len(shown)
    assert len(shown) + hidden == 5000


def test_clean_bounds_huge_text_and_counts_all_of_it() -> None:
    text = "stepWeights: " + ", ".join(str(n) for n in range(1, 50001))
    cleaned = clean(text)
    assert len(cleaned) == MESSAGE_LIMIT
    shown, hidden = shown_and_hidden(cleaned)
    assert text.startswith(shown)
    assert len(shown) + hidden == len(text)


def test_a_url_crossing_the_cut_does_not_show_its_password() -> None:
    url = " http://admin:hunter2-long-password@prom:9090/"
    text = "x" * (MESSAGE_LIMIT - 20) + url + "y" * 9000
    assert "hunter2" not in clean(text)
    assert "hunter2" not in clean(text, 4000)
