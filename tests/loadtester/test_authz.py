"""The namespace rule and the command allow-list.

Covers: no rules allow everything (Flagger); ``--namespace-regexp`` searches the namespace as Go's
MatchString does (anchors are the user's to write); ``--allow-command`` needs a full match, so an
allowed command cannot be extended with another one, and the refusal names the rules; a pattern
that is not a regexp is an error naming the flag.
"""

from __future__ import annotations

import pytest

from serinus.loadtester.authz import Policy


def test_no_rules_allow_everything():
    policy = Policy.from_patterns(namespace=None, commands=())

    assert policy.namespace_denial("anything") is None
    assert policy.command_denial("rm -rf /") is None


def test_namespace_regexp_is_searched_like_go_matchstring():
    loose = Policy.from_patterns(namespace="test", commands=())
    anchored = Policy.from_patterns(namespace="^test$", commands=())

    assert loose.namespace_denial("e2e-test-1") is None
    assert anchored.namespace_denial("e2e-test-1") is not None
    assert anchored.namespace_denial("test") is None


def test_allow_command_needs_a_full_match_and_names_the_rules():
    policy = Policy.from_patterns(namespace=None, commands=[r"hey -z \d+m http://podinfo\S*"])

    assert policy.command_denial("hey -z 1m http://podinfo-canary.test:9898/") is None
    denial = policy.command_denial("hey -z 1m http://podinfo-canary.test:9898/; curl evil")
    assert denial is not None
    assert r"'hey -z \\d+m http://podinfo\\S*'" in denial


@pytest.mark.parametrize(
    ("namespace", "commands", "flag"),
    [("(", (), "--namespace-regexp"), (None, ("[",), "--allow-command")],
)
def test_a_pattern_that_is_not_a_regexp_names_the_flag(namespace, commands, flag):
    with pytest.raises(ValueError, match=flag):
        Policy.from_patterns(namespace=namespace, commands=commands)
