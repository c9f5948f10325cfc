"""Index builds and drops: SL102 create-index-non-concurrently, SL103 drop-index-non-concurrently, SL125
concurrent-index-on-partitioned-table."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Edit, Hit, Severity
from schemalint.model.locks import LockMode
from schemalint.model.pg_names import expression_name, index_name, make_object_name
from schemalint.rules.base import rule
from schemalint.rules.edits import (
    insert_after_keyword,
    recipes,
    replace_statement,
    text_after_relation,
)
from schemalint.rules.wording import lock_phrase
from schemalint.sql.names import quote_ident
from schemalint.sql.nodes import unwrap
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
    if not (node.get("relation") or {}).get("inh", False):
        return  # CREATE INDEX … ON ONLY: builds nothing (a partitioned parent's own index); its brief lock is SL114's
    name = ctx.name(table)
    index = node.get("idxname")
    what = f"CREATE {'UNIQUE ' if node.get('unique') else ''}INDEX{' ' + quote_ident(index) if index else ''}"
    known = ctx.model.table(table)
    partitioned = known is not None and known.kind == "partitioned"
    if partitioned:
        help_text = f"{name} is partitioned, and CONCURRENTLY cannot build an index on a partitioned table:\n" + \
            _partitioned_recipe(stmt, ctx)[0]
    else:
        fixed = add_keyword_after(stmt.text, r"\bINDEX\b", "CONCURRENTLY")
        help_text = (
            f"Build the index without blocking writes, {ctx.outside_transaction_phrase()}:\n{fixed};\n"
            "If the build fails it leaves an INVALID index: DROP INDEX CONCURRENTLY it and retry."
        )
    # fixable only where CONCURRENTLY can run: outside any transaction, not on a partitioned table
    fixable = not ctx.in_transaction and not partitioned and ctx.current is None
    yield Hit(
        f"{what} on {name} without CONCURRENTLY {lock_phrase(ctx.lock_of(stmt, table), name, 'for the whole build')}",
        help_text,
        fix=insert_after_keyword(stmt, r"\bINDEX\b", "CONCURRENTLY") if fixable else None,
    )






def _partitioned_recipe(stmt: Statement, ctx: Context) -> tuple[str, Edit | None]:
    """(help, unsafe fix) for an index on a partitioned table: ON ONLY the parent, CONCURRENTLY on each known
    partition, ATTACH each. The fix only when the partitions are known and the file runs statement by statement."""
    node = stmt.node
    table = ctx.rv(node.get("relation"))
    columns = [unwrap(p)[1].get("name") or expression_name(unwrap(p)[1].get("expr")) for p in node.get("indexParams") or ()]
    index = str(node.get("idxname") or index_name(table, columns))
    partitions = [(ctx.name(t.name), make_object_name(index, t.name[1], None)) for t in ctx.model.partitions_of(table)]
    shown = partitions or [("<each partition>", f"{index}_<partition>")]
    steps = recipes(ctx).partitioned_index(ctx.name(table), index, bool(node.get("unique")), text_after_relation(stmt), shown)
    text = "\n".join(step.sql for step in steps)
    if not partitions:
        text += "\n(The partitions are not known from the history: one CREATE INDEX CONCURRENTLY and one ATTACH each.)"
    fix = replace_statement(ctx, stmt, steps, safe=False) if partitions else None
    return text, fix


@rule("SL125", "concurrent-index-on-partitioned-table", Severity.ERROR,
      "CREATE INDEX CONCURRENTLY on a partitioned table: PostgreSQL rejects it.", kinds=["IndexStmt"], fix="unsafe")
def concurrent_index_on_partitioned_table(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if not node.get("concurrent"):
        return
    table = ctx.rv(node.get("relation"))
    known = ctx.model.table(table)
    if known is None or known.kind != "partitioned":
        return
    recipe, fix = _partitioned_recipe(stmt, ctx)
    yield Hit(
        f"CREATE INDEX CONCURRENTLY on {ctx.name(table)}, a partitioned table: PostgreSQL rejects it (\"cannot create "
        f"index on partitioned table {ctx.name(table)} concurrently\"), in or out of a transaction",
        "Build the parent's index empty, each partition's concurrently, and attach them (the parent's index is "
        "valid once every partition's is attached):\n" + recipe,
        fix=fix,
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
            f"Drop it without blocking, {ctx.outside_transaction_phrase()} (one index per statement):\n{fixed};",
            fix=insert_after_keyword(stmt, r"\bINDEX\b", "CONCURRENTLY") if fixable else None,
            subject=ctx.name(index),
        )
