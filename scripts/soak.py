#!/usr/bin/env python3
"""Soak: the studio under continuous load for minutes, its memory and descriptors sampled.

Runs `target/release/studio --headless --series N --series-every 0.1 --retention 60`
(the in-app store holds a minute of history, so it is full after the first minute and
what follows is the steady state) with incidents every 30 s (alerts fire and resolve,
health flips), its spans and logs going over OTLP/HTTP to a receiver this
script runs, a Prometheus-style scrape of /metrics every second, one series stream
(Server-Sent Events) read continuously and one /api/events stream. Every few seconds it
samples the studio's resident memory (VmRSS) and open file descriptors, then prints the
least-squares slope of each after the warm-up (default: the first two thirds of the run,
while the bounded stores fill: at the studio's rates the 500-trace store is full after
about 5 minutes and the 2,000-record log store after about 18) and whether that is flat.

usage: scripts/soak.py [--seconds S] [--series N] [--every S] [--binary PATH]
"""

import argparse
import http.client
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request


class Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver: takes /v1/traces and /v1/logs, answers an empty success."""

    received = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Receiver.received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss_kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return rss_kib, len(os.listdir(f"/proc/{pid}/fd"))


def slope_per_minute(points):
    """Least-squares slope of (seconds, value) points, per minute."""
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    var = sum((t - mx) ** 2 for t, _ in points)
    return 60 * sum((t - mx) * (v - my) for t, v in points) / var if var else 0.0


def keep_reading(url, stop, counter, headers=None):
    """Reads a streaming answer until `stop` is set; counts the bytes."""
    while not stop.is_set():
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as answer:
                while not stop.is_set():
                    chunk = answer.read1(65536) if hasattr(answer, "read1") else answer.read(4096)
                    if not chunk:
                        break
                    counter[0] += len(chunk)
        except (OSError, http.client.HTTPException):
            if not stop.wait(1):
                counter[1] += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=1800)
    parser.add_argument("--warmup", type=int, help="seconds left out of the slope (default 2/3 of the run)")
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--binary", default="target/release/studio")
    args = parser.parse_args()

    receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    otlp = f"http://127.0.0.1:{receiver.server_address[1]}"
    port = free_port()
    env = dict(
        os.environ,
        PROMETHEUS_PORT=str(port),
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
    )
    studio = subprocess.Popen(
        [
            args.binary, "--headless", "--series", str(args.series), "--series-every", "0.1",
            "--retention", "60", "--incident-every", "30",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    base = None
    for line in studio.stdout:
        if line.startswith("dashboard: "):
            base = line.split(" ", 1)[1].strip().rstrip("/")
            break
    if base is None:
        raise SystemExit(f"studio exited ({studio.wait()}) before serving the dashboard")
    # Keep draining its stdout so the pipe never blocks it.
    threading.Thread(target=lambda: [None for _ in studio.stdout], daemon=True).start()

    stop = threading.Event()
    stream, events, scraped = [0, 0], [0, 0], [0, 0]
    selectors = urllib.request.quote('[{"name":"system_cpu_usage_percent"},{"name":"queue_size"}]')
    readers = [
        threading.Thread(
            target=keep_reading,
            args=(f"{base}/api/subscribe_series?selectors={selectors}&intervalMs=250", stop, stream),
        ),
        threading.Thread(target=keep_reading, args=(f"{base}/api/events", stop, events)),
    ]

    def scrape():
        while not stop.wait(1):
            try:
                request = urllib.request.Request(f"{base}/metrics", headers={"Accept-Encoding": "gzip"})
                with urllib.request.urlopen(request, timeout=10) as answer:
                    scraped[0] += len(answer.read())
            except (OSError, http.client.HTTPException):
                scraped[1] += 1

    readers.append(threading.Thread(target=scrape))
    for reader in readers:
        reader.start()

    samples = []
    started = time.time()
    try:
        print(f"soak: {args.seconds} s, {args.series} load series, OTLP to {otlp}, sampling every {args.every} s")
        print("    t(s)   RSS(MiB)   fds")
        while time.time() - started < args.seconds:
            if studio.poll() is not None:
                raise SystemExit(f"the studio exited with {studio.returncode} during the soak")
            t = time.time() - started
            rss, fds = sample(studio.pid)
            samples.append((t, rss, fds))
            print(f"  {t:6.0f}   {rss / 1024:8.1f}   {fds:4d}", flush=True)
            time.sleep(args.every)  # the sampling period
    finally:
        stop.set()
        os.killpg(studio.pid, signal.SIGTERM)
        studio.wait(timeout=30)
        for reader in readers:
            reader.join(timeout=15)
        receiver.shutdown()

    warmup = args.warmup if args.warmup is not None else args.seconds * 2 / 3
    second_half = [s for s in samples if s[0] >= warmup]
    if len(second_half) < 3:
        raise SystemExit("too few samples for a slope: run longer or sample more often")
    rss_slope = slope_per_minute([(t, rss) for t, rss, _ in second_half])
    fd_slope = slope_per_minute([(t, fds) for t, _, fds in second_half])
    mean_rss = sum(rss for _, rss, _ in second_half) / len(second_half)
    per_hour = 100 * rss_slope * 60 / mean_rss
    print(f"\nRSS slope (after {warmup:.0f} s): {rss_slope:+.1f} KiB/min = {per_hour:+.2f}% of {mean_rss / 1024:.1f} MiB per hour")
    print(f"fd slope (after {warmup:.0f} s): {fd_slope:+.3f} per minute (min {min(f for *_, f in second_half)}, max {max(f for *_, f in second_half)})")
    print(
        f"served: {scraped[0] / 1e6:.1f} MB of scrapes ({scraped[1]} failed), "
        f"{stream[0] / 1e3:.0f} kB of series stream ({stream[1]} reconnects), "
        f"{events[0] / 1e3:.0f} kB of events, {Receiver.received} OTLP requests received"
    )
    flat = abs(per_hour) < 5 and abs(fd_slope) < 0.2
    print("verdict:", "flat" if flat else "NOT flat")
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
