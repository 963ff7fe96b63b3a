"""The end of ``serinus demo``: both releases, one after the other, and what their clients saw.

For each release: the outcome (the Canary's final phase, and whether it is the one the seed
expects), how long it took from the image change to that phase, the requests the mesh served to
podinfo meanwhile (from Prometheus: the mesh proxy's ``response_total``), and the errors seen by
clients: podinfo's users (the demo's own probe, every answer counted), the load test (the load
tester's hey results; for the promotion, complete, since the demo waits for hey to finish), and
the faults injected on purpose with the seed's commands.
"""

from __future__ import annotations

from serinus.sandbox.demo.clients import Counts
from serinus.sandbox.demo.releases import Release


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60:02d}s" if whole >= 60 else f"{whole}s"


def clients_text(counts: Counts | None, *, running: bool = False) -> str:
    if counts is None:
        return "not measured"
    if counts.requests == 0 and running:
        return "hey still running"
    rate = 100.0 * (counts.requests - counts.errors) / counts.requests if counts.requests else 0.0
    text = f"{counts.errors} errors in {counts.requests} requests ({rate:.2f}% ok)"
    return text + (" so far, hey still running" if running else "")


def served_text(served: dict[str, int]) -> str:
    if not served:
        return "-"
    total = sum(served.values())
    return f"{total} ({served.get('failure', 0)} failed)"


def injected_text(release: Release) -> str:
    parts = []
    for command, report in release.injections:
        target = command.rsplit("/", 2)[-2:]
        what = "/".join(target)
        if report is None:
            parts.append(f"{what}: no summary")
            continue
        codes = ", ".join(f"{n} [{code}]" for code, n in sorted(report.status_codes.items()))
        parts.append(f"/{what}: {codes or 'no response'}")
    return "; ".join(parts) or "-"


def lines(releases: list[Release], primary_image: str) -> list[str]:
    """The summary as plain lines (pipes, logs, tests)."""
    out = ["Summary"]
    for release in releases:
        verdict = "as the seed" if release.outcome == release.expected else "NOT as the seed"
        out += [
            f"  {release.title}: {release.outcome or 'unfinished'} ({verdict}) "
            f"in {minutes(release.seconds)}",
            f"    traffic weights: {' '.join(str(w) for w in release.weights)}",
            f"    requests served by the mesh: {served_text(release.served)}",
            f"    podinfo's users: {clients_text(release.probe)}",
            f"    load test (hey): "
            f"{clients_text(release.load_test, running=release.load_test_running)}",
        ]
        if release.injections:
            out.append(f"    faults injected: {injected_text(release)}")
    out.append(f"  podinfo-primary runs {primary_image}")
    return out
