#!/usr/bin/env python3
"""Turn criterion's results into the README's benchmark table of ratios.

Each group's figures are divided by the group's reference peer measured in the same
run (raw opentelemetry_sdk where it has the operation), so the table compares ratios,
not absolute times. A figure with a target is judged on its paired ratio
(`benches/paired.rs`: alternating rounds of ours and the peer, median and middle half of
the rounds, from target/paired.json) when there is one, since two criterion medians
measured seconds apart drift on a shared machine. Writes the table between the bench
markers in README.md and prints it.
"""
import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"
PAIRED = ROOT / "target" / "paired.json"
# group -> (reference bench, {bench: (target ratio, what it is compared with)})
GROUPS = {
    "counter_add_0_attrs": ("sdk_bound", {"ours_bound": (1.1, "sdk_bound"), "ours_by_name": (1.3, "sdk_add")}),
    "counter_add_3_attrs": ("sdk_bound", {"ours_bound": (1.1, "sdk_bound"), "ours_by_name": (1.5, "sdk_add")}),
    "histogram_record": ("sdk_bound", {
        "ours_bound": (1.1, "sdk_bound"),
        "ours_bound_no_quantiles": (1.1, "sdk_bound"),
        "ours_by_name": (1.3, "sdk_record"),
        "ours_by_name_no_quantiles": (1.3, "sdk_record"),
    }),
    "gauge_set": ("sdk_bound", {"ours_bound": (1.1, "sdk_bound"), "ours_by_name": (1.3, "sdk_record")}),
    "scrape_10k_series": ("prometheus_crate", {"ours": (1.0, "prometheus_crate")}),
    # Sampled: `ours_span_builder` is a flood (paired only: the store keeps a share),
    # `ours_span_builder_every_trace_kept` the store keeping every trace.
    "span_3_attrs_sampled": ("sdk_noop_processor", {
        "ours_span_builder": (1.2, "sdk_noop_processor"),
        "ours_span_builder_every_trace_kept": (1.2, "sdk_noop_processor"),
    }),
    "span_3_attrs_not_sampled": ("sdk_noop_processor", {"ours_span_builder": (1.0, "sdk_noop_processor")}),
    "collector_cycle": ("sysinfo_refresh_all", {}),
    "stream_tick_500_series": ("serde_json_same_data", {}),
    "snapshot_500_series": ("serde_json_same_data", {}),
    "spool_write_64k_batch": ("file_append_sync", {}),
    "spool_replay_64k_batch": ("file_read", {}),
}


def estimate(group: str, bench: str) -> float | None:
    path = CRITERION / group / bench / "new" / "estimates.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())["median"]["point_estimate"]


def fmt_time(ns: float) -> str:
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"


def main() -> int:
    lines = [
        "| group | bench | median | × reference | target |",
        "|---|---|---|---|---|",
    ]
    found = False
    paired = json.loads(PAIRED.read_text()) if PAIRED.exists() else {}
    for group, (reference, targets) in GROUPS.items():
        ref = estimate(group, reference)
        if ref is None:
            continue
        found = True
        benches = sorted(p.name for p in (CRITERION / group).iterdir() if (p / "new").exists())
        for bench in benches:
            t = estimate(group, bench)
            if t is None:
                continue
            target = ""
            if bench in targets:
                limit, peer = targets[bench]
                pair = paired.get(f"{group}/{bench}")
                peer_t = estimate(group, peer)
                if pair and pair["peer"] == peer:
                    ratio = pair["median"]
                    verdict = "met" if ratio <= limit else "missed"
                    target = (
                        f"≤ {limit}× {peer}: {ratio:.2f}× paired, middle half "
                        f"{pair['p25']:.2f}–{pair['p75']:.2f}× ({verdict})"
                    )
                elif peer_t:
                    ratio = t / peer_t
                    verdict = "met" if ratio <= limit else "missed"
                    target = f"≤ {limit}× {peer}: {ratio:.2f}× ({verdict})"
            mark = " (reference)" if bench == reference else ""
            lines.append(f"| {group} | {bench}{mark} | {fmt_time(t)} | {t / ref:.2f} | {target} |")
        # Targets measured by the paired bench alone.
        for bench, (limit, peer) in targets.items():
            pair = paired.get(f"{group}/{bench}")
            if bench in benches or not pair or pair["peer"] != peer:
                continue
            verdict = "met" if pair["median"] <= limit else "missed"
            lines.append(
                f"| {group} | {bench} (paired only) | | | ≤ {limit}× {peer}: {pair['median']:.2f}× "
                f"paired, middle half {pair['p25']:.2f}–{pair['p75']:.2f}× ({verdict}) |"
            )
    if not found:
        print("no criterion results under target/criterion: run `make bench`", file=sys.stderr)
        return 1
    table = "\n".join(lines)
    print(table)
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = re.sub(
        r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)",
        lambda m: m.group(1) + table + "\n" + m.group(2),
        text,
        flags=re.S,
    )
    if new != text:
        readme.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
