"""Big and hostile inputs: builds each input, runs `schemalint check` on it in every output format, and
prints wall time and peak RSS side by side (targets: ≤ 10 s and ≤ 500 MB each, time linear in size).

    python benchmarks/hostile.py [--sizes 1,10] [--formats text,concise,json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

MB = 1024 * 1024


def do_block(size: int) -> str:
    stmt = "  UPDATE accounts SET score = score + 1 WHERE id = 42;\n"
    return "DO $$\nBEGIN\n" + stmt * (size // len(stmt)) + "END $$;\n"


def one_line_insert(size: int) -> str:
    row = "(1, 'abcdefgh', 2.5),"
    return "INSERT INTO accounts (id, name, score) VALUES " + row * (size // len(row)) + "(0, 'z', 0);\n"


def one_expression(size: int) -> str:
    return "SELECT 1" + "+1" * (size // 2) + ";\n"


def many_calls(size: int) -> str:
    body = "".join(f"  UPDATE accounts SET score = {i} WHERE id = {i};\n" for i in range(2000))
    calls = "".join("SELECT bump();\n" for _ in range(200))
    return f"CREATE FUNCTION bump() RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n{body}END $$;\n{calls}"


def many_findings_one_line(size: int) -> str:
    stmt = "CREATE INDEX ON accounts (a);"  # SL102, SL405: two findings each
    return stmt * (size // len(stmt)) + "\n"


CASES: dict[str, tuple[Callable[[int], str], bool]] = {
    "DO block": (do_block, True),
    "one-line INSERT … VALUES": (one_line_insert, True),
    "single expression": (one_expression, True),
    "2,000 statements × 200 calls": (many_calls, False),
    "findings on one line": (many_findings_one_line, True),
}


def run(path: Path, fmt: str, out: Path) -> tuple[float, float, int, int]:
    """(wall seconds, peak RSS in MB, exit code, output bytes) of one check."""
    started = time.perf_counter()
    with open(out, "wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "schemalint", "check", "--no-cache", "--format", fmt,
                                 "--select", "ALL", str(path)], stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), out.stat().st_size


def calibration() -> float:
    """Seconds for a plain 10**7-step Python loop: timings on a shared machine vary from run to run, this
    says how fast it was at the end of this one."""
    started = time.perf_counter()
    total = 0
    for i in range(10**7):
        total += i
    return time.perf_counter() - started


def retained_bytes_per_finding(size: int) -> tuple[int, float]:
    """(findings, bytes each) that the run's findings hold once the run is done, measured with tracemalloc in
    this process: the findings of `many_findings_one_line(size)` against those of a tiny file."""
    import gc
    import tracemalloc

    from schemalint.config import settings_from_table
    from schemalint.engine import Engine, prepare
    from schemalint.run import enabled_codes
    from schemalint.sources.files import SourceFile

    settings = settings_from_table({"select": ["ALL"]}, "<benchmark>")

    def held(sql: str) -> tuple[int, int]:
        gc.collect()
        tracemalloc.start()
        engine = Engine(settings, enabled_codes(settings))
        source = SourceFile("m.sql", Path("/nonexistent/m.sql"), data=sql.encode())
        result = engine.run([prepare(source)])
        del engine, source
        gc.collect()
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return len(result.findings), current

    few, base = held(many_findings_one_line(200))
    many, total = held(many_findings_one_line(size))
    return many, (total - base) / (many - few)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10", help="megabytes, comma-separated")
    parser.add_argument("--formats", default="text,concise,json,github,sarif")
    parser.add_argument("--only", default="", help="run the inputs whose name contains this text")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    formats = args.formats.split(",")
    print("| input | size | format | wall | peak RSS | exit | output |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (build, scales) in CASES.items():
            if args.only not in name:
                continue
            for size in sizes if scales else [0]:
                path = Path(tmp) / "input.sql"
                path.write_text(build(size * MB), encoding="utf-8")
                actual = path.stat().st_size / MB
                for fmt in formats:
                    wall, rss, code, output = run(path, fmt, Path(tmp) / "out")
                    print(f"| {name} | {actual:.1f} MB | {fmt} | {wall:.2f} s | {rss:.0f} MB | {code} | "
                          f"{output / 1024:.0f} kB |", flush=True)
    print(f"\nthis machine's speed: a 10**7-step Python loop takes {calibration():.2f} s")
    count, each = retained_bytes_per_finding(MB)
    print(f"\nretained findings: {count} findings of a 1 MB file hold {each:.0f} bytes each (target ≤ 300)")


if __name__ == "__main__":
    main()
