#!/usr/bin/env python3
"""Load: wrk against the running studio with N extra series (default 10,000).

Starts `target/release/studio --headless --series N` on a free port, then:
  1. an idle phase: nothing but the studio's own work;
  2. one wrk phase per endpoint: /metrics (plain and gzip), /health, and the dashboard's
     data endpoints (POST /api/get_snapshot, /api/query_series, /api/get_metric_catalogue).
For each wrk phase it prints throughput and p99 latency, and the recording thread's
throughput and slowest single record in that phase, as a ratio to the idle phase of the
same run (the studio's `load.rs` reports them once a second as metrics; they are read
back afterwards from the in-app store, so the reading does not load the server).

usage: scripts/load.py [--series N] [--seconds S] [--connections C] [--binary PATH]
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(base, command, body):
    request = urllib.request.Request(
        f"{base}/api/{command}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def start_studio(binary, series):
    port = free_port()
    env = dict(os.environ, PROMETHEUS_PORT=str(port))
    studio = subprocess.Popen(
        [binary, "--headless", "--series", str(series), "--incident-every", "86400"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    for line in studio.stdout:
        if line.startswith("dashboard: "):
            return studio, line.split(" ", 1)[1].strip().rstrip("/")
    raise SystemExit(f"studio exited ({studio.wait()}) before serving the dashboard")


def stop(process):
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


def wait_for_series(base, series, timeout=120):
    """Until the store holds every load series and the recorder has reported."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        catalogue = post(base, "get_metric_catalogue", {})
        stored = sum(
            len(m["labelSets"]) for m in catalogue if m["name"].startswith("studio_load_")
            and m["name"][len("studio_load_"):].isdigit()
        )
        reported = any(m["name"] == "studio_load_records_per_second" for m in catalogue)
        if stored >= series and reported:
            return stored
        time.sleep(1)
    raise SystemExit(f"the studio never stored {series} load series")


def recorded(base, name, start_ms, end_ms):
    """The points of a load gauge between two instants."""
    result = post(base, "query_series", {"query": {"name": name, "fromMs": start_ms, "toMs": end_ms}})
    return [v for series in result for t, v in series["points"] if start_ms <= t <= end_ms]


def phase_figures(base, start_ms, end_ms):
    rates = recorded(base, "studio_load_records_per_second", start_ms, end_ms)
    slowest = recorded(base, "studio_load_slowest_record_us", start_ms, end_ms)
    if not rates:
        raise SystemExit("no recording figures in a phase: is the load thread running?")
    return sum(rates) / len(rates), max(slowest)


def wrk(url, seconds, connections, lua=None, headers=()):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if lua:
        command += ["-s", lua]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return rps, float(p99.group(1)) * scale, (errors.group(1) if errors else "0"), socket_errors


def post_script(directory, body):
    path = os.path.join(directory, f"post{abs(hash(body))}.lua")
    with open(path, "w") as f:
        f.write(
            'wrk.method = "POST"\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(body)}\n"
        )
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--binary", default="target/release/studio")
    args = parser.parse_args()

    studio, base = start_studio(args.binary, args.series)
    try:
        stored = wait_for_series(base, args.series)
        metrics_bytes = len(urllib.request.urlopen(f"{base}/metrics", timeout=30).read())
        print(f"studio at {base}: {stored} load series stored, /metrics is {metrics_bytes / 1e6:.1f} MB")
        now_ms = lambda: int(time.time() * 1000)
        started = now_ms()
        time.sleep(args.seconds)  # the idle phase: a duration, not a synchronisation
        idle_rate, idle_slowest = phase_figures(base, started, now_ms())
        print(f"idle: recording {idle_rate / 1e6:.2f} M records/s, slowest record {idle_slowest:.0f} us\n")

        with tempfile.TemporaryDirectory() as scripts:
            phases = [
                ("GET /metrics", f"{base}/metrics", None, ()),
                ("GET /metrics (gzip)", f"{base}/metrics", None, ("Accept-Encoding: gzip",)),
                ("GET /health", f"{base}/health", None, ()),
                ("POST /api/get_snapshot", f"{base}/api/get_snapshot", post_script(scripts, "{}"), ()),
                (
                    "POST /api/query_series",
                    f"{base}/api/query_series",
                    post_script(scripts, json.dumps({"query": {"name": "queue_size"}})),
                    (),
                ),
                (
                    "POST /api/get_metric_catalogue",
                    f"{base}/api/get_metric_catalogue",
                    post_script(scripts, "{}"),
                    (),
                ),
            ]
            print("| endpoint | requests/s | p99 ms | non-2xx | recording vs idle | slowest record vs idle |")
            print("|---|---:|---:|---:|---:|---:|")
            for name, url, lua, headers in phases:
                started = now_ms()
                rps, p99, errors, socket_errors = wrk(url, args.seconds, args.connections, lua, headers)
                rate, slowest = phase_figures(base, started, now_ms())
                print(
                    f"| {name} | {rps:,.0f} | {p99:.1f} | {errors} | "
                    f"{rate / idle_rate:.2f}x | {slowest / max(idle_slowest, 1):.1f}x ({slowest:.0f} us) |"
                )
                if socket_errors:
                    print(f"  socket errors: {socket_errors.group(1)}")
        print(
            f"\n{args.series} series, wrk -t2 -c{args.connections} -d{args.seconds}s per endpoint, "
            f"{os.cpu_count()} cores shared by wrk, the server and the recording thread"
        )
    finally:
        stop(studio)


if __name__ == "__main__":
    sys.exit(main())
