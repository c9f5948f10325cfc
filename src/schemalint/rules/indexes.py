"""Index builds and drops: SL102 create-index-non-concurrently, SL103 drop-index-non-concurrently."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.locks import LockMode
from schemalint.rules.base import rule
from schemalint.rules.edits import insert_after_keyword
from schemalint.rules.wording import lock_phrase
from schemalint.sql.names import quote_ident
from schemalint.sql.objects import dropped_names
from schemalint.sql.parse import Statement
from schemalint.sql.scan import add_keyword_after


@rule("SL102", "create-index-non-concurrently", Severity.ERROR,
      "CREATE INDEX without CONCURRENTLY on an existing table blocks writes for the whole build.",
      kinds=["IndexStmt"], fix="safe")
def create_index_non_concurrently(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if node.get("concurrent"):
        return
    table = ctx.rv(node.get("relation"))
    if ctx.is_new(table):
        return
    name = ctx.name(table)
    index = node.get("idxname")
    what = f"CREATE {'UNIQUE ' if node.get('unique') else ''}INDEX{' ' + quote_ident(index) if index else ''}"
    known = ctx.model.table(table)
    if known is not None and known.kind == "partitioned":
        help_text = (
            f"{name} is partitioned, and CONCURRENTLY cannot build an index on a partitioned table. "
            f"Build it per partition instead:\n"
            f"CREATE INDEX {quote_ident(index or 'idx_' + table[1])} ON ONLY {name} (…);  -- invalid until attached\n"
            f"CREATE INDEX CONCURRENTLY … ON <each partition> (…);\n"
            f"ALTER INDEX {quote_ident(index or 'idx_' + table[1])} ATTACH PARTITION <partition index>;"
        )
    else:
        fixed = add_keyword_after(stmt.text, r"\bINDEX\b", "CONCURRENTLY")
        help_text = (
            f"Build the index without blocking writes, outside any transaction block:\n{fixed};\n"
            "If the build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY it and retry."
        )
    # fixable only where CONCURRENTLY can run: outside any transaction, not on a partitioned table
    partitioned = known is not None and known.kind == "partitioned"
    fixable = not ctx.in_transaction and not partitioned and ctx.current is None
    yield Hit(
        f"{what} on {name} without CONCURRENTLY {lock_phrase(ctx.lock_of(stmt, table), name, 'for the whole build')}",
        help_text,
        fix=insert_after_keyword(stmt, r"\bINDEX\b", "CONCURRENTLY") if fixable else None,
    )


@rule("SL103", "drop-index-non-concurrently", Severity.ERROR,
      "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the index's table.",
      kinds=["DropStmt"], fix="safe")
def drop_index_non_concurrently(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if node.get("removeType") != "OBJECT_INDEX" or node.get("concurrent"):
        return
    for index in dropped_names(node, ctx.settings.default_schema):
        known = ctx.model.indexes.get(index)
        if known is not None and ctx.is_new(known.table):
            continue
        on = f"its table {ctx.name(known.table)}" if known else "its table"
        mode = ctx.lock_of(stmt, known.table) if known else LockMode.ACCESS_EXCLUSIVE
        fixed = add_keyword_after(stmt.text, r"\bINDEX\b", "CONCURRENTLY")
        # DROP INDEX CONCURRENTLY: one index, no CASCADE, outside a transaction
        fixable = (not ctx.in_transaction and ctx.current is None and len(node.get("objects") or ()) == 1
                   and node.get("behavior") != "DROP_CASCADE")
        yield Hit(
            f"DROP INDEX {ctx.name(index)} without CONCURRENTLY {lock_phrase(mode, on)}; "
            f"it first waits for every running query on the table, and all new queries queue behind it",
            f"Drop it without blocking, outside any transaction block (one index per statement):\n{fixed};",
            fix=insert_after_keyword(stmt, r"\bINDEX\b", "CONCURRENTLY") if fixable else None,
            subject=ctx.name(index),
        )
