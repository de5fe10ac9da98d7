"""What the HTTP benchmarks share: ports, waiting for a server, load from wrk, load from threads.

Each gives requests per second and p50/p99 latency in milliseconds, so that a server under wrk and
the same work in-process (the baseline) are measured alike.
"""

from __future__ import annotations

import re
import shutil
import socket
import statistics
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable

JSON_RESULTS = "application/sparql-results+json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def wrk(
    url: str, clients: int, duration: int, *, accept: str = JSON_RESULTS, warm: int = 0, timeout: int | None = None
) -> tuple[float, float, float]:
    """rps, p50 and p99 (ms) of `duration` seconds of wrk (keep-alive, a connection a client), after
    `warm` seconds of the same load unmeasured: the first requests to a server pay for what it does
    once (a worker opening the store, a cache filling), which put 45-75 ms into a cell's p99 here."""
    binary = shutil.which("wrk")
    if not binary:
        raise SystemExit("wrk is needed: apt-get install wrk")
    base = [binary, f"-t{min(clients, 2)}", f"-c{clients}", "-H", f"Accept: {accept}"]
    if timeout is not None:
        base += ["--timeout", f"{timeout}s"]
    if warm:
        subprocess.run([*base, f"-d{warm}s", url], capture_output=True, check=True)
    text = subprocess.run(
        [*base, f"-d{duration}s", "--latency", url], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in text:
        raise SystemExit(f"errors during the run against {url}:\n{text}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", text)
    assert found, text
    return float(found.group(1)), _ms(text, "50%"), _ms(text, "99%")


def _ms(text: str, percentile: str) -> float:
    found = re.search(rf"{percentile}\s+([\d.]+)(us|ms|s)", text)
    assert found, text
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def threaded(work: Callable[[], None], clients: int, duration: int) -> tuple[float, float, float]:
    """Calls of `work` per second and their p50/p99 (ms), `clients` threads calling it for `duration`
    seconds (pyoxigraph releases the GIL while it evaluates)."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def loop() -> None:
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            work()
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / duration, statistics.median(latencies), p99
