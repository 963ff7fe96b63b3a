"""Issue 10, row 8: 100,000-deep nested JSON got a 500 with a RecursionError traceback.

Here every endpoint that reads a payload answers a clear 4xx: 413 for a body over 64 KiB (issue
10's body is 200 KB), 400 for one nested too deep (at the top or inside ``metadata``) or not
JSON; no answer is a 500, nothing quotes a traceback, the log holds none, and the load tester
keeps serving.
"""

from __future__ import annotations

import pytest

ISSUE = b"[" * 100_000 + b"]" * 100_000  # issue 10's body: 200 KB
DEEP = b"[" * 30_000 + b"]" * 30_000  # as deep as fits the size limit
DEEP_METADATA = (
    b'{"name":"podinfo","namespace":"prod","metadata":{"cmd":'
    + b'{"a":' * 10_000
    + b"1"
    + b"}" * 10_001
    + b"}"
)


@pytest.mark.parametrize("path", ["/", "/gate/check", "/gate/open", "/rollback/close"])
async def test_hostile_bodies_get_clear_client_errors(start_loadtester, path):
    tester = await start_loadtester()

    issue = await tester.post(path, content=ISSUE)
    deep = await tester.post(path, content=DEEP)
    deep_metadata = await tester.post(path, content=DEEP_METADATA)
    huge = await tester.post(path, content=b'{"name": "' + b"a" * 2_000_000 + b'"}')
    not_json = await tester.post(path, content=b"\xff\xfe{")

    assert (issue.status_code, issue.text) == (413, "payload: larger than 65536 bytes")
    assert (deep.status_code, deep.text) == (400, "payload: nested deeper than 8 levels")
    assert deep_metadata.status_code == 400
    assert huge.status_code == 413
    assert huge.text == "payload: larger than 65536 bytes"
    assert not_json.status_code == 400
    assert not_json.text.startswith("payload is not JSON")
    for answer in (issue, deep, deep_metadata, huge, not_json):
        assert "Traceback" not in answer.text
    assert (await tester.client.get(tester.base + "/healthz")).status_code == 200
    assert "Traceback" not in tester.log()
    assert "stacktrace" not in tester.log()
