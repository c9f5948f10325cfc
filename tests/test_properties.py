"""Property tests: whatever the input, schemalint reports findings (or SL001/SL002) and never crashes."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemalint.sql.parse import blank_meta_commands
from tests.conftest import CORPUS, lint_files

SQLISH = st.lists(
    st.sampled_from([
        *"abcdefgh ();,'\"$-*/\n\t\\0123456789_.:=<>[]{}é日",
        "CREATE ", "TABLE ", "INDEX ", "ALTER ", "DROP ", "COLUMN ", "BEGIN;", "COMMIT;", "DO $$", "$$",
        "SELECT ", "NOT NULL ", "DEFAULT ", "CHECK (", "REFERENCES ", "CONCURRENTLY ", "-- schemalint: ignore ",
        "/*", "*/", "E'", "$tag$", "UPDATE ", "SET ", "WHERE ", "LOOP ", "END ", "LANGUAGE plpgsql ", "::",
    ]),
    max_size=120,
).map("".join)


def assert_clean(result_files: dict[str, str | bytes]) -> None:
    result = lint_files(result_files, {"select": ["ALL"]}, core_only=False)
    assert result.internal_errors == [], result.internal_errors
    for f in result.findings:
        assert f.span.line >= 1 and f.span.column >= 1
        assert (f.span.end_line, f.span.end_column) >= (f.span.line, f.span.column - 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    assert_clean({"20240101_000000_x.sql": text})


@settings(max_examples=400, deadline=None)
@given(SQLISH)
def test_sql_shaped_text(text: str) -> None:
    assert_clean({"20240101_000000_x.sql": text})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes(data: bytes) -> None:
    assert_clean({"20240101_000000_x.sql": data})


def _corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*.sql") if p.stat().st_size < 20_000)


CORPUS_FILES = _corpus_files()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0), st.integers(min_value=0), st.sampled_from(["delete", "duplicate", "swap"]))
def test_mutated_corpus_files(pick: int, seed: int, mutation: str) -> None:
    if not CORPUS_FILES:
        return
    path = CORPUS_FILES[pick % len(CORPUS_FILES)]
    text = blank_meta_commands(path.read_text(encoding="utf-8", errors="replace"))
    tokens = text.split(" ")
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 5)):
        if len(tokens) < 2:
            break
        i, j = rng.randrange(len(tokens)), rng.randrange(len(tokens))
        if mutation == "delete":
            del tokens[i]
        elif mutation == "duplicate":
            tokens.insert(i, tokens[j])
        else:
            tokens[i], tokens[j] = tokens[j], tokens[i]
    assert_clean({path.name: " ".join(tokens)})
