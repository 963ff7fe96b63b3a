"""Random payloads against the real ``serinus loadtester`` (hypothesis, 1,000 requests).

One load tester process, locked down as the docs advise (``--allow-command=true`` and a namespace
rule, so nothing a random payload could ask for runs beyond ``true``), takes random bodies on
every route: random bytes, random JSON of any shape and depth, and payloads shaped like Flagger's
with random names, namespaces, task types and metadata (every task type's keys included), with
and without random signature headers. No answer is a 5xx or mentions a traceback, the process
never dies, and its log holds no traceback at the end.
"""

from __future__ import annotations

import json
import pathlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

ROUTES = [
    "/", "/gate/approve", "/gate/halt", "/gate/check", "/gate/open", "/gate/close",
    "/rollback/check", "/rollback/open", "/rollback/close", "/healthz",
]  # fmt: skip
TYPES = ["cmd", "bash", "kubectl", "helm", "helmv3", "concord", "ngrinder", "", "wrk"]
KEYS = [
    "type", "cmd", "logCmdOutput", "returnCmdOutput", "server", "org", "project", "repo",
    "entrypoint", "apiKeyPath", "endpoint", "pollInterval", "pollTimeout", "arguments.x",
    "arguments.endpoint", "clone", "username", "passwd",
]  # fmt: skip


@pytest.fixture(scope="module")
def tester(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, pathlib.Path]]:
    where = tmp_path_factory.mktemp("fuzz")
    log_path = where / "loadtester.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "serinus", "loadtester", "--host=127.0.0.1", "--port=0",
                f"--state={where / 'gates.json'}", "--allow-command=true",
                "--namespace-regexp=prod|test", "--max-gates=50",
            ],
            cwd=where, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (found := re.search(r"listening on (http://\S+?)\"", log_path.read_text())):
        assert process.poll() is None, log_path.read_text()[-2000:]
        assert time.monotonic() < deadline, "serinus loadtester did not start"
        time.sleep(0.05)
    with httpx.Client(base_url=found.group(1), timeout=30) as client:
        yield client, log_path
    alive = process.poll() is None
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)
    assert alive, "the load tester died under fuzzing"
    text = log_path.read_text()
    assert "Traceback" not in text
    assert "stacktrace" not in text


names = st.one_of(
    st.sampled_from(["podinfo", "rollback.podinfo", "a" * 253, "prod", ""]),
    st.text(max_size=40),
)
namespaces = st.one_of(st.sampled_from(["prod", "test", "prod\n", "kube-system"]), st.text())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
metadata = st.dictionaries(
    st.one_of(st.sampled_from(KEYS), st.text(max_size=10)),
    st.one_of(st.sampled_from([*TYPES, "true", "1", "5", "http://127.0.0.1:1/"]), json_values),
    max_size=8,
)
flagger_like = st.fixed_dictionaries(
    {"name": names, "namespace": namespaces},
    optional={"metadata": metadata, "phase": json_values, "checksum": json_values},
).map(lambda document: json.dumps(document).encode())
deep = st.integers(1, 20_000).map(lambda depth: b"[" * depth + b"]" * depth)
bodies = st.one_of(
    flagger_like, st.binary(max_size=400), json_values.map(lambda v: json.dumps(v).encode()), deep
)
signature_headers = st.dictionaries(
    st.sampled_from(
        ["X-Serinus-Timestamp", "X-Serinus-Signature", "X-Serinus-Webhook-URL", "Content-Type"]
    ),
    # h11 refuses to send values with surrounding spaces, so those never reach a server.
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60).map(
        str.strip
    ),
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(ROUTES), body=bodies, headers=signature_headers)
def test_no_payload_gets_a_5xx_or_a_traceback(
    tester: tuple[httpx.Client, pathlib.Path], route: str, body: bytes, headers: dict[str, Any]
) -> None:
    client, _ = tester
    answer = client.post(route, content=body, headers=headers)

    assert answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert "Traceback" not in answer.text
    assert len(answer.text) < 4096 or route == "/"


def test_the_load_tester_still_serves(tester: tuple[httpx.Client, pathlib.Path]) -> None:
    client, _ = tester
    assert client.get("/healthz").status_code == 200
