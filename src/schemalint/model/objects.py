"""The schema model's records: tables and their columns, constraints, indexes and policies; routines, types and
sequences. Plain data: the replay (replay.py) fills them in, the model (schema.py) answers questions about them."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemalint.model.types import ColumnType
from schemalint.sql.names import QName
from schemalint.sql.nodes import Node


@dataclass(slots=True)
class Column:
    name: str
    type: ColumnType | None
    not_null: bool = False
    has_default: bool = False
    created_file: str = ""  # "" when it existed before the run or came with its table
    default_sequence: QName | None = None  # serial, identity or DEFAULT nextval('seq')
    collation: str | None = None  # COLLATE given for the column; None: its type's default


@dataclass(slots=True)
class Constraint:
    name: str
    kind: str  # PRIMARY, UNIQUE, CHECK, FOREIGN, EXCLUSION
    columns: tuple[str, ...] = ()
    validated: bool = True
    not_null_column: str | None = None  # set for CHECK (col IS NOT NULL)
    ref_table: QName | None = None
    ref_columns: tuple[str, ...] = ()
    created_file: str = ""
    created_tx: int = -1
    validated_tx: int = -1
    expr_columns: tuple[str, ...] = ()  # CHECK: the columns its expression reads
    index: str | None = None  # PRIMARY/UNIQUE ... USING INDEX: the index it took over


@dataclass(slots=True)
class Index:
    name: QName
    table: QName
    columns: tuple[str | None, ...]  # None for an expression
    unique: bool = False
    created_file: str = ""
    partial: bool = False  # has a WHERE clause: not a replacement for a full unique constraint


@dataclass(slots=True)
class Policy:
    name: str
    command: str  # all, select, insert, update, delete
    using: Node | None
    with_check: Node | None


@dataclass(slots=True)
class Table:
    name: QName
    columns: dict[str, Column] = field(default_factory=dict)
    constraints: dict[str, Constraint] = field(default_factory=dict)
    created_file: str = ""
    kind: str = "table"  # table, partitioned, view, matview, foreign
    partition_of: QName | None = None
    partition_key: tuple[str | None, ...] = ()  # partitioned: key columns (None for an expression)
    default_partition: bool = False  # PARTITION OF … DEFAULT
    partition_bound: Node | None = None  # its FOR VALUES … (a PartitionBoundSpec)
    view_sources: tuple[QName, ...] = ()  # view / matview: the relations its query reads
    view_columns: frozenset[str] = frozenset()  # …and the column names it names ("*" for a star)
    rls_enabled: bool = False
    rls_forced: bool = False
    policies: dict[str, Policy] = field(default_factory=dict)


@dataclass(slots=True)
class Function:
    name: QName
    volatility: str  # immutable, stable, volatile
    language: str
    body: str | None
    created_file: str
    body_offset: int | None = None  # file character offset of the body text, when known
    kind: str = "function"  # or procedure
    arg_types: tuple[str, ...] = ()
    security_definer: bool = False
    config: dict[str, str] = field(default_factory=dict)  # SET clauses: search_path → its value


@dataclass(slots=True)
class UserType:
    name: QName
    kind: str  # enum, domain, composite, range
    created_file: str
    labels: list[str] = field(default_factory=list)  # enum labels in order
    base: str | None = None  # domain: the type it is based on


@dataclass(slots=True)
class Sequence:
    name: QName
    created_file: str
    owned_by: tuple[QName, str] | None = None  # the column it belongs to (serial, identity, OWNED BY)
