"""What serinus says is safe to show and bounded in size: credentials in URLs hidden, long text cut.

Every message serinus writes where others read it (log lines, Kubernetes Events, the Canary's
status and conditions, event webhooks and chat alerts) passes through :func:`clean`, in the few
places that write them (:mod:`serinus.logs`, :mod:`serinus.kube.events`,
:mod:`serinus.kube.status`, the controller's tick). Two reasons:

* **No secret in the output.** A webhook URL or a MetricTemplate address may carry credentials
  (``http://user:password@host/``, ``?token=...``), and error messages name the URL they failed
  on. The person who reads the Canary's Events is not always the one who may read the template's
  credentials (a template can live in another namespace), and logs go to yet other people.
  :func:`redact` replaces the userinfo of every URL and the value of every query parameter (and
  the fragment) with ``***``, and the credentials of ``Bearer``/``Basic`` words; the host, port
  and path stay, so the message still says where the call went.
* **No message larger than a reader can take.** An invalid Canary that lists 50,000 step weights
  must not echo them into a status write (which the API server then refuses), an Event or a log
  line. :func:`cap` cuts text to a limit and says how much was cut.

Redaction runs before the cut on at most four times the limit, so the work per message is bounded
too, and a URL crossing the cut cannot show half its password.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 1024
"""Characters of one message in an Event, a status field or a condition (the API server's limit
for an Event's note, events.k8s.io/v1)."""

MASK = "***"

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>\\`]+")
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=\-]+")
_AUTHORIZATION = re.compile(
    r"(?i)\b(Authorization[\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+(\s+[^\s\"',;]+)?"
)


def redact(text: str) -> str:
    """``text`` with the credentials of every URL (userinfo, query values, fragment), of
    ``Bearer`` tokens and of ``Authorization`` values replaced by ``***``."""
    if "://" in text:
        text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    text = _BEARER.sub(lambda match: match.group(1) + MASK, text)
    return _AUTHORIZATION.sub(lambda match: match.group(1) + MASK, text)


def redact_url(url: str) -> str:
    """One URL without its secrets: ``http://***@host/path?token=***``."""
    scheme, rest = url.split("://", 1)
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:authority_end], rest[authority_end:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rsplit('@', 1)[1]}"
    path, hash_mark, fragment = tail.partition("#")
    path, question, query = path.partition("?")
    if question:
        query = "&".join(_mask_parameter(part) for part in query.split("&"))
    if hash_mark and fragment:
        fragment = MASK
    return f"{scheme}://{authority}{path}{question}{query}{hash_mark}{fragment}"


def _mask_parameter(parameter: str) -> str:
    if not parameter:
        return parameter
    name, equals, _ = parameter.partition("=")
    return f"{name}={MASK}" if equals else MASK


def cap(text: str, limit: int = MESSAGE_LIMIT, *, hidden: int = 0) -> str:
    """``text`` cut to at most ``limit`` characters, saying how many were left out (``hidden``:
    characters already left out before ``text``'s end)."""
    if len(text) <= limit and not hidden:
        return text
    keep = min(len(text), limit)
    while True:
        note = f"... ({len(text) - keep + hidden:,} more characters)"
        if keep + len(note) <= limit or keep == 0:
            return text[:keep] + note
        keep = max(limit - len(note), 0)


def clean(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """:func:`redact`, then :func:`cap`: what every message shown to people goes through."""
    window = limit * 4
    if len(text) <= window:
        return cap(redact(text), limit)
    return cap(redact(text[:window]), limit, hidden=len(text) - window)
