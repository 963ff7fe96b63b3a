"""How the operator holds up with many Canaries: tick lateness, CPU, memory and API requests.

Run: ``.venv/bin/python benchmarks/operator_scale.py [--canaries 100 1000] [--ticks 4]
[--cores 1|2] [--replicas R]``. ``--cores 1`` pins the operator processes to core 0 with
``taskset`` and everything else (the API server, Prometheus, this script) to core 1, as a real
cluster's API server does not share the operator's core; ``--cores 2`` pins nothing (every process
on both cores). The script prints which cores each process gets, and, per window, the API
server's share of its core: near 100 %, ticks waited for the API server (the sandbox's, one
Python process), and their lateness says more about it than about the operator. ``--replicas R``
runs R operators with ``--shards auto``. ``OPERATOR_ARGS`` in the environment adds flags to every
operator (``OPERATOR_ARGS='--max-concurrent-ticks 128'``).

For each N, on loopback: the sandbox's API server as its own process (``serinus sandbox
apiserver``); N Deployments and N Canaries (linkerd, interval 10 s, stepWeight 1 so a run stays
in Progressing for the whole measurement) in namespace ``bench``; a kubelet played by this script
(every Deployment whose spec changes is reported rolled out at once, written straight to the API
server); a real Prometheus answering the one MetricTemplate, ``vector(99.9)`` against min 99, so
every analysis passes (the checks are real queries, only their answer is fixed); and the real
operator process (``serinus operator``, default ``--min-interval 10s``), straight to the API
server, which counts the requests it answers (its ``/metrics``, read by ``apicounter.py``).

Three windows of ``--ticks`` intervals are measured per N: **idle** (every Canary Initialized: a
tick checks the Services, the primary, the TrafficSplit and the target's revision),
**progressing** (after a new image on every target, once every Canary has taken its first
weight step: each tick runs the analysis, shifts the weight by 1, writes the status and an
Event) and **progressing+** (the window right after it: the same work, without the start of N
runs at once just before; a backlog of late ticks left by the start shows as the difference
between the two). Printed per window:

* tick lateness p50 / p99, and ticks that started more than 1 s late: how late each tick started
  after its due time, from the operators' ``serinus_tick_lateness_seconds`` histograms (the
  scheduler's own clock; quantiles interpolated inside the buckets, as Prometheus'
  ``histogram_quantile`` does). The due time of a tick is one interval after the previous one
  started, so this is the time between two tick starts of a Canary minus 10 s, when positive;
* the mean tick duration (``flagger_canary_duration_seconds`` from the operator's /metrics);
* operator CPU seconds per tick and the operator's share of a core (``/proc/PID/stat``); the
  API server's share of a core; the whole machine's busy CPU (``/proc/stat``, in shares of
  a core: 200 % is two cores full), which adds Prometheus, the kernel and anything else running;
* operator RSS and peak RSS (``/proc/PID/status`` VmRSS, VmHWM; the largest replica's);
* API requests per tick per Canary (the API server's count of the window, less this script's own
  requests, / ticks; with replicas, their Lease renewals and lists included).
* the operators' garbage-collection pauses (``serinus_gc_pause_seconds``): milliseconds per
  second spent in them, and the longest one (the upper bound of its bucket). Every tick due
  during a pause starts that much late.
* Events dropped by the operators (``serinus_events_dropped_total``): they write their Events in
  the background, and drop one when 1,000 wait to be written.

A second table says where the ticks' time went, from the operators' own histograms (summed over
replicas and label values, read by ``opmetrics.py``), each as its mean and p99 in milliseconds:
Kubernetes API requests (each try, after the rate limiter; all verbs) with their number a second,
each try's wait for the client-side rate limiter, the metric queries (Prometheus here) and the
lag of the operators' event loops (a timer due every 100 ms).

The operators run with ``--kube-api-qps 1000 --kube-api-burst 2000``: with every Canary
progressing at a 10 s interval, N=1000 asks ~300 writes a second, above the default limit of 100
(sized for Flagger's usual 1 m interval).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import pathlib
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import apicounter
import httpx
from opmetrics import BOUNDS, GC_BOUNDS, WAIT_BOUNDS, Histogram, quantile, scrape
from scale_cluster import NS, Cluster, machine_busy, proc_cpu, proc_memory, start_apiserver

from serinus.sandbox.apiserver import write_kubeconfig
from serinus.sandbox.prometheus import Prometheus

INTERVAL = 10.0
SATURATED = 0.9
"""The API server's share of a core above which the figures say it was the bottleneck."""


@dataclasses.dataclass
class Window:
    name: str
    canaries: int
    seconds: float
    ticks: int
    buckets: list[float]
    tick_seconds: float
    cpu: float
    api_cpu: float
    own_cpu: float
    machine_cpu: float
    requests: int
    kinds: dict[str, int]
    rss_mb: float
    peak_mb: float
    gc_seconds: float
    gc_buckets: list[float]
    dropped: float
    timings: dict[str, Histogram]

    @property
    def gc_longest(self) -> float:
        """The upper bound of the longest garbage-collection pause of the window (any replica)."""
        counts = [0.0, *self.gc_buckets]
        grew = [
            b for b, low, high in zip(GC_BOUNDS, counts[:-1], counts[1:], strict=True) if high > low
        ]
        return grew[-1] if grew else 0.0

    def row(self) -> str:
        p50, p99 = quantile(0.5, self.buckets), quantile(0.99, self.buckets)
        late = self.buckets[-1] - self.buckets[BOUNDS.index(1.0)]
        per_tick = self.cpu / self.ticks if self.ticks else float("nan")
        requests = self.requests / self.ticks if self.ticks else float("nan")
        return (
            f"{self.canaries:>6} {self.name:<12} {self.ticks:>6} {p50:>7.3f} {p99:>7.3f} "
            f"{late:>7.0f} {self.tick_seconds * 1000:>8.1f} {per_tick * 1000:>9.2f} "
            f"{self.cpu / self.seconds:>6.0%} {self.api_cpu / self.seconds:>6.0%} "
            f"{self.own_cpu / self.seconds:>6.0%} {self.machine_cpu / self.seconds:>7.0%} "
            f"{self.rss_mb:>7.0f} {self.peak_mb:>7.0f} {requests:>8.1f} "
            f"{self.gc_seconds / self.seconds * 1000:>7.1f} {self.gc_longest * 1000:>7.0f} "
            f"{self.dropped:>7.0f}"
        )

    def timing_row(self) -> str:
        """Where the ticks' time went: each histogram's mean and p99, in milliseconds."""
        cells = [f"{self.canaries:>6} {self.name:<12}"]
        requests = self.timings["request"]
        cells.append(f"{requests.count / self.seconds:>6.0f}")
        for short in ("request", "wait", "query", "lag"):
            found = self.timings[short]
            if not found.count:
                cells.append(f"{'-':>7} {'-':>7}")
                continue
            p99 = found.quantile(0.99)
            shown = f"{'<1':>7}" if p99 <= WAIT_BOUNDS[0] else f"{p99 * 1000:>7.1f}"
            cells.append(f"{found.mean * 1000:>7.1f} {shown}")
        return " ".join(cells)


TIMING_HEADER = (
    f"{'N':>6} {'window':<12} {'req/s':>6} {'req ms':>7} {'req99':>7} {'rl ms':>7} "
    f"{'rl99':>7} {'query':>7} {'qry99':>7} {'lag ms':>7} {'lag99':>7}"
)

HEADER = (
    f"{'N':>6} {'window':<12} {'ticks':>6} {'late50':>7} {'late99':>7} {'>1s':>7} "
    f"{'tick ms':>8} {'cpu ms/t':>9} {'op cpu':>6} {'api cpu':>6} {'bench':>6} {'machine':>7} "
    f"{'RSS MB':>7} {'peak MB':>7} {'req/t/c':>8} {'gc ms/s':>7} {'gc max':>7} {'ev drop':>7}"
)


async def measure(
    name: str,
    n: int,
    ticks: int,
    cluster: Cluster,
    url: str,
    operators: list[int],
    api: int,
    ports: list[int],
) -> Window:
    seconds = ticks * INTERVAL
    first = await asyncio.to_thread(apicounter.request_kinds, url)
    reported = cluster.reported
    started = time.monotonic()
    cpu = sum(proc_cpu(pid) for pid in operators)
    api_cpu, own_cpu = proc_cpu(api), proc_cpu(os.getpid())
    machine_cpu = machine_busy()
    before = await asyncio.to_thread(scrape, ports)
    await asyncio.sleep(seconds)
    ended = time.monotonic()
    last = await asyncio.to_thread(apicounter.request_kinds, url)
    kinds = apicounter.difference(
        first, last, {"PATCH deployments/status": cluster.reported - reported}
    )
    cpu = sum(proc_cpu(pid) for pid in operators) - cpu
    api_cpu, own_cpu = proc_cpu(api) - api_cpu, proc_cpu(os.getpid()) - own_cpu
    machine_cpu = machine_busy() - machine_cpu
    after = await asyncio.to_thread(scrape, ports)
    buckets = after.lateness.since(before.lateness).buckets
    memory = [proc_memory(pid) for pid in operators]
    return Window(
        name=name,
        canaries=n,
        seconds=ended - started,
        ticks=int(buckets[-1]),
        buckets=buckets,
        tick_seconds=(after.duration_sum - before.duration_sum)
        / max(after.duration_count - before.duration_count, 1),
        cpu=cpu,
        api_cpu=api_cpu,
        own_cpu=own_cpu,
        machine_cpu=machine_cpu,
        requests=sum(kinds.values()),
        kinds=kinds,
        rss_mb=max(rss for rss, _ in memory) / 1024,
        peak_mb=max(peak for _, peak in memory) / 1024,
        gc_seconds=after.gc.total - before.gc.total,
        gc_buckets=after.gc.since(before.gc).buckets,
        dropped=after.dropped - before.dropped,
        timings={
            short: found.since(before.timings[short]) for short, found in after.timings.items()
        },
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


def start_operator(
    directory: pathlib.Path,
    url: str,
    prometheus: str,
    *,
    index: int,
    replicas: int,
    cores: int,
) -> tuple[subprocess.Popen[bytes], pathlib.Path]:
    kubeconfig = write_kubeconfig(directory / "operator.kubeconfig", url)
    log = directory / f"operator-{index}.log"
    pinned = ["taskset", "-c", "0"] if cores == 1 else []
    shards = ["--shards", "auto", "--leader-election-namespace", NS] if replicas > 1 else []
    process = subprocess.Popen(
        [
            *pinned,
            *(sys.executable, "-m", "serinus", "operator", "--kubeconfig", str(kubeconfig)),
            *("--mesh-provider", "linkerd", "--metrics-server", prometheus),
            *("--host", "127.0.0.1", "--port", "0", "--namespace", NS),
            *("--kube-api-qps", "1000", "--kube-api-burst", "2000"),
            *("--identity", f"bench-{index}", *shards),
            *shlex.split(os.environ.get("OPERATOR_ARGS", "")),
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


async def run(
    n: int, ticks: int, directory: pathlib.Path, *, cores: int, replicas: int
) -> list[Window]:
    api, url = start_apiserver(directory)
    print(f"  GET /version: {await latency(url) * 1000:.2f} ms")
    operators: list[subprocess.Popen[bytes]] = []
    try:
        with Prometheus(directory / "prometheus") as prometheus:
            async with Cluster(url) as cluster:
                began = time.monotonic()
                await cluster.populate(n, prometheus.url)
                print(f"  N={n}: {2 * n} objects created in {time.monotonic() - began:.0f}s")
                ports = []
                for index in range(replicas):
                    operator, log = start_operator(
                        directory, url, prometheus.url,
                        index=index, replicas=replicas, cores=cores,
                    )  # fmt: skip
                    operators.append(operator)
                    ports.append(await metrics_port(log))
                pids = [operator.pid for operator in operators]
                began = time.monotonic()
                await cluster.wait_phases(n, {"Initialized"})
                print(f"  N={n}: all Canaries initialized in {time.monotonic() - began:.0f}s")
                await asyncio.sleep(INTERVAL)  # the initialization's last writes settle
                idle = await measure("idle", n, ticks, cluster, url, pids, api.pid, ports)
                await cluster.new_images(n)
                began = time.monotonic()
                await cluster.wait_phases(n, {"Progressing"}, advanced=True)
                print(
                    f"  N={n}: all Canaries progressing, weight > 0, in "
                    f"{time.monotonic() - began:.0f}s"
                )
                busy = await measure("progressing", n, ticks, cluster, url, pids, api.pid, ports)
                later = await measure("progressing+", n, ticks, cluster, url, pids, api.pid, ports)
                return [idle, busy, later]
    finally:
        for operator in operators:
            operator.terminate()
        for operator in operators:
            with contextlib.suppress(subprocess.TimeoutExpired):
                operator.wait(timeout=60)
            operator.kill()
        api.terminate()
        api.wait(timeout=30)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--canaries", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--ticks", type=int, default=4, help="intervals measured per window")
    parser.add_argument(
        "--cores", type=int, choices=(1, 2), default=2, help="1: the operators on core 0 only"
    )
    parser.add_argument("--replicas", type=int, default=1, help="operators (--shards auto if > 1)")
    args = parser.parse_args()
    if args.cores == 1:  # the API server and Prometheus, started from here, inherit core 1
        os.sched_setaffinity(0, {1})
        where = "operators on core 0 alone; the API server, Prometheus and this script on core 1"
    else:
        where = "nothing pinned: every process on both cores"
    print(
        f"{os.cpu_count()} cores on the machine: {where}; {args.replicas} replica(s); "
        f"interval {INTERVAL:g}s; {args.ticks} intervals per window"
    )
    windows: list[Window] = []
    for n in args.canaries:
        with tempfile.TemporaryDirectory(prefix="serinus-scale-") as directory:
            windows += await run(
                n, args.ticks, pathlib.Path(directory), cores=args.cores, replicas=args.replicas
            )
    print()
    print(HEADER)
    for window in windows:
        print(window.row())
    print(
        "\nlate50/99 = seconds a tick started after its due time; >1s = ticks more than 1 s "
        "late; tick ms = mean tick duration (operator's histogram);\ncpu ms/t = operator CPU "
        "per tick; op/api cpu = share "
        "of one core of the operator and the API server;\nbench = this script's share (its "
        "kubelet); machine = busy CPU of all cores (Prometheus and the kernel too);\n"
        "req/t/c = API requests per tick per Canary;\ngc ms/s = milliseconds a second "
        "the operators stood still collecting garbage; gc max = the longest such pause (upper "
        "bound of its bucket);\nev drop = Events the operators dropped (their queue of Events "
        "to write was full)."
    )
    print()
    print(TIMING_HEADER)
    for window in windows:
        print(window.timing_row())
    print(
        "\nWhere the ticks' time went, from the operators' own histograms (all replicas, mean "
        "and p99 in ms; p99 interpolated in buckets of 1, 2.5, 5, 10, 25 ms..., <1: in the first; "
        "-: none in the window):\nreq/s = "
        "Kubernetes API requests a second (each try); req ms/req99 = their duration, after the "
        "rate limiter (serinus_kube_request_duration_seconds, all verbs);\nrl ms/rl99 = each "
        "try's wait for the client-side rate limiter (serinus_kube_rate_limiter_wait_seconds);"
        "\nquery/qry99 = each metric provider request, here Prometheus "
        "(serinus_metric_query_duration_seconds);\nlag ms/lag99 = how late the operators' event "
        "loop ran a timer due every 100 ms (serinus_event_loop_lag_seconds)."
    )
    print()
    for window in windows:
        top = sorted(window.kinds.items(), key=lambda kv: -kv[1])
        text = ", ".join(f"{k} {v / max(window.ticks, 1):.1f}" for k, v in top[:8])
        print(f"N={window.canaries} {window.name} requests per tick: {text}")
        if window.api_cpu / window.seconds > SATURATED:
            print(
                f"  the API server used {window.api_cpu / window.seconds:.0%} of a core: it was "
                "the bottleneck, and ticks waited for it"
            )


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends the run through its ``finally`` blocks: no operator is left behind (one
    would reach the next run's API server when it gets the same port)."""
    raise SystemExit(f"stopped by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop)
    asyncio.run(main())
