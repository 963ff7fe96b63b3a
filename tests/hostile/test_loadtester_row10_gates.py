"""Issue 10, row 10: gate keys collided, gates grew without bound (the whole file rewritten for
each), and ``--namespace-regexp '^prod$'`` accepted ``"prod\\n"``.

Here: opening the gate of a canary called ``rollback.podinfo`` leaves podinfo's rollback gate
closed; at most ``--max-gates`` gates are open (429 past it, the open ones stay open); each change
appends one line to the state file and leaves what was written before untouched; and a namespace
of ``prod\\n`` is refused on every endpoint.
"""

from __future__ import annotations

import itertools
import pathlib

PODINFO = {"name": "podinfo", "namespace": "prod"}


async def test_a_canary_name_cannot_open_another_canarys_gate(start_loadtester):
    tester = await start_loadtester()

    opened = await tester.post("/gate/open", {"name": "rollback.podinfo", "namespace": "prod"})

    assert opened.status_code == 202
    assert (await tester.post("/rollback/check", PODINFO)).status_code == 403


async def test_gates_are_capped_and_each_change_appends_one_line(start_loadtester, tmp_path):
    tester = await start_loadtester("--max-gates=20")
    state = pathlib.Path(tmp_path / "gates0.json")

    sizes = []
    for index in range(20):
        answer = await tester.post("/gate/open", {"name": f"app{index}", "namespace": "prod"})
        assert answer.status_code == 202
        sizes.append(state.read_text())  # noqa: ASYNC240 (a small local file)
    full = await tester.post("/gate/open", {"name": "one-more", "namespace": "prod"})

    assert full.status_code == 429
    assert "too many open gates (20" in full.text
    for before, after in itertools.pairwise(sizes):
        assert after.startswith(before)
        assert after.count("\n") == before.count("\n") + 1
    checked = await tester.post("/gate/check", {"name": "app0", "namespace": "prod"})
    assert checked.status_code == 200


async def test_a_namespace_with_a_trailing_newline_is_refused(start_loadtester):
    tester = await start_loadtester("--namespace-regexp=^prod$")
    sneaky = {"name": "podinfo", "namespace": "prod\n"}

    answers = [
        await tester.post("/gate/open", sneaky),
        await tester.post("/rollback/open", sneaky),
        await tester.post("/", {**sneaky, "metadata": {"cmd": "true"}}),
    ]

    assert {answer.status_code for answer in answers} == {400}
    assert "payload.namespace: expected a namespace name" in answers[0].text
    assert (await tester.post("/gate/check", sneaky)).status_code == 400
    assert (await tester.post("/gate/open", PODINFO)).status_code == 202
