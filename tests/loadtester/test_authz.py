"""The namespace rule and the command allow-list.

Covers:
- no rules allow everything (Flagger);
- ``--namespace-regexp`` must match the whole namespace (``fullmatch``: ``^prod$`` refuses
  ``prod\\n``, ``prod`` refuses ``e2e-prod-1``), and a refusal does not show the rule;
- ``--allow-command`` matches the arguments joined back with shell quoting, fully: an allowed
  command cannot be extended, and an argument holding shell syntax cannot match a rule written
  with ``\\S`` (the docs' curl rule against every payload of issue 10, row 1);
- a program that runs programs (a shell, env, python...) needs a rule that names it first;
- refusals quote a short prefix of the command and never list the rules;
- a pattern that is not a regexp is an error naming the flag.
"""

from __future__ import annotations

import shlex

import pytest

from serinus.loadtester.authz import Policy

DOCS_RULE = r"curl -sf http://podinfo-canary(\.prod)?:9898/\S*"


def test_no_rules_allow_everything():
    policy = Policy.from_patterns(namespace=None, commands=())

    assert policy.namespace_denial("anything") is None
    assert policy.command_denial(["rm", "-rf", "/"]) is None
    assert not policy.locked


@pytest.mark.parametrize(
    ("pattern", "namespace", "allowed"),
    [
        ("^prod$", "prod", True),
        ("^prod$", "prod\n", False),
        ("prod", "e2e-prod-1", False),
        ("prod|staging", "staging", True),
        ("prod-.*", "prod-eu", True),
    ],
)
def test_namespace_regexp_must_match_the_whole_namespace(pattern, namespace, allowed):
    policy = Policy.from_patterns(namespace=pattern, commands=())

    assert (policy.namespace_denial(namespace) is None) is allowed


def test_a_namespace_refusal_does_not_show_the_rule():
    denial = Policy.from_patterns(namespace="^(prod|secret-team)$", commands=()).namespace_denial(
        "staging"
    )

    assert denial is not None
    assert "'staging'" in denial
    assert "secret-team" not in denial


@pytest.mark.parametrize(
    "cmd",
    [
        "curl -sf http://podinfo-canary:9898/;id;uname${IFS}-n",
        "curl -sf http://podinfo-canary:9898/$(touch${IFS}x)",
        "curl -sf http://podinfo-canary:9898/`touch x`",
        "curl -sf http://podinfo-canary:9898/||touch${IFS}x",
        "curl -sf http://podinfo-canary:9898/ || touch x",
        "curl -sf http://podinfo-canary:9898/\ntouch x",
        "curl -sf 'http://podinfo-canary:9898/ -o /tmp/x'",
        "curl -sf http://podinfo-canary:9898/[1-99999]",
    ],
)
def test_the_documented_curl_rule_refuses_shell_syntax(cmd):
    policy = Policy.from_patterns(namespace=None, commands=[DOCS_RULE])

    assert policy.command_denial(shlex.split(cmd)) is not None
    assert policy.command_denial(shlex.split("curl -sf http://podinfo-canary:9898/ok")) is None


def test_allow_command_needs_a_full_match_and_does_not_list_the_rules():
    policy = Policy.from_patterns(namespace=None, commands=[r"hey -z \d+m http://podinfo\S*"])

    assert policy.command_denial(["hey", "-z", "1m", "http://podinfo-canary.test:9898/"]) is None
    long = ["hey", "-z", "1m", "http://podinfo-canary.test:9898/", "-o", "x" * 900_000]
    denial = policy.command_denial(long)
    assert denial is not None
    assert r"\d+m" not in denial
    assert "does not fully match" in denial
    assert len(denial) < 300


@pytest.mark.parametrize(
    ("argv", "rules", "allowed"),
    [
        (["bash", "-c", "./smoke.sh"], [r".*"], False),
        (["sh", "-c", "id"], [r"\S+ -c .*"], False),
        (["/bin/sh", "-c", "id"], [r".*"], False),
        (["env", "sh", "-c", "id"], [r".*"], False),
        (["python3", "-c", "print(1)"], [r".*"], False),
        (["/usr/bin/python3.11", "-c", "print(1)"], [r".*"], False),
        (["bash5", "-c", "id"], [r".*"], False),
        (["bash", "-c", "./smoke.sh"], [r"bash -c \./smoke\.sh", r".*"], True),
        (["bash", "-c", "./smoke.sh; id"], [r"bash -c \./smoke\.sh", r".*"], False),
        (["curl", "-sf", "http://x/"], [r".*"], True),
    ],
)
def test_a_program_that_runs_programs_needs_a_rule_naming_it_first(argv, rules, allowed):
    policy = Policy.from_patterns(namespace=None, commands=rules)

    assert (policy.command_denial(argv) is None) is allowed


@pytest.mark.parametrize(
    ("namespace", "commands", "flag"),
    [("(", (), "--namespace-regexp"), (None, ("[",), "--allow-command")],
)
def test_a_pattern_that_is_not_a_regexp_names_the_flag(namespace, commands, flag):
    with pytest.raises(ValueError, match=flag):
        Policy.from_patterns(namespace=namespace, commands=commands)
