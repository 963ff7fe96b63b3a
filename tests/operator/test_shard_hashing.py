"""Rendezvous hashing of Canaries to replicas (``serinus.operator.shards.owner``).

Covers: every Canary has exactly one owner among the members, the same on every replica (a pure
function of the names); shares are even (3,000 Canaries on three replicas: each within 10 % of a
third); a replica joining takes Canaries only for itself and one leaving gives away only its own.
"""

from __future__ import annotations

from serinus.operator.shards import Share, owner

KEYS = [("prod", f"app-{number:04d}") for number in range(3000)]


def test_shares_are_even_and_the_same_everywhere() -> None:
    members = ("replica-a", "replica-b", "replica-c")
    shares = {member: 0 for member in members}
    for key in KEYS:
        shares[owner(key, members)] += 1  # type: ignore[index]
        assert owner(key, members) == owner(key, tuple(reversed(members)))
    assert all(900 <= share <= 1100 for share in shares.values()), shares
    assert owner(KEYS[0], ()) is None


def test_a_change_of_members_moves_only_what_it_must() -> None:
    three = ("replica-a", "replica-b", "replica-c")
    four = (*three, "replica-d")
    for key in KEYS:
        before, after = owner(key, three), owner(key, four)
        assert after in (before, "replica-d")  # joining: taken only by the newcomer
        without_c = owner(key, ("replica-a", "replica-b"))
        if before != "replica-c":
            assert without_c == before  # leaving: only the leaver's Canaries move


def test_a_share_answers_as_the_hash_does() -> None:
    """Every replica asks at every Canary event whether the Canary is its own: the answer is
    remembered per Canary, and is the hash's."""
    members = ("replica-a", "replica-b", "replica-c")
    share = Share(members, "replica-b")
    for _ in range(2):
        assert [share(key) for key in KEYS] == [owner(key, members) == "replica-b" for key in KEYS]
