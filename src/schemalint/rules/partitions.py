"""SL120–SL121: attaching and detaching partitions of an existing partitioned table."""

from __future__ import annotations

from collections.abc import Iterator

from schemalint.context import Context
from schemalint.findings import Hit, Severity
from schemalint.model.objects import Table
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import rule
from schemalint.rules.wording import locks_phrase
from schemalint.sql.names import QName, quote_ident
from schemalint.sql.nodes import Node, const_value, unwrap
from schemalint.sql.parse import Statement


def _partition(ctx: Context, cmd: Node) -> QName:
    return ctx.rv(unwrap(cmd.get("def"))[1].get("name"))


def _proven_by_check(ctx: Context, partition: QName, parent: QName) -> bool:
    """A validated CHECK on the partition that reads every partition-key column of the parent: PostgreSQL can
    then prove the bound from it and skips the scan (PG10+: "implied by existing constraints")."""
    table = ctx.model.table(partition)
    if table is None:
        return False
    checks = [c for c in table.constraints.values() if c.kind == "CHECK" and c.validated]
    known_parent = ctx.model.table(parent)
    key = [c for c in known_parent.partition_key if c is not None] if known_parent is not None else []
    if not key:
        return bool(checks)  # the parent's key is not known: a validated check may well prove it
    return any(set(key) <= set(c.expr_columns) for c in checks)


def _literal(value: object) -> str:
    return str(value) if isinstance(value, int | float) else "'" + str(value).replace("'", "''") + "'"


def bound_check(cmd: Node, parent: Table | None) -> str:
    """A CHECK expression matching the bound of ``ATTACH PARTITION … FOR VALUES …`` for a single-column key,
    or a placeholder the user fills in."""
    bound = unwrap(cmd.get("def"))[1].get("bound") or {}
    key = parent.partition_key if parent is not None else ()
    column = quote_ident(key[0]) if len(key) == 1 and key[0] is not None else None
    if column is None:
        return "<the partition bound, as a condition on the key columns>"
    lower = [const_value(d) for d in bound.get("lowerdatums") or ()]
    upper = [const_value(d) for d in bound.get("upperdatums") or ()]
    listed = [const_value(d) for d in bound.get("listdatums") or ()]
    if bound.get("strategy") == "r" and len(lower) == len(upper) == 1 and None not in lower + upper:
        return f"{column} IS NOT NULL AND {column} >= {_literal(lower[0])} AND {column} < {_literal(upper[0])}"
    if bound.get("strategy") == "l" and listed and None not in listed:
        return f"{column} IS NOT NULL AND {column} IN ({', '.join(_literal(v) for v in listed)})"
    return f"<{column} within the partition bound>"


@rule("SL120", "attach-partition-scans", Severity.ERROR,
      "ATTACH PARTITION of an existing table that no validated CHECK proves to fit the bound, or a new partition "
      "beside an existing DEFAULT partition: a scan under ACCESS EXCLUSIVE.", kinds=["AlterTableStmt", "CreateStmt"])
def attach_partition_scans(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if stmt.kind == "CreateStmt":
        yield from _new_partition_beside_default(stmt, ctx)
        return
    parent = ctx.rv(stmt.node.get("relation"))
    for cmd in alter_commands(stmt, "AT_AttachPartition"):
        partition = _partition(ctx, cmd)
        if ctx.is_new(partition) or _proven_by_check(ctx, partition, parent):
            continue
        part, par = ctx.name(partition), ctx.name(parent)
        default = ctx.model.default_partition_of(parent)
        locks = [(lock.mode, ctx.name(lock.table)) for lock in ctx.locks(stmt)]
        default_note = ""
        if default is not None and default.name != partition:
            default_note = (f"; the default partition {ctx.name(default.name)} is scanned too, to prove none of its "
                            f"rows belong in {part}")
        check_name = quote_ident(f"chk_{partition[1]}_bound"[:63])
        expression = bound_check(cmd, ctx.model.table(parent))
        bound_text = stmt.text[stmt.text.upper().find(" FOR VALUES") + 1:].rstrip().rstrip(";") \
            if " FOR VALUES" in stmt.text.upper() else "FOR VALUES …"
        if unwrap(cmd.get("def"))[1].get("bound", {}).get("is_default"):
            bound_text = "DEFAULT"
        prefix = ctx.lock_timeout_prefix()
        yield Hit(
            f"ATTACH PARTITION {part} to {par} scans every row of {part} to prove it fits the partition bound while "
            f"it {locks_phrase(locks)}{default_note}",
            "Prove the bound with a validated CHECK first, so the attach skips the scan:\n"
            f"{prefix}ALTER TABLE {part} ADD CONSTRAINT {check_name} CHECK ({expression}) NOT VALID;\n"
            f"ALTER TABLE {part} VALIDATE CONSTRAINT {check_name};  -- separate transaction, SHARE UPDATE "
            "EXCLUSIVE: reads and writes continue\n"
            f"ALTER TABLE {par} ATTACH PARTITION {part} {bound_text};  -- no scan of {part}\n"
            f"ALTER TABLE {part} DROP CONSTRAINT {check_name};  -- now redundant"
            + (f"\n(A CHECK on {ctx.name(default.name)} excluding the new range spares its scan too.)"
               if default is not None and default_note else ""),
            subject=part,
        )


def _new_partition_beside_default(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    """CREATE TABLE … PARTITION OF p FOR VALUES …: PostgreSQL scans p's default partition, holding ACCESS
    EXCLUSIVE on it and on p, to prove none of its rows belongs in the new bound (observed on PG15)."""
    bound = stmt.node.get("partbound") or {}
    parents = stmt.node.get("inhRelations") or []
    if not bound or bound.get("is_default") or not parents:
        return
    parent = ctx.rv(parents[0])
    default = ctx.model.default_partition_of(parent)
    if default is None or ctx.is_new(default.name):
        return
    new, par, dflt = ctx.name(ctx.rv(stmt.node.get("relation"))), ctx.name(parent), ctx.name(default.name)
    locks = [(lock.mode, ctx.name(lock.table)) for lock in ctx.locks(stmt)]
    start = stmt.text.upper().find(" FOR VALUES")
    bound_text = stmt.text[start + 1:].rstrip().rstrip(";") if start >= 0 else "FOR VALUES …"
    yield Hit(
        f"CREATE TABLE {new} PARTITION OF {par} scans every row of the default partition {dflt} to prove none "
        f"belongs in the new bound, while it {locks_phrase(locks)}",
        f"Either move the rows of the new range out of {dflt} first (in batches), so the scan is short, or keep "
        f"{dflt} out of the way while the partition is made:\n"
        f"ALTER TABLE {par} DETACH PARTITION {dflt};\n"
        f"CREATE TABLE {new} PARTITION OF {par} {bound_text};  -- no default partition to scan\n"
        f"INSERT INTO {new} SELECT * FROM {dflt} WHERE <in the new range>;  "
        f"DELETE FROM {dflt} WHERE <in the new range>;  -- in batches\n"
        f"ALTER TABLE {par} ATTACH PARTITION {dflt} DEFAULT;  -- scans {dflt} under ACCESS EXCLUSIVE on {dflt} only; "
        f"{par} takes SHARE UPDATE EXCLUSIVE, so the other partitions stay readable and writable",
        subject=new,
    )


@rule("SL121", "detach-partition-blocking", Severity.ERROR,
      "DETACH PARTITION without CONCURRENTLY holds ACCESS EXCLUSIVE on the partitioned table.",
      kinds=["AlterTableStmt"])
def detach_partition_blocking(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    parent = ctx.existing_table(stmt)
    if parent is None:
        return
    for cmd in alter_commands(stmt, "AT_DetachPartition"):
        if unwrap(cmd.get("def"))[1].get("concurrent"):
            continue
        partition = _partition(ctx, cmd)
        part, par = ctx.name(partition), ctx.name(parent)
        locks = [(lock.mode, ctx.name(lock.table)) for lock in ctx.locks(stmt)]
        default = ctx.model.default_partition_of(parent)
        if ctx.target_postgres < 14:
            help_text = (f"PostgreSQL {ctx.target_postgres} has no non-blocking DETACH (CONCURRENTLY needs PG14+): "
                         f"run it at a quiet time, with a short lock_timeout so it gives up instead of queueing:\n"
                         f"SET lock_timeout = '2s';\nALTER TABLE {par} DETACH PARTITION {part};")
        elif default is not None:
            help_text = (f"{par} has a default partition ({ctx.name(default.name)}), and PostgreSQL refuses DETACH "
                         f"… CONCURRENTLY while one exists. Run it at a quiet time with a short lock_timeout:\n"
                         f"SET lock_timeout = '2s';\nALTER TABLE {par} DETACH PARTITION {part};")
        else:
            help_text = ("PG14+: detach without blocking reads and writes (SHARE UPDATE EXCLUSIVE), in its own "
                         "migration outside a transaction block (it commits in two steps):\n"
                         f"ALTER TABLE {par} DETACH PARTITION {part} CONCURRENTLY;\n"
                         f"-- if it is interrupted: ALTER TABLE {par} DETACH PARTITION {part} FINALIZE;")
        yield Hit(f"DETACH PARTITION {part} from {par} {locks_phrase(locks)}: while it waits for running queries "
                  f"to finish, every new query on {par} queues behind it", help_text, subject=part)

