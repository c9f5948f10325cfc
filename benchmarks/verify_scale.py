#!/usr/bin/env python3
"""What `verify --rows N --probe` measures on this machine: for 10^4, 10^5 and 10^6 rows, the time to fill
the table, and how long writes were blocked by a CREATE INDEX against its CONCURRENTLY form.

    python benchmarks/verify_scale.py [--rows 10000,100000,1000000]

Each figure comes from one real `verify` run on a throwaway cluster (server binaries as `verify` finds them).
Prints a Markdown table (paste it into benchmarks/README.md)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HISTORY = ("CREATE TABLE orders (order_id bigint PRIMARY KEY, customer text NOT NULL, total numeric(12,2) NOT NULL,"
           " created_at timestamptz NOT NULL DEFAULT now());\n")
CONFIG = '[locks]\nrunner-sets-lock-timeout = true\n[verify]\nblocked-threshold = "1ms"\n'


def measure(rows: int, statement: str) -> tuple[float, float, float, float]:
    """(fill seconds, statement ms, writes blocked ms, reads blocked ms) of one verify run."""
    with tempfile.TemporaryDirectory(prefix="schemalint-verify-bench-") as tmp:
        root = Path(tmp)
        (root / "schemalint.toml").write_text(CONFIG)
        migrations = root / "migrations"
        migrations.mkdir()
        (migrations / "20240101_000000_orders.sql").write_text(HISTORY)
        (migrations / "20240201_000000_index.sql").write_text(f"SET lock_timeout = '5s';\n{statement}\n")
        proc = subprocess.run([sys.executable, "-m", "schemalint", "verify", "--format", "json", "--rows", str(rows),
                               "--probe", "--statement-timeout", "10m", "migrations"], cwd=root,
                              capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"verify failed: {proc.stderr.strip()}")
        payload = json.loads(proc.stdout)
    notes = " ".join(payload["summary"].get("notes", []))
    filled = re.search(r"public\.orders [\d,]+ \(([\d.]+) s\)", notes)
    entry = next(t for t in payload["trace"] if t["line"] == 2)
    blocked = entry.get("blocked", {"write_ms": 0.0, "read_ms": 0.0})
    return (float(filled.group(1)) if filled else 0.0, float(entry.get("ms", 0.0)), float(blocked["write_ms"]),
            float(blocked["read_ms"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000,1000000")
    args = parser.parse_args()
    print("| rows | fill | CREATE INDEX | writes blocked | reads blocked | CONCURRENTLY | writes blocked | reads blocked |")
    print("|---|---|---|---|---|---|---|---|")
    for rows in (int(r) for r in args.rows.split(",")):
        fill, plain_ms, plain_w, plain_r = measure(rows, "CREATE INDEX idx_orders_total ON orders (total);")
        _, conc_ms, conc_w, conc_r = measure(rows, "CREATE INDEX CONCURRENTLY idx_orders_total ON orders (total);")
        print(f"| {rows:,} | {fill:.2f} s | {plain_ms:.0f} ms | {plain_w:.0f} ms | {plain_r:.0f} ms | {conc_ms:.0f} ms | "
              f"{conc_w:.0f} ms | {conc_r:.0f} ms |")


if __name__ == "__main__":
    main()
