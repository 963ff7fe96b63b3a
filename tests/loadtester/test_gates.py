"""The manual gates over HTTP, and the file that keeps them.

Covers:
- every gate endpoint's status code, as Flagger answers: ``/gate/approve`` 200 and ``/gate/halt``
  403 whatever the body; ``/gate/check`` 403 until opened, 200 after ``/gate/open`` (202), 403
  again after ``/gate/close`` (202); gates are per canary (``name.namespace``);
- the rollback gate is separate from the approval gate, and no canary name reaches another
  canary's gate (a canary called ``rollback.podinfo`` is not podinfo's rollback gate);
- gate endpoints refuse a body without name/namespace (400) and honour ``--namespace-regexp``;
- opened gates survive a new app on the same state file; every change appends one line (the
  file never holds more than one line per change, and is compacted when it holds many more lines
  than open gates); opening twice is harmless; a last line cut short by a crash is ignored;
- a version 1 state file (one JSON document with Flagger's keys) is read and converted;
- at most ``--max-gates`` gates are open: one more gets 429, and closing one makes room;
- a state file that is not gate state is an error naming the file, not a silent reset.
"""

from __future__ import annotations

import json

import pytest

from serinus.loadtester.gates import Gate, GateStore, TooManyGates

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


PODINFO_GATE = Gate("gate", "test", "podinfo")
PODINFO_ROLLBACK = Gate("rollback", "test", "podinfo")


async def test_no_canary_name_reaches_another_canarys_gate(loadtester):
    sneaky = {"name": "rollback.podinfo", "namespace": "test"}

    assert (await loadtester.post("/gate/open", sneaky)).status_code == 202

    assert (await loadtester.post("/rollback/check", PODINFO)).status_code == 403
    assert (await loadtester.post("/gate/check", sneaky)).status_code == 200


def test_every_change_is_one_line_and_the_state_reloads(tmp_path):
    path = tmp_path / "gates.json"
    store = GateStore(path)

    store.open(PODINFO_GATE)
    store.open(PODINFO_GATE)
    store.open(PODINFO_ROLLBACK)
    store.close(PODINFO_GATE)

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines == [
        {"version": 2},
        {"open": ["gate", "test", "podinfo"]},
        {"open": ["rollback", "test", "podinfo"]},
        {"close": ["gate", "test", "podinfo"]},
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["gates.json"]
    assert GateStore(path).is_open(PODINFO_ROLLBACK)
    assert not GateStore(path).is_open(PODINFO_GATE)


def test_the_journal_is_compacted_when_it_outgrows_the_open_gates(tmp_path):
    path = tmp_path / "gates.json"
    store = GateStore(path)

    for _ in range(400):
        store.open(PODINFO_GATE)
        store.close(PODINFO_GATE)
    store.open(PODINFO_ROLLBACK)

    assert len(path.read_text().splitlines()) <= 2 * 1 + 256 + 2
    assert GateStore(path).is_open(PODINFO_ROLLBACK)
    assert not GateStore(path).is_open(PODINFO_GATE)


def test_a_last_line_cut_short_by_a_crash_is_ignored(tmp_path):
    path = tmp_path / "gates.json"
    store = GateStore(path)
    store.open(PODINFO_GATE)
    with path.open("a") as journal:
        journal.write('{"open": ["rollback", "te')

    reloaded = GateStore(path)
    reloaded.open(Gate("gate", "test", "frontend"))

    assert reloaded.is_open(PODINFO_GATE)
    assert not reloaded.is_open(PODINFO_ROLLBACK)
    assert GateStore(path).is_open(Gate("gate", "test", "frontend"))


def test_a_version_1_file_is_read_and_converted(tmp_path):
    path = tmp_path / "gates.json"
    path.write_text(json.dumps({"version": 1, "open": ["podinfo.test", "rollback.app.prod"]}))

    store = GateStore(path)

    assert store.is_open(PODINFO_GATE)
    assert store.is_open(Gate("rollback", "prod", "app"))
    assert path.read_text().splitlines()[0] == '{"version": 2}'
    assert GateStore(path).is_open(Gate("rollback", "prod", "app"))


def test_at_most_max_gates_are_open(tmp_path):
    store = GateStore(tmp_path / "gates.json", limit=2)
    store.open(Gate("gate", "test", "a"))
    store.open(Gate("gate", "test", "b"))

    with pytest.raises(TooManyGates, match="too many open gates"):
        store.open(Gate("gate", "test", "c"))
    store.open(Gate("gate", "test", "b"))  # already open: no new gate
    store.close(Gate("gate", "test", "a"))
    store.open(Gate("gate", "test", "c"))
    assert len(store) == 2


async def test_opening_past_max_gates_answers_429(loadtester_factory):
    tester = await loadtester_factory(max_gates=1)

    assert (await tester.post("/gate/open", PODINFO)).status_code == 202
    full = await tester.post("/rollback/open", PODINFO)

    assert full.status_code == 429
    assert "too many open gates (1" in full.text
    assert (await tester.post("/rollback/check", PODINFO)).status_code == 403


@pytest.mark.parametrize(
    "content", ["{not json", '{"open": "podinfo.test"}', "[]", '{"version": 2}\n{"open": 1}\n']
)
def test_a_state_file_that_is_not_gate_state_is_an_error(tmp_path, content):
    path = tmp_path / "gates.json"
    path.write_text(content)

    with pytest.raises(ValueError, match="gate state file"):
        GateStore(path)
