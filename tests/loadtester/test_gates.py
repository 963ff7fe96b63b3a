"""The manual gates over HTTP, and the file that keeps them.

Covers:
- every gate endpoint's status code, as Flagger answers: ``/gate/approve`` 200 and ``/gate/halt``
  403 whatever the body; ``/gate/check`` 403 until opened, 200 after ``/gate/open`` (202), 403
  again after ``/gate/close`` (202); gates are per canary (``name.namespace``);
- the rollback gate is separate from the approval gate (``rollback.<name>.<namespace>``);
- gate endpoints refuse a body without name/namespace (400) and honour ``--namespace-regexp``;
- opened gates survive a new app on the same state file; the file is valid JSON after every
  change and no temporary file is left behind; opening twice is harmless;
- a state file that is not gate state is an error naming the file, not a silent reset.
"""

from __future__ import annotations

import json

import pytest

from serinus.loadtester.gates import GateStore

PODINFO = {"name": "podinfo", "namespace": "test", "phase": "Progressing", "checksum": "abc"}
FRONTEND = {"name": "frontend", "namespace": "test"}


async def test_approve_and_halt_answer_whatever_the_body(loadtester):
    for body in (PODINFO, None):
        approve = await loadtester.post("/gate/approve", body)
        halt = await loadtester.post("/gate/halt", body)

        assert approve.status_code == 200
        assert halt.status_code == 403


async def test_check_is_closed_by_default_and_follows_open_and_close(loadtester):
    assert (await loadtester.post("/gate/check", PODINFO)).status_code == 403

    assert (await loadtester.post("/gate/open", PODINFO)).status_code == 202
    assert (await loadtester.post("/gate/check", PODINFO)).status_code == 200
    assert (await loadtester.post("/gate/check", FRONTEND)).status_code == 403

    assert (await loadtester.post("/gate/close", PODINFO)).status_code == 202
    assert (await loadtester.post("/gate/check", PODINFO)).status_code == 403


async def test_rollback_gate_is_separate_from_the_approval_gate(loadtester):
    assert (await loadtester.post("/rollback/check", PODINFO)).status_code == 403

    assert (await loadtester.post("/gate/open", PODINFO)).status_code == 202
    assert (await loadtester.post("/rollback/check", PODINFO)).status_code == 403

    assert (await loadtester.post("/rollback/open", PODINFO)).status_code == 202
    assert (await loadtester.post("/rollback/check", PODINFO)).status_code == 200
    assert (await loadtester.post("/rollback/close", PODINFO)).status_code == 202
    assert (await loadtester.post("/rollback/check", PODINFO)).status_code == 403
    assert (await loadtester.post("/gate/check", PODINFO)).status_code == 200


@pytest.mark.parametrize("path", ["/gate/check", "/gate/open", "/rollback/close"])
async def test_gate_endpoints_need_name_and_namespace(loadtester, path):
    response = await loadtester.post(path, {"name": "podinfo"})

    assert response.status_code == 400
    assert "payload.namespace" in response.text


async def test_gate_endpoints_honour_the_namespace_regexp(loadtester_factory):
    tester = await loadtester_factory(namespace="^prod$")

    opened = await tester.post("/gate/open", PODINFO)

    assert opened.status_code == 403
    assert (await tester.post("/gate/open", {**PODINFO, "namespace": "prod"})).status_code == 202


async def test_open_gates_survive_a_new_app_on_the_same_state_file(loadtester_factory, tmp_path):
    state = tmp_path / "state" / "gates.json"
    first = await loadtester_factory(state_file=state)
    await first.post("/gate/open", PODINFO)
    await first.post("/rollback/open", FRONTEND)

    second = await loadtester_factory(state_file=state)

    assert (await second.post("/gate/check", PODINFO)).status_code == 200
    assert (await second.post("/rollback/check", FRONTEND)).status_code == 200
    assert (await second.post("/gate/check", FRONTEND)).status_code == 403


def test_state_file_is_whole_after_every_change(tmp_path):
    path = tmp_path / "gates.json"
    store = GateStore(path)

    store.open("podinfo.test")
    store.open("podinfo.test")
    store.open("rollback.podinfo.test")
    store.close("podinfo.test")

    assert json.loads(path.read_text()) == {"version": 1, "open": ["rollback.podinfo.test"]}
    assert [p.name for p in tmp_path.iterdir()] == ["gates.json"]
    assert GateStore(path).is_open("rollback.podinfo.test")
    assert not GateStore(path).is_open("podinfo.test")


@pytest.mark.parametrize("content", ["{not json", '{"open": "podinfo.test"}', "[]"])
def test_a_state_file_that_is_not_gate_state_is_an_error(tmp_path, content):
    path = tmp_path / "gates.json"
    path.write_text(content)

    with pytest.raises(ValueError, match="gate state file"):
        GateStore(path)
