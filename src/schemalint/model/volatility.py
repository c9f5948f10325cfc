"""How volatile an expression is: immutable, stable or volatile.

PostgreSQL (PG11+) stores a non-volatile ``ADD COLUMN … DEFAULT`` once in the catalog (no rewrite);
a volatile default must be computed per row, which rewrites the table. CHECK constraints may only
call immutable functions. The table below holds the common built-ins (``pg_proc.provolatile``);
functions created earlier in the run are read from the schema model; anything else is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schemalint.model.schema import SchemaModel
from schemalint.sql.names import strings
from schemalint.sql.nodes import unwrap, walk

IMMUTABLE, STABLE, VOLATILE = "immutable", "stable", "volatile"
_RANK = {IMMUTABLE: 0, STABLE: 1, VOLATILE: 2}

BUILTIN_VOLATILITY: dict[str, str] = {
    # volatile: a new value per call
    **dict.fromkeys((
        "random", "random_normal", "gen_random_uuid", "uuid_generate_v1", "uuid_generate_v1mc",
        "uuid_generate_v4", "uuidv4", "uuidv7", "clock_timestamp", "timeofday", "nextval", "setval",
        "currval", "lastval", "txid_current", "pg_current_xact_id", "gen_random_bytes", "gen_salt",
        "crypt", "pg_sleep", "dblink", "set_config", "pg_advisory_lock", "lo_import",
    ), VOLATILE),
    # stable: fixed within a statement (now() is the transaction's start time)
    **dict.fromkeys((
        "now", "transaction_timestamp", "statement_timestamp", "current_setting", "to_char",
        "to_timestamp", "to_date", "age", "current_schemas", "pg_my_temp_schema", "has_table_privilege",
        "concat", "concat_ws", "format", "jsonb_build_object", "jsonb_build_array", "json_build_object",
        "json_build_array", "to_json", "to_jsonb", "row_to_json", "array_to_json", "date_part",
        "extract", "date_trunc", "timezone", "inet_client_addr", "pg_backend_pid", "version",
        "current_database", "obj_description", "col_description", "pg_get_userbyid",
    ), STABLE),
    # immutable: same inputs, same result, forever
    **dict.fromkeys((
        "lower", "upper", "length", "char_length", "character_length", "octet_length", "abs", "round",
        "trunc", "floor", "ceil", "ceiling", "sign", "mod", "power", "sqrt", "md5", "sha256", "sha512",
        "btrim", "ltrim", "rtrim", "trim", "substr", "substring", "replace", "left", "right", "lpad",
        "rpad", "repeat", "reverse", "split_part", "strpos", "position", "initcap", "translate",
        "regexp_replace", "regexp_match", "regexp_matches", "starts_with", "ascii", "chr", "to_hex",
        "make_date", "make_time", "make_interval", "array_length", "array_lower", "array_upper",
        "cardinality", "array_position", "jsonb_typeof", "json_typeof", "jsonb_array_length",
        "jsonb_exists", "int4", "int8", "int2", "float8", "numeric", "text", "uuid_nil", "bool",
        "isfinite", "num_nonnulls", "num_nulls", "encode", "decode", "host", "family", "masklen",
        "width_bucket", "div", "exp", "ln", "log", "pi", "greatest", "least", "nullif", "coalesce",
        "daterange", "tstzrange", "int4range", "int8range", "numrange", "tsrange", "lower_inc",
        "upper_inc", "isempty", "to_tsvector_immutable", "array_cat", "array_append", "array_prepend",
    ), IMMUTABLE),
}

# SQLValueFunction (CURRENT_TIMESTAMP, CURRENT_USER …) are all stable.
_AGGREGATES = frozenset((
    "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "bool_and", "bool_or", "every",
    "jsonb_agg", "json_agg", "jsonb_object_agg", "json_object_agg", "stddev", "variance",
    "percentile_cont", "percentile_disc", "mode", "bit_and", "bit_or",
))


@dataclass(frozen=True, slots=True)
class Volatility:
    level: str  # immutable, stable, volatile
    culprit: str | None = None  # the function that decided it
    unknown: bool = False  # decided by a function we know nothing about
    from_run: bool = False  # decided by a function created earlier in the run


def function_volatility(parts: list[str], model: SchemaModel) -> Volatility:
    name = parts[-1] if parts else ""
    display = ".".join(parts)
    created = model.function(parts)
    if created is not None:
        return Volatility(created.volatility, display, from_run=True)
    if len(parts) <= 1 or parts[0] == "pg_catalog":
        known = BUILTIN_VOLATILITY.get(name)
        if known is not None:
            return Volatility(known, display)
    return Volatility(VOLATILE, display, unknown=True)


def expression_volatility(expr: Any, model: SchemaModel) -> Volatility:
    """The most volatile part of ``expr`` (a constant or a cast of one is immutable)."""
    worst = Volatility(IMMUTABLE)
    for kind, fields in walk(expr):
        current: Volatility | None = None
        if kind == "FuncCall":
            current = function_volatility(strings(fields.get("funcname")), model)
        elif kind == "SQLValueFunction":
            op = str(fields.get("op", "")).removeprefix("SVFOP_").lower()
            current = Volatility(STABLE, op)
        elif kind == "SubLink":
            current = Volatility(VOLATILE, "a subquery")
        if current is not None and _RANK[current.level] > _RANK[worst.level]:
            worst = current
    return worst


def aggregate_in(expr: Any) -> str | None:
    for kind, fields in walk(expr):
        if kind == "FuncCall":
            parts = strings(fields.get("funcname"))
            if fields.get("agg_star") or fields.get("over") or (parts and parts[-1] in _AGGREGATES and len(parts) <= 2):
                return ".".join(parts)
    return None


def subquery_in(expr: Any) -> bool:
    return any(kind == "SubLink" for kind, _ in walk(expr))


def is_null_constant(expr: Any) -> bool:
    kind, fields = unwrap(expr)
    if kind == "TypeCast":
        return is_null_constant(fields.get("arg"))
    return kind == "A_Const" and bool(fields.get("isnull"))
