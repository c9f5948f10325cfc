"""The replay of routines, types and sequences: CREATE/ALTER FUNCTION, PROCEDURE and AGGREGATE, CREATE TYPE
(enum, domain, composite, range), ALTER TYPE … ADD VALUE, CREATE/ALTER SEQUENCE. Tables, indexes and views are
replay.py's; it dispatches here."""

from __future__ import annotations

from typing import Any

from schemalint.model.objects import Function, Sequence, UserType
from schemalint.model.schema import SchemaModel
from schemalint.model.types import routine_arguments, routine_identity, type_text
from schemalint.sql.names import QName, qualify, strings
from schemalint.sql.nodes import Node, const_value, unwrap


def _create_function(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = qualify(strings(node.get("funcname")), model.default_schema)
    volatility = "volatile"
    language = "sql"
    body: str | None = None
    for opt in node.get("options") or ():
        _, de = unwrap(opt)
        defname = de.get("defname")
        arg = de.get("arg")
        if defname == "volatility":
            volatility = unwrap(arg)[1].get("sval", "volatile")
        elif defname == "language":
            language = unwrap(arg)[1].get("sval", "sql")
        elif defname == "as":
            items = strings(unwrap(arg)[1].get("items"))
            body = items[0] if items else None
    kind = "procedure" if node.get("is_procedure") else "function"
    args = routine_arguments(node.get("parameters"))
    function = Function(name, volatility, language, body, file, None, kind, args)
    _routine_options(function, node.get("options"))
    model.functions[name] = function
    model.function_files.add(file)
    _record_routine(model, (name, args), bool(node.get("replace")), file)


def _define(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    """CREATE AGGREGATE: a routine too (its identity is its name and argument types)."""
    identity = routine_identity("DefineStmt", node, model.default_schema)
    if identity is not None:
        _record_routine(model, identity, bool(node.get("replace")), file)


def _record_routine(model: SchemaModel, identity: tuple[QName, tuple[str, ...]], replace: bool, file: str) -> None:
    if replace:
        model.routine_files.setdefault(identity, file)  # replacing an existing routine does not make it new
    else:
        model.routine_files[identity] = file


def _alter_function(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    function = model.functions.get(qualify(strings((node.get("func") or {}).get("objname")), model.default_schema))
    if function is not None:
        _routine_options(function, node.get("actions"))


def _create_enum(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = qualify(strings(node.get("typeName")), model.default_schema)
    model.types[name] = UserType(name, "enum", file, strings(node.get("vals")))


def _create_domain(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = qualify(strings(node.get("domainname")), model.default_schema)
    model.types[name] = UserType(name, "domain", file, base=type_text(node.get("typeName")))


def _create_composite_type(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = model.rv(node.get("typevar"))
    model.types[name] = UserType(name, "composite", file)


def _create_range_type(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = qualify(strings(node.get("typeName")), model.default_schema)
    model.types[name] = UserType(name, "range", file)


def _alter_enum(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = qualify(strings(node.get("typeName")), model.default_schema)
    enum = model.types.setdefault(name, UserType(name, "enum", ""))
    new, old = str(node.get("newVal", "")), node.get("oldVal")
    if old is not None:
        enum.labels = [new if label == old else label for label in enum.labels]
    elif new not in enum.labels:
        enum.labels.append(new)
        model.enum_labels_added.setdefault((file, tx), []).append((name, new))


def _create_sequence(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = model.rv(node.get("sequence"))
    if name in model.sequences and node.get("if_not_exists"):
        return
    model.sequences[name] = Sequence(name, file, _owner_option(model, node.get("options")))


def _alter_sequence(model: SchemaModel, node: Node, file: str, tx: int) -> None:
    name = model.rv(node.get("sequence"))
    sequence = model.sequences.setdefault(name, Sequence(name, ""))
    for opt in node.get("options") or ():
        if unwrap(opt)[1].get("defname") == "owned_by":
            sequence.owned_by = _owner_option(model, node.get("options"))


def _owner_option(model: SchemaModel, options: Any) -> tuple[QName, str] | None:
    for opt in options or ():
        _, de = unwrap(opt)
        if de.get("defname") == "owned_by":
            parts = strings(unwrap(de.get("arg"))[1].get("items"))
            if len(parts) >= 2:  # OWNED BY NONE is one part
                return model.qualify(parts[:-1]), parts[-1]
    return None


def _routine_options(function: Function, options: Any) -> None:
    """SECURITY DEFINER/INVOKER and SET/RESET clauses of CREATE or ALTER FUNCTION."""
    for opt in options or ():
        _, de = unwrap(opt)
        defname = de.get("defname")
        if defname == "security":
            function.security_definer = bool(unwrap(de.get("arg"))[1].get("boolval", False))
        elif defname == "set":
            _, setting = unwrap(de.get("arg"))
            name = str(setting.get("name", ""))
            if setting.get("kind") in ("VAR_RESET", "VAR_SET_DEFAULT"):
                function.config.pop(name, None)
            elif setting.get("kind") == "VAR_RESET_ALL":
                function.config.clear()
            else:
                function.config[name] = ", ".join(str(const_value(a)) for a in setting.get("args") or ())
