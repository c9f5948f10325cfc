"""Fuzzing: mutated copies of the real corpus, checked in every output format (and once with --fix on a copy).

A run passes when no check prints a traceback or an internal error, every exit code is 0, 1 or 2, the JSON and
SARIF reports parse, and nothing hangs. Inputs of a failing run are kept and their folder printed.

    python benchmarks/fuzz.py                      # 5,000 files, seed 1, all formats
    python benchmarks/fuzz.py --files 300 --seed 7 --jobs 4

Mutations (1-3 per file, seeded): byte flips, truncation, a region deleted, duplicated or upper-cased, statements
swapped, lines spliced from another corpus file, and hostile fragments inserted (unterminated quotes and dollar
quotes, comment openers, NUL and invalid UTF-8, deep parentheses, transaction control, template placeholders,
terminal escapes, workflow commands, suppression comments). File names are mutated too (spaces, non-ASCII, other
databases' suffixes, popx and goose shapes).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
FORMATS = ("text", "concise", "json", "github", "sarif", "markdown")
# how each format reports a rule that failed (a migration's own text may say "internal error")
INTERNAL_ERROR = {
    "text": re.compile(r"^.*: internal error in rule SL\d+: .*$", re.M),
    "concise": re.compile(r"^.*: internal error in SL\d+: .*$", re.M),
    "json": re.compile(r'^  "internal_errors": \[$', re.M),
    "github": re.compile(r"^::error .*title=schemalint internal error::.*$", re.M),
    "sarif": re.compile(r'"toolExecutionNotifications"'),
    "markdown": re.compile(r"^- internal error in .*$", re.M),
}
TIMEOUT = 300  # seconds for one check of one batch

FRAGMENTS = [
    b"'", b'"', b"$$", b"$body$", b"/*", b"*/", b"--", b"\\", b"E'\\", b"U&'\\", b";", b";;", b"\n\n",
    b"\x00", b"\xff\xfe", b"\xc3", b"\xe9", b"\r", b"\x1b[31m", b"\xe2\x80\xa8", b"\t" * 50,
    b"(" * 300, b")" * 300, b"ARRAY[" * 200, b"BEGIN;", b"COMMIT;", b"ROLLBACK;", b"START TRANSACTION;",
    b"DO $$ BEGIN ", b" END $$;", b"{{ .Table }}", b"{{ end }}", b"${flyway:user}", b":'var'", b"\\set x 1\n",
    b"::add-mask::secret\n", b"::error file=x::boom\n", b"-- schemalint: ignore\n", b"-- schemalint: ignore SL102\n",
    b"-- +goose NO TRANSACTION\n", b"-- +goose StatementBegin\n", b"-- +goose StatementEnd\n", b"-- migrate:up\n",
    b"-- migrate:down\n", b"CONCURRENTLY ", b"NOT VALID ", b"NOT NULL ", b"DEFAULT now() ", b"USING ",
    b"ALTER TABLE ", b"ADD COLUMN ", b"DROP COLUMN ", b"CREATE INDEX ", b"CREATE TABLE ", b"RENAME TO ",
    b"PARTITION OF ", b"LANGUAGE plpgsql ", b"EXECUTE format('%I', x);", b"SET lock_timeout = '1s';",
    b"CREATE TABLE t (id int);", b"ALTER TABLE t ADD COLUMN c int NOT NULL;", b"DROP TABLE IF EXISTS t;",
    b"\xf0\x9f\x98\x80", b"\xef\xbb\xbf", b"a" * 5000,
]

NAME_SHAPES = [
    "{n}_{stem}.sql", "{n}_{stem}.up.sql", "{n}_{stem}.down.sql", "{n}_{stem}.postgres.up.sql",
    "{n}_{stem}.mysql.up.sql", "{n}_{stem}.sqlite3.down.sql", "{n}_{stem}.autocommit.up.sql", "V{n}__{stem}.sql",
    "{n} {stem} with spaces.sql", "{n}_caf\u00e9_{stem}.sql", "{n}_{stem}.SQL", "{n}_{stem}_down.sql",
]


@dataclass
class Tally:
    runs: int = 0
    exit_codes: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def fail(self, what: str) -> None:
        self.failures.append(what)


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        raise SystemExit(f"fuzz: no corpus at {CORPUS}")
    return sorted(p for p in CORPUS.rglob("*.sql") if p.is_file())


STATEMENTS = [
    b"CREATE TABLE t (id int);\n", b"ALTER TABLE t ADD COLUMN c int NOT NULL;\n", b"DROP TABLE IF EXISTS t;\n",
    b"CREATE INDEX ON t (id);\n", b"BEGIN;\n", b"COMMIT;\n", b"SET lock_timeout = '1s';\n", b"VACUUM;\n",
    b"ALTER TABLE t ADD CONSTRAINT t_fk FOREIGN KEY (id) REFERENCES t (id);\n", b"UPDATE t SET id = 1;\n",
    b"DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$;\n", b"ALTER TABLE t RENAME TO t2;\n", b"REINDEX TABLE t;\n",
    b"CREATE TABLE p (id int) PARTITION BY RANGE (id);\n", b"ALTER TABLE t ALTER COLUMN id TYPE bigint;\n",
]


def line_starts(data: bytes | bytearray) -> list[int]:
    return [0] + [i + 1 for i, byte in enumerate(data) if byte == 0x0A]


def mutate(data: bytes, donor: bytes, rng: random.Random) -> bytes:
    """1-3 mutations; four files in ten get only mutations that keep statements whole, so the rules and the model
    (not only the parser's error path) see them."""
    out = bytearray(data)
    gentle = rng.random() < 0.4
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice((3, 4, 5, 6, 9)) if gentle else rng.randrange(10)
        at = rng.choice(line_starts(out)) if gentle else rng.randint(0, len(out))
        if kind == 0 and out:  # byte flips
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind == 1:  # truncation
            del out[at:]
        elif kind == 2:  # a region deleted
            del out[at:at + rng.randint(1, 400)]
        elif kind == 3:  # a region duplicated (whole lines when gentle)
            end = at + rng.randint(1, 2000)
            if gentle:
                end = next((i for i in line_starts(out) if i >= end), len(out))
            out[at:at] = out[at:end]
        elif kind == 4:  # a region upper-cased (identifiers too: unquoted names fold to lower case anyway)
            end = at + rng.randint(1, 500)
            out[at:end] = out[at:end].upper()
        elif kind == 5:  # statements swapped
            parts = bytes(out).split(b";")
            if len(parts) > 2:
                i, j = rng.randrange(len(parts)), rng.randrange(len(parts))
                parts[i], parts[j] = parts[j], parts[i]
                out = bytearray(b";".join(parts))
        elif kind == 6:  # lines spliced from another file
            lines = donor.splitlines(keepends=True)
            start = rng.randrange(len(lines)) if lines else 0
            out[at:at] = b"".join(lines[start:start + rng.randint(1, 30)])
        elif kind == 9:  # whole statements inserted at a line's start
            out[at:at] = b"".join(rng.choice(STATEMENTS) for _ in range(rng.randint(1, 3)))
        else:  # hostile fragments
            for _ in range(rng.randint(1, 4)):
                at = rng.randint(0, len(out))
                out[at:at] = rng.choice(FRAGMENTS)
    return bytes(out)


def file_name(index: int, source: Path, rng: random.Random) -> str:
    stem = source.stem.split(".")[0][-40:] or "m"
    return rng.choice(NAME_SHAPES).format(n=f"{20200101000000 + index}", stem=stem)


def build(root: Path, count: int, batch: int, seed: int) -> list[Path]:
    rng = random.Random(seed)
    sources = corpus_files()
    folders: list[Path] = []
    for index in range(count):
        if index % batch == 0:
            folders.append(root / f"batch{len(folders):03d}")
            folders[-1].mkdir()
        source, donor = rng.choice(sources), rng.choice(sources)
        data = mutate(source.read_bytes(), donor.read_bytes(), rng)
        (folders[-1] / file_name(index, source, rng)).write_bytes(data)
    return folders


def check(folder: Path, fmt: str, fix: bool, tally: Tally) -> None:
    args = [sys.executable, "-m", "schemalint", "check", "--no-cache", "--select", "ALL", "--format", fmt]
    if fix:
        args += ["--fix", "--unsafe-fixes"]
    what = f"{folder.name} --format {fmt}{' --fix' if fix else ''}"
    try:
        proc = subprocess.run([*args, "."], cwd=folder, capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        tally.fail(f"{what}: no answer in {TIMEOUT} s")
        return
    tally.runs += 1
    tally.exit_codes[proc.returncode] = tally.exit_codes.get(proc.returncode, 0) + 1
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    if proc.returncode not in (0, 1, 2):
        tally.fail(f"{what}: exit code {proc.returncode}: {err.strip()[-300:]}")
    if "Traceback (most recent call last)" in out + err:
        tally.fail(f"{what}: traceback: {(err or out).strip()[-600:]}")
    said = INTERNAL_ERROR[fmt].search(out)
    if said is not None:
        tally.fail(f"{what}: {said.group(0)[:300]}")
    if fmt in ("json", "sarif") and proc.returncode in (0, 1):
        try:
            json.loads(out)
        except ValueError as exc:
            tally.fail(f"{what}: the report is not JSON: {exc}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=250, help="files per checked folder (checked as one history)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--keep", type=Path, help="write the mutated files here (kept) instead of a temporary folder")
    options = parser.parse_args()
    formats = [f for f in options.formats.split(",") if f]
    root = options.keep or Path(tempfile.mkdtemp(prefix="schemalint-fuzz-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    folders = build(root, options.files, options.batch, options.seed)
    fix_copies = []
    for folder in folders:
        copy = folder.with_name(folder.name + "-fix")
        shutil.copytree(folder, copy)
        fix_copies.append(copy)
    built = time.perf_counter() - started
    tally = Tally()
    jobs = [(folder, fmt, False) for folder in folders for fmt in formats] + [(c, "concise", True) for c in fix_copies]
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        for job in jobs:
            pool.submit(check, *job, tally)
    elapsed = time.perf_counter() - started
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(tally.exit_codes.items()))
    print(f"{options.files} mutated files (seed {options.seed}) in {len(folders)} folders, built in {built:.1f} s")
    print(f"{tally.runs} checks ({', '.join(formats)}; --fix on a copy) in {elapsed:.1f} s; exit codes {codes}")
    print(f"failures: {len(tally.failures)}")
    for failure in tally.failures[:30]:
        print("  " + failure)
    if tally.failures:
        print(f"inputs kept in {root}")
        return 1
    if options.keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
