#!/usr/bin/env python3
"""schemalint speed and memory, side by side with squawk, on the same files in the same run.

    python benchmarks/run.py [CORPUS] [--runs N]

Every figure is the median of N runs (default 5) after one warm-up run: wall time, CPU time (user +
system of the child process) and peak RSS. Prints a Markdown table (paste it into benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CORPUS = HERE.parent.parent / "shared" / "corpus"


def measure(cmd: list[str], cwd: Path | None = None, before: object = None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MB) of one child process."""
    if callable(before):
        before()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def median_of(runs: int, cmd: list[str], cwd: Path | None = None, before: object = None) -> tuple[float, float, float]:
    measure(cmd, cwd, before)  # warm-up (file system cache, interpreter byte-code)
    samples = [measure(cmd, cwd, before) for _ in range(runs)]
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))  # type: ignore[return-value]


def parse_floor(files: list[Path], runs: int) -> float:
    code = (
        "import sys, time\nfrom pglast import parser\n"
        "texts = [open(p, encoding='utf-8', errors='replace').read() for p in sys.argv[1:]]\n"
        "t = time.perf_counter()\n"
        "for s in texts:\n"
        "    try:\n        parser.parse_sql_json(s)\n    except parser.ParseError:\n        pass\n"
        "print(time.perf_counter() - t)\n"
    )
    samples = []
    for _ in range(runs + 1):
        out = subprocess.run([sys.executable, "-c", code, *map(str, files)], capture_output=True, text=True, check=True)
        samples.append(float(out.stdout))
    return statistics.median(samples[1:])


def synthetic(corpus: Path, directory: Path, megabytes: int) -> Path:
    """A single file of real migration SQL (the parsable corpus files, repeated) of about N MB."""
    from pglast import parser

    pieces = []
    for path in sorted(corpus.rglob("*.sql")):
        if "down" in path.name:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            parser.parse_sql_json(text)
        except parser.ParseError:
            continue
        pieces.append(text.rstrip() + "\n;\n")
    blob = "".join(pieces)
    target = megabytes * 1024 * 1024
    data = (blob * (target // len(blob) + 1))[:target]
    data = data[: data.rfind("\n;\n") + 3]
    out = directory / f"synthetic_{megabytes}mb.sql"
    out.write_text(data, encoding="utf-8")
    return out


def typical_file(files: list[Path]) -> Path:
    sized = [p for p in files if 2000 <= p.stat().st_size <= 3000 and "down" not in p.name]
    return sorted(sized)[len(sized) // 2]


def row(name: str, wall: float, cpu: float, rss: float, peer: float | None = None) -> str:
    ratio = f"{wall / peer:.2f}×" if peer else "–"
    return f"| {name} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms | {rss:.0f} MB | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    corpus: Path = args.corpus.resolve()
    if not corpus.is_dir():
        raise SystemExit(f"{corpus}: corpus folder not found")
    runs = args.runs
    schemalint = [sys.executable, "-m", "schemalint"]
    squawk = shutil.which("squawk")
    files = sorted(corpus.rglob("*.sql"))
    total_bytes = sum(p.stat().st_size for p in files)

    # users' wheel installs have byte-code; this machine (PYTHONDONTWRITEBYTECODE, editable install) has none
    # unless it is compiled first
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "src")], check=True)
    with tempfile.TemporaryDirectory(prefix="schemalint-bench-") as tmp_name:
        tmp = Path(tmp_name)
        cache = tmp / "cache"
        os.environ["XDG_CACHE_HOME"] = str(tmp / "user-cache")  # the run memo and signing key, for this run only
        memos = tmp / "user-cache" / "schemalint" / "runs"
        check = [*schemalint, "check", "--format", "json", "--select", "ALL", "--cache-dir", str(cache)]

        def empty_caches() -> None:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.rmtree(memos, ignore_errors=True)

        cold = median_of(runs, [*check, str(corpus)], before=empty_caches)
        warm = median_of(runs, [*check, str(corpus)])  # the run memo answers
        warm_cache = median_of(runs, [*check, str(corpus)], before=lambda: shutil.rmtree(memos, ignore_errors=True))

        copy = tmp / "corpus"
        shutil.copytree(corpus, copy)
        changed = sorted(copy.rglob("*.sql"))[len(files) // 2]
        original = changed.read_text(encoding="utf-8", errors="replace")
        median_of(1, [*check, str(copy)])  # fill the cache for the copy
        flip = {"n": 0}

        def touch() -> None:
            flip["n"] += 1
            changed.write_text(original + f"\n-- benchmark edit {flip['n']}\n", encoding="utf-8")

        one_changed = median_of(runs, [*check, str(copy)], before=touch)

        def edit_sql() -> None:
            flip["n"] += 1
            changed.write_text(original + f"\nCREATE INDEX CONCURRENTLY idx_bench_{flip['n']} ON t (c);\n",
                               encoding="utf-8")

        one_sql_changed = median_of(runs, [*check, str(copy)], before=edit_sql)
        # the pre-commit shape: one new migration named, its folder's whole history before it (lemmy, 684 files)
        lemmy = next(p for p in copy.rglob("migrations") if p.is_dir() and "lemmy" in str(p).lower())
        new_file = lemmy / "9999-12-31-000000_benchmark" / "up.sql"
        new_file.parent.mkdir()

        def new_migration() -> None:
            flip["n"] += 1
            new_file.write_text(f"ALTER TABLE person ALTER COLUMN name TYPE varchar({100 + flip['n']});\n",
                                encoding="utf-8")

        new_migration()
        median_of(1, [*schemalint, "check", "--format", "json", "--cache-dir", str(cache), str(new_file)])
        precommit = median_of(runs, [*schemalint, "check", "--format", "json", "--cache-dir", str(cache),
                                     str(new_file)], before=new_migration)
        single_path = typical_file(files)
        single = median_of(runs, [*schemalint, "check", "--format", "json", "--no-cache", "--no-history",
                                  str(single_path)])

        # the same three cases through the warm daemon (schemalint daemon start; fork after import)
        subprocess.run([*schemalint, "daemon", "start"], check=True, stdout=subprocess.DEVNULL)
        try:
            daemon_single = median_of(runs, [*schemalint, "check", "--daemon", "--format", "json", "--no-cache",
                                             "--no-history", str(single_path)])
            daemon_precommit = median_of(runs, [*schemalint, "check", "--daemon", "--format", "json", "--cache-dir",
                                                str(cache), str(new_file)], before=new_migration)
            daemon_changed = median_of(runs, [*check, "--daemon", str(copy)], before=touch)
        finally:
            subprocess.run([*schemalint, "daemon", "stop"], check=False, stdout=subprocess.DEVNULL)

        floor_parse = parse_floor(files, runs)
        startup = median_of(runs, [sys.executable, "-c", "pass"])

        peer_corpus = peer_single = None
        if squawk:
            peer_corpus = median_of(runs, [squawk, "--reporter", "json", *map(str, files)])
            peer_single = median_of(runs, [squawk, "--reporter", "json", str(single_path)])

        scaling = []
        for mb in (1, 4, 16):
            path = synthetic(corpus, tmp, mb)
            result = median_of(max(3, runs // 2), [*schemalint, "check", "--format", "json", "--no-cache",
                                                   "--no-history", str(path)])
            scaling.append((mb, path.stat().st_size, result))

    print(f"schemalint benchmark — {time.strftime('%Y-%m-%d')} — {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {len(files)} files / {total_bytes / 1e6:.1f} MB in {corpus.name}, "
          f"median of {runs} runs after a warm-up\n")
    print("| case | wall | CPU | peak RSS | schemalint / squawk |")
    print("|---|---|---|---|---|")
    pc = peer_corpus[0] if peer_corpus else None
    print(row("cold (empty cache), whole corpus", *cold, pc))
    print(row("warm (nothing changed: the run memo answers)", *warm, pc))
    print(row("warm, results cache only (no run memo)", *warm_cache, pc))
    print(row("warm, one file changed (a comment)", *one_changed, pc))
    print(row("warm, one file changed (its SQL)", *one_sql_changed, pc))
    print(row("pre-commit: one new file, lemmy's 684 as history (warm)", *precommit, pc))
    ps = peer_single[0] if peer_single else None
    print(row(f"single file ({single_path.stat().st_size} B)", *single, ps))
    print(row("daemon: warm, one file changed (a comment)", *daemon_changed, pc))
    print(row("daemon: pre-commit, one new file with history", *daemon_precommit, pc))
    print(row("daemon: single file", *daemon_single, ps))
    if peer_corpus and peer_single:
        print(row("squawk, whole corpus", *peer_corpus))
        print(row("squawk, single file", *peer_single))
    else:
        print("| squawk | not installed (pip install '.[bench]') | | | |")
    print(row("python -c pass (start-up floor)", *startup))
    print(f"| pglast parse_sql_json alone, whole corpus (in process) | {floor_parse * 1000:.0f} ms | | | |")
    print()
    print("| synthetic file | size | wall | peak RSS | RSS / size |")
    print("|---|---|---|---|---|")
    for mb, size, (wall, _cpu, rss) in scaling:
        print(f"| {mb} MB | {size / 1e6:.1f} MB | {wall:.2f} s | {rss:.0f} MB | {rss * 1024 * 1024 / size:.1f}× |")
    t4 = scaling[1][2][0]
    t16 = scaling[2][2][0]
    print(f"\n16 MB / 4 MB time ratio: {t16 / t4:.2f} (linear is 4.0; target ≤ 4.4)")
    overhead = cold[0] - floor_parse - startup[0]
    print(f"schemalint overhead above parse floor + start-up (cold): {overhead * 1000:.0f} ms "
          f"(floor + start-up: {(floor_parse + startup[0]) * 1000:.0f} ms)")
    summary = {"cold": cold, "warm": warm, "warm_cache": warm_cache, "one_changed": one_changed,
               "one_sql_changed": one_sql_changed, "precommit": precommit, "daemon_single": daemon_single,
               "daemon_precommit": daemon_precommit, "daemon_changed": daemon_changed, "single": single,
               "squawk_corpus": peer_corpus, "squawk_single": peer_single}
    (HERE / "last-run.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
