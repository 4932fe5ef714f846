#!/usr/bin/env python3
"""Counts the engine's public items per module from rustdoc's JSON output.

    cargo +nightly rustdoc -p telemetry-engine --lib -- -Z unstable-options --output-format json
    python3 scripts/public-items.py target/doc/telemetry_engine.json

An item counts when a path outside the crate can name it: structs, enums, traits,
functions, constants, statics, type aliases and macros (not fields, variants or methods).
"""
import json
import sys
from collections import defaultdict

KINDS = {"struct", "enum", "trait", "function", "constant", "static", "type_alias", "macro", "union"}


def main(path):
    doc = json.load(open(path))
    per_module = defaultdict(list)
    for item_id, summary in doc["paths"].items():
        if summary["crate_id"] != 0 or summary["kind"] not in KINDS:
            continue
        if item_id not in doc["index"]:
            continue  # re-exported from another crate
        names = summary["path"]
        module = names[1] if len(names) > 2 else "(root)"
        per_module[module].append("::".join(names[1:]))
    total = 0
    for module in sorted(per_module):
        items = sorted(per_module[module])
        total += len(items)
        print(f"{module:12} {len(items):4}  " + ", ".join(i.split("::")[-1] for i in items))
    print(f"{'total':12} {total:4}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/doc/telemetry_engine.json")
