"""Grammar newer than a PostgreSQL version: pglast parses PostgreSQL 18's grammar, so a statement that parses
here may still be a syntax error on the server a migration targets (``target-postgres``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from schemalint.sql.nodes import Node, unwrap
from schemalint.sql.parse import Statement


@dataclass(frozen=True, slots=True)
class NewerGrammar:
    feature: str  # "a VIRTUAL generated column"
    version: int  # the PostgreSQL release that introduced it
    location: int | None  # the node's location in the statement, when it has one


def newer_grammar(stmt: Statement, target: int) -> list[NewerGrammar]:
    """What the statement uses that PostgreSQL ``target`` does not parse, each with the release that added it."""
    return [found for found in _features(stmt.kind, stmt.node) if found.version > target]


def _features(kind: str, node: Node) -> Iterator[NewerGrammar]:
    if kind in ("CreateStmt", "AlterTableStmt"):
        for con in _constraints(kind, node):
            yield from _constraint_features(con)
        if kind == "AlterTableStmt":
            for item in node.get("cmds") or ():
                cmd = unwrap(item)[1]
                if cmd.get("subtype") == "AT_SetExpression":
                    yield NewerGrammar("ALTER COLUMN … SET EXPRESSION", 17, None)
                if cmd.get("subtype") == "AT_DetachPartition" and unwrap(cmd.get("def"))[1].get("concurrent"):
                    yield NewerGrammar("DETACH PARTITION … CONCURRENTLY", 14, None)
    elif kind == "MergeStmt":
        yield NewerGrammar("MERGE", 15, None)
        if node.get("returningClause") or node.get("returningList"):
            yield NewerGrammar("MERGE … RETURNING", 17, None)
    elif kind == "CreateTrigStmt" and node.get("replace"):
        yield NewerGrammar("CREATE OR REPLACE TRIGGER", 14, None)


def _constraints(kind: str, node: Node) -> Iterator[Node]:
    """The constraints a CREATE TABLE or ALTER TABLE declares: table constraints and column constraints."""
    elements = node.get("tableElts") or () if kind == "CreateStmt" else [
        unwrap(item)[1].get("def") for item in node.get("cmds") or ()
        if unwrap(item)[1].get("subtype") in ("AT_AddColumn", "AT_AddConstraint")]
    for element in elements:
        element_kind, fields = unwrap(element)
        if element_kind == "Constraint":
            yield fields
        elif element_kind == "ColumnDef":
            for con in fields.get("constraints") or ():
                yield unwrap(con)[1]


def _constraint_features(con: Node) -> Iterator[NewerGrammar]:
    location = con.get("location")
    contype = con.get("contype")
    if contype == "CONSTR_GENERATED" and con.get("generated_kind") == "v":
        # before PostgreSQL 18 STORED was required; without it the column is VIRTUAL on 18
        yield NewerGrammar("a VIRTUAL generated column (GENERATED ALWAYS AS (…) without STORED)", 18, location)
    if contype in ("CONSTR_CHECK", "CONSTR_FOREIGN") and not con.get("is_enforced"):
        yield NewerGrammar("a NOT ENFORCED constraint", 18, location)
    if con.get("without_overlaps"):
        yield NewerGrammar("WITHOUT OVERLAPS", 18, location)
    if con.get("nulls_not_distinct"):
        yield NewerGrammar("UNIQUE NULLS NOT DISTINCT", 15, location)
