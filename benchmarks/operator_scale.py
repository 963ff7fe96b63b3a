"""How the operator holds up with many Canaries: tick lateness, CPU, memory and API requests.

Run: ``.venv/bin/python benchmarks/operator_scale.py [--canaries 100 1000] [--ticks 4]``.

For each N, on loopback: the sandbox's API server as its own process (``serinus sandbox
apiserver``); N Deployments and N Canaries (linkerd, interval 10 s, stepWeight 1 so a run stays
in Progressing for the whole measurement) in namespace ``bench``; a kubelet played by this script
(every Deployment whose spec changes is reported rolled out at once, written straight to the API
server); a real Prometheus answering the one MetricTemplate, ``vector(99.9)`` against min 99, so
every analysis passes (the checks are real queries, only their answer is fixed); and the real
operator process (``serinus operator``, default ``--min-interval 10s``), which reaches the API
server through a counting proxy (``apicounter.py``).

Two windows of ``--ticks`` intervals are measured per N: **idle** (every Canary Initialized: a
tick checks the Services, the primary, the TrafficSplit and the target's revision) and
**progressing** (after a new image on every target: each tick runs the analysis, shifts the
weight by 1, writes the status and an Event). Printed per window:

* tick lateness p50 / p99 / max: a tick should start every 10 s; lateness is the time between
  two tick starts of one Canary minus 10 s (tick starts are found in the requests the proxy saw,
  see ``apicounter.tick_starts``). serinus waits one interval after a tick ends, so lateness
  includes the tick itself;
* the mean tick duration (``flagger_canary_duration_seconds`` from the operator's /metrics);
* operator CPU seconds per tick and the operator's share of a core (``/proc/PID/stat``); the
  API server's share of a core;
* operator RSS and peak RSS (``/proc/PID/status`` VmRSS, VmHWM);
* API requests per tick per Canary (requests through the proxy / ticks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import httpx
import yaml
from apicounter import CountingProxy, request_kinds, tick_starts
from scale_cluster import NS, Cluster, proc_cpu, proc_memory

from serinus.sandbox.apiserver import write_kubeconfig
from serinus.sandbox.prometheus import Prometheus

INTERVAL = 10.0


@dataclasses.dataclass
class Window:
    name: str
    canaries: int
    seconds: float
    ticks: int
    lateness: list[float]
    tick_seconds: float
    cpu: float
    api_cpu: float
    own_cpu: float
    requests: int
    kinds: dict[str, int]
    rss_mb: float
    peak_mb: float

    def row(self) -> str:
        late = sorted(self.lateness) or [float("nan")]
        p50 = statistics.median(late)
        p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
        per_tick = self.cpu / self.ticks if self.ticks else float("nan")
        requests = self.requests / self.ticks if self.ticks else float("nan")
        return (
            f"{self.canaries:>6} {self.name:<12} {self.ticks:>6} {p50:>7.2f} {p99:>7.2f} "
            f"{late[-1]:>7.2f} {self.tick_seconds * 1000:>8.1f} {per_tick * 1000:>9.2f} "
            f"{self.cpu / self.seconds:>6.0%} {self.api_cpu / self.seconds:>6.0%} "
            f"{self.own_cpu / self.seconds:>6.0%} "
            f"{self.rss_mb:>7.0f} {self.peak_mb:>7.0f} {requests:>8.1f}"
        )


HEADER = (
    f"{'N':>6} {'window':<12} {'ticks':>6} {'late50':>7} {'late99':>7} {'lateMax':>7} "
    f"{'tick ms':>8} {'cpu ms/t':>9} {'op cpu':>6} {'api cpu':>6} {'bench':>6} {'RSS MB':>7} "
    f"{'peak MB':>7} {'req/t/c':>8}"
)


def tick_durations(port: int) -> tuple[float, float]:
    """Sum and count of ``flagger_canary_duration_seconds`` over every Canary."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith("flagger_canary_duration_seconds_sum"):
            total += float(line.rsplit(" ", 1)[1])
        elif line.startswith("flagger_canary_duration_seconds_count"):
            count += float(line.rsplit(" ", 1)[1])
    return total, count


async def measure(
    name: str, n: int, ticks: int, proxy: CountingProxy, operator: int, api: int, port: int
) -> Window:
    seconds = ticks * INTERVAL
    started, first = time.monotonic(), len(proxy.requests)
    cpu, api_cpu, own_cpu = proc_cpu(operator), proc_cpu(api), proc_cpu(os.getpid())
    durations = await asyncio.to_thread(tick_durations, port)
    await asyncio.sleep(seconds)
    ended, last = time.monotonic(), len(proxy.requests)
    cpu, api_cpu = proc_cpu(operator) - cpu, proc_cpu(api) - api_cpu
    own_cpu = proc_cpu(os.getpid()) - own_cpu
    total, count = await asyncio.to_thread(tick_durations, port)
    lateness, count_ticks = [], 0
    for times in tick_starts(proxy.requests).values():
        inside = [t for t in times if started <= t < ended]
        count_ticks += len(inside)
        lateness += [b - a - INTERVAL for a, b in itertools.pairwise(times) if b in inside]
    rss, peak = proc_memory(operator)
    return Window(
        name=name,
        canaries=n,
        seconds=ended - started,
        ticks=count_ticks,
        lateness=lateness,
        tick_seconds=(total - durations[0]) / max(count - durations[1], 1),
        cpu=cpu,
        api_cpu=api_cpu,
        own_cpu=own_cpu,
        requests=last - first,
        kinds=request_kinds(proxy.requests[first:last]),
        rss_mb=rss / 1024,
        peak_mb=peak / 1024,
    )


async def latency(url: str, count: int = 100) -> float:
    """Median seconds of a GET /version, one at a time."""
    times = []
    async with httpx.AsyncClient() as client:
        for _ in range(count):
            began = time.perf_counter()
            (await client.get(f"{url}/version")).raise_for_status()
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def start_apiserver(directory: pathlib.Path) -> tuple[subprocess.Popen[bytes], str]:
    kubeconfig = directory / "apiserver.kubeconfig"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "serinus", "sandbox", "apiserver", "--port", "0"),
            *("--kubeconfig", str(kubeconfig), "--watch-window", "200000"),
            *("--log-level", "warning"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "apiserver.log").open("w"),
    )
    deadline = time.monotonic() + 30
    while not kubeconfig.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the API server did not start: {(directory / 'apiserver.log')}")
        time.sleep(0.05)
    url = yaml.safe_load(kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    return process, str(url)


def start_operator(
    directory: pathlib.Path, proxy: CountingProxy, prometheus: str
) -> tuple[subprocess.Popen[bytes], pathlib.Path]:
    kubeconfig = write_kubeconfig(directory / "operator.kubeconfig", proxy.url)
    log = directory / "operator.log"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "serinus", "operator", "--kubeconfig", str(kubeconfig)),
            *("--mesh-provider", "linkerd", "--metrics-server", prometheus),
            *("--host", "127.0.0.1", "--port", "0", "--namespace", NS),
        ],
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    return process, log


async def metrics_port(log: pathlib.Path) -> int:
    for _ in range(600):
        text = await asyncio.to_thread(log.read_text)
        for line in text.splitlines():
            if "Starting serinus operator" in line:
                return int(line.rsplit("port ", 1)[1].split('"', 1)[0])
        await asyncio.sleep(0.05)
    raise SystemExit(f"the operator did not start, see {log}")


async def run(n: int, ticks: int, directory: pathlib.Path) -> list[Window]:
    api, url = start_apiserver(directory)
    proxy = CountingProxy(int(url.rsplit(":", 1)[1]))
    await proxy.start()
    direct, proxied = await latency(url), await latency(proxy.url)
    print(
        f"  GET /version: {direct * 1000:.2f} ms direct, {proxied * 1000:.2f} ms through the proxy"
    )
    proxy.requests.clear()
    operator: subprocess.Popen[bytes] | None = None
    try:
        with Prometheus(directory / "prometheus") as prometheus:
            async with Cluster(url) as cluster:
                began = time.monotonic()
                await cluster.populate(n, prometheus.url)
                print(f"  N={n}: {2 * n} objects created in {time.monotonic() - began:.0f}s")
                operator, log = start_operator(directory, proxy, prometheus.url)
                port = await metrics_port(log)
                began = time.monotonic()
                await cluster.wait_phases(n, {"Initialized"})
                print(f"  N={n}: all Canaries initialized in {time.monotonic() - began:.0f}s")
                idle = await measure("idle", n, ticks, proxy, operator.pid, api.pid, port)
                await cluster.new_images(n)
                began = time.monotonic()
                await cluster.wait_phases(n, {"Progressing"})
                print(f"  N={n}: all Canaries progressing in {time.monotonic() - began:.0f}s")
                busy = await measure("progressing", n, ticks, proxy, operator.pid, api.pid, port)
                return [idle, busy]
    finally:
        if operator is not None:
            operator.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                operator.wait(timeout=60)
            operator.kill()
        await proxy.stop()
        api.terminate()
        api.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--canaries", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--ticks", type=int, default=4, help="intervals measured per window")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; interval {INTERVAL:g}s; {args.ticks} intervals per window")
    windows: list[Window] = []
    for n in args.canaries:
        with tempfile.TemporaryDirectory(prefix="serinus-scale-") as directory:
            windows += await run(n, args.ticks, pathlib.Path(directory))
    print()
    print(HEADER)
    for window in windows:
        print(window.row())
    print(
        "\nlate = seconds between two tick starts of a Canary minus 10 s; tick ms = mean tick "
        "duration (operator's histogram);\ncpu ms/t = operator CPU per tick; op/api cpu = share "
        "of one core of the operator and the API server;\nbench = this script's share (proxy, "
        "kubelet); req/t/c = API requests per tick per Canary."
    )
    print()
    for window in windows:
        top = sorted(window.kinds.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{k} {v / max(window.ticks, 1):.1f}" for k, v in top[:8])
        print(f"N={window.canaries} {window.name} requests per tick: {text}")


if __name__ == "__main__":
    asyncio.run(main())
