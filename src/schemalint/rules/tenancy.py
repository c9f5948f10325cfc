"""SL3xx: multi-tenancy and security. Defaults follow the house guide: tenant column ``tenant_id``,
RLS policies keyed on ``current_setting('app.tenant_id')``; see ``[tool.schemalint.tenancy]``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemalint.context import Context, FileContext
from schemalint.findings import Hit, Severity
from schemalint.model.objects import Policy
from schemalint.rules.alter import alter_commands
from schemalint.rules.base import file_rule, rule
from schemalint.rules.tables import create_columns, is_partition, is_temporary
from schemalint.sql.names import QName, quote_ident, strings
from schemalint.sql.nodes import const_value, unwrap, walk
from schemalint.sql.objects import dropped_on_table
from schemalint.sql.parse import Statement


def _exempt(ctx: Context, table: QName) -> bool:
    return ctx.settings.tenant_exempt(table)


def _policy_sql(ctx: Context, table: QName) -> str:
    column = quote_ident(ctx.option("tenancy", "column"))
    setting = ctx.option("tenancy", "setting")
    name = ctx.name(table)
    return (
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY;\n"
        f"CREATE POLICY {quote_ident(f'tenant_isolation_{table[1]}'[:63])} ON {name}\n"
        f"FOR ALL USING ({column} = current_setting('{setting}')::integer)\n"
        f"WITH CHECK ({column} = current_setting('{setting}')::integer);"
    )


def _tenant_parent(ctx: Context, stmt: Statement) -> bool:
    parents = stmt.node.get("inhRelations") or []
    if not parents:
        return False
    parent = ctx.model.table(ctx.rv(parents[0]))
    column = ctx.option("tenancy", "column")
    return parent is not None and column in parent.columns


@rule("SL301", "table-without-tenant-column", Severity.ERROR,
      "A new table has no tenant column, or has it nullable.", kinds=["CreateStmt"])
def table_without_tenant_column(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    table = ctx.rv(stmt.node.get("relation"))
    if is_temporary(stmt) or _exempt(ctx, table) or (is_partition(stmt) and _tenant_parent(ctx, stmt)):
        return
    column_name = ctx.option("tenancy", "column")
    column = next((c for c in create_columns(stmt) if c.name == column_name), None)
    name = ctx.name(table)
    col = quote_ident(column_name)
    if column is None:
        yield Hit(
            f"CREATE TABLE {name} has no {col} column: its rows belong to no tenant, and row-level security "
            f"cannot isolate them",
            f"Add the tenant column (NOT NULL, referencing the tenant registry), then enable RLS:\n"
            f"    {col} INTEGER NOT NULL REFERENCES tenant_metadata(tenant_id),\n"
            f"{_policy_sql(ctx, table)}\n"
            f"(or list the table under exempt-tables in [tool.schemalint.tenancy] if it is shared by all tenants)",
        )
    elif not column.not_null:
        yield Hit(
            f"{name}.{col} is nullable: a row with a NULL {col} belongs to no tenant and no tenant policy ever "
            f"shows it",
            f"Declare it NOT NULL: {col} INTEGER NOT NULL REFERENCES tenant_metadata(tenant_id)",
            ctx.statement.offset_of(column.location),
        )


def _tenant_tables_created(ctx: FileContext) -> Iterator[tuple[Statement, QName]]:
    column_name = ctx.option("tenancy", "column")
    for stmt in ctx.statements:
        if stmt.kind != "CreateStmt" or is_temporary(stmt):
            continue
        table = ctx.rv(stmt.node.get("relation"))
        if _exempt(ctx, table) or (is_partition(stmt) and _tenant_parent(ctx, stmt)):
            continue
        if any(c.name == column_name for c in create_columns(stmt)):
            yield stmt, table


def _rls_enabled_in_file(ctx: FileContext) -> dict[QName, Statement]:
    enabled: dict[QName, Statement] = {}
    for stmt in ctx.statements:
        if any(True for _ in alter_commands(stmt, "AT_EnableRowSecurity")):
            enabled.setdefault(ctx.rv(stmt.node.get("relation")), stmt)
    return enabled


@file_rule("SL302", "table-without-row-level-security", Severity.ERROR,
           "A new tenant table whose migration does not ENABLE ROW LEVEL SECURITY on it.")
def table_without_row_level_security(ctx: FileContext) -> Iterator[Hit]:
    enabled = _rls_enabled_in_file(ctx)
    for stmt, table in _tenant_tables_created(ctx):
        if table in enabled:
            continue
        yield Hit(
            f"CREATE TABLE {ctx.name(table)} has a {quote_ident(ctx.option('tenancy', 'column'))} column but this "
            f"migration never enables row-level security on it: every tenant can read every other tenant's rows",
            _policy_sql(ctx, table),
            stmt.start,
        )


def _is_setting_call(node: Any, setting: str) -> bool:
    """``current_setting('<setting>' …)``, through casts and a scalar sub-select (``(SELECT current_setting(…))``,
    the form recommended so PostgreSQL evaluates it once per query, not once per row)."""
    kind, fields = unwrap(node)
    while kind in ("TypeCast", "SubLink"):
        if kind == "SubLink":
            query = unwrap(fields.get("subselect"))[1]
            targets = query.get("targetList") or []
            if fields.get("subLinkType") != "EXPR_SUBLINK" or len(targets) != 1 or query.get("fromClause"):
                return False
            kind, fields = unwrap(unwrap(targets[0])[1].get("val"))
        else:
            kind, fields = unwrap(fields.get("arg"))
    if kind != "FuncCall" or strings(fields.get("funcname"))[-1:] != ["current_setting"]:
        return False
    args = fields.get("args") or []
    return bool(args) and const_value(args[0]) == setting


def _is_tenant_column(node: Any, column: str) -> bool:
    kind, fields = unwrap(node)
    while kind == "TypeCast":
        kind, fields = unwrap(fields.get("arg"))
    return kind == "ColumnRef" and strings(fields.get("fields"))[-1:] == [column]


def compares_tenant(expr: Any, column: str, setting: str) -> bool:
    """True when ``expr`` contains ``column = current_setting('setting')`` (casts allowed, either side)."""
    for kind, fields in walk(expr):
        if kind != "A_Expr" or fields.get("kind") != "AEXPR_OP" or strings(fields.get("name")) != ["="]:
            continue
        left, right = fields.get("lexpr"), fields.get("rexpr")
        if (_is_tenant_column(left, column) and _is_setting_call(right, setting)) or (
            _is_tenant_column(right, column) and _is_setting_call(left, setting)
        ):
            return True
    return False


def _using_isolates(policy: Policy, column: str, setting: str) -> bool:
    return policy.command != "insert" and policy.using is not None and compares_tenant(policy.using, column, setting)


def _check_isolates(policy: Policy, column: str, setting: str) -> bool:
    """FOR ALL/INSERT/UPDATE: WITH CHECK (or the USING PostgreSQL reuses without one) compares too."""
    if policy.command not in ("all", "insert", "update"):
        return True
    check_expr = policy.with_check if policy.with_check is not None else policy.using
    return check_expr is not None and compares_tenant(check_expr, column, setting)


@file_rule("SL303", "rls-without-policy", Severity.ERROR,
           "RLS enabled with no policy for the table, or policies that never compare the tenant column.")
def rls_without_policy(ctx: FileContext) -> Iterator[Hit]:
    column = ctx.option("tenancy", "column")
    setting = ctx.option("tenancy", "setting")
    for table_name, stmt in _rls_enabled_in_file(ctx).items():
        table = ctx.model.table(table_name)
        policies = list(table.policies.values()) if table else []
        name = ctx.name(table_name)
        if not policies:
            yield Hit(
                f"Row-level security is enabled on {name} but no policy exists for it: every query by a non-owner "
                f"role now returns no rows and every write fails",
                f"CREATE POLICY {quote_ident(f'tenant_isolation_{table_name[1]}'[:63])} ON {name}\n"
                f"FOR ALL USING ({quote_ident(column)} = current_setting('{setting}')::integer);",
                stmt.start,
            )
            continue
        if table is None or column not in table.columns or _exempt(ctx, table_name):
            continue
        comparison = f"{quote_ident(column)} = current_setting('{setting}')"
        reads_isolated = any(_using_isolates(p, column, setting) for p in policies)
        problems: list[tuple[str, str]] = []  # (message, help): one finding for the table, every gap named
        if not reads_isolated:
            problems.append((f"No policy on {name} compares {comparison} in USING: tenants can read each other's rows",
                             f"CREATE POLICY {quote_ident(f'tenant_isolation_{table_name[1]}'[:63])} ON {name}\n"
                             f"FOR ALL USING ({quote_ident(column)} = current_setting('{setting}')::integer);"))
        for policy in policies:
            if not reads_isolated and policy.with_check is None:
                continue  # its check is its USING, already named above
            if not _check_isolates(policy, column, setting):
                problems.append((
                    f"policy {quote_ident(policy.name)} (FOR {policy.command.upper()}) on {name} does not check "
                    f"{comparison} in WITH CHECK: a tenant can write rows into another tenant",
                    f"ALTER POLICY {quote_ident(policy.name)} ON {name}\n"
                    f"WITH CHECK ({quote_ident(column)} = current_setting('{setting}')::integer);"))
        if problems:
            message = "; ".join(m for m, _ in problems)
            yield Hit(message[0].upper() + message[1:], "\n".join(h for _, h in problems), stmt.start)


def _replacement_policy(ctx: Context, table: QName) -> bool:
    return any(s.kind == "CreatePolicyStmt" and ctx.rv(s.node.get("table")) == table
               for s in ctx.statements if s is not ctx.statement)


@rule("SL305", "row-level-security-weakened", Severity.ERROR,
      "DISABLE / NO FORCE ROW LEVEL SECURITY, or DROP POLICY with no replacement policy.",
      kinds=["AlterTableStmt", "DropStmt"])
def row_level_security_weakened(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    if stmt.kind == "DropStmt":
        if stmt.node.get("removeType") != "OBJECT_POLICY":
            return
        for table, policy in dropped_on_table(stmt.node, ctx.settings.default_schema):
            if ctx.is_new(table) or _replacement_policy(ctx, table):
                continue
            yield Hit(
                f"DROP POLICY {quote_ident(policy)} on {ctx.name(table)} with no replacement policy in this "
                f"migration: the table's tenant isolation changes (or every non-owner query returns nothing)",
                "Create the replacement policy in the same migration (CREATE POLICY … before the DROP), or use "
                "ALTER POLICY to change it in place.",
            )
        return
    altered = ctx.existing_table(stmt)
    if altered is None:
        return
    for cmd in alter_commands(stmt, "AT_DisableRowSecurity", "AT_NoForceRowSecurity"):
        what = "DISABLE ROW LEVEL SECURITY" if cmd.get("subtype") == "AT_DisableRowSecurity" else "NO FORCE ROW LEVEL SECURITY"
        effect = ("every role sees every tenant's rows" if what.startswith("DISABLE")
                  else "the table owner (often the application role) bypasses every policy")
        yield Hit(f"{what} on {ctx.name(altered)}: {effect}",
                  "Keep row-level security on; change what a role may see with CREATE/ALTER POLICY instead.")


@rule("SL306", "grant-to-public", Severity.ERROR,
      "GRANT … TO PUBLIC on a table, schema or function.", kinds=["GrantStmt"])
def grant_to_public(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if not node.get("is_grant"):
        return
    public = any(unwrap(g)[1].get("roletype") == "ROLESPEC_PUBLIC" for g in node.get("grantees") or ())
    if not public:
        return
    objtype = str(node.get("objtype", "")).removeprefix("OBJECT_").lower()
    privileges = ", ".join(unwrap(p)[1].get("priv_name", "").upper() for p in node.get("privileges") or ()) or "ALL"
    yield Hit(
        f"GRANT {privileges} ON {objtype.upper()} … TO PUBLIC gives every role in the database, present and future, "
        f"that privilege",
        "Grant to the application's own role instead: GRANT … TO app_role;",
    )


@rule("SL307", "security-definer-without-search-path", Severity.ERROR,
      "CREATE/ALTER FUNCTION … SECURITY DEFINER without SET search_path.",
      kinds=["CreateFunctionStmt", "AlterFunctionStmt"])
def security_definer_without_search_path(stmt: Statement, ctx: Context) -> Iterator[Hit]:
    node = stmt.node
    if stmt.kind == "AlterFunctionStmt":
        parts = strings((node.get("func") or {}).get("objname"))
        known = ctx.model.function(parts)
        if known is None:
            # its definition is not in the history: whether it pins search_path is not known, and for a security
            # rule unknown counts as unsafe
            definer, has_path = _definer_and_path(node.get("actions"), False, False)
            if definer and not has_path:
                name = ".".join(parts)
                yield Hit(
                    f"ALTER … SECURITY DEFINER makes {name} run with its owner's privileges, and no migration of "
                    f"this run shows it pinning search_path: unless it does, a caller can create a same-named "
                    f"function or table in a schema it controls and run it as the owner",
                    "Pin the search path in the same statement (harmless if the routine already does):\n"
                    "… SECURITY DEFINER SET search_path = pg_catalog, public …")
            return
        definer, has_path = _definer_and_path(node.get("actions"), known.security_definer,
                                              "search_path" in known.config)
        if not definer or has_path or known.security_definer:
            return  # not made SECURITY DEFINER here (a definer without a path was reported where it was made)
    else:
        parts = strings(node.get("funcname"))
        definer, has_path = _definer_and_path(node.get("options"), False, False)
        if not definer or has_path:
            return
    name = ".".join(parts)
    verb = "ALTER FUNCTION" if stmt.kind == "AlterFunctionStmt" else "CREATE FUNCTION"
    yield Hit(
        f"SECURITY DEFINER function {name} runs with its owner's privileges but resolves names through the "
        f"caller's search_path: a caller can create a same-named function or table in a schema it controls and "
        f"run it as the owner",
        f"Pin the search path in the same {verb}:\n"
        "… SECURITY DEFINER SET search_path = pg_catalog, public …\n"
        "(and schema-qualify objects in the body)",
    )


def _definer_and_path(options: Any, definer: bool, has_path: bool) -> tuple[bool, bool]:
    """SECURITY DEFINER / INVOKER and SET / RESET search_path among a routine's options."""
    for opt in options or ():
        _, de = unwrap(opt)
        if de.get("defname") == "security":
            definer = bool(unwrap(de.get("arg"))[1].get("boolval", False))
        elif de.get("defname") == "set":
            setting = unwrap(de.get("arg"))[1]
            if setting.get("name") == "search_path" or setting.get("kind") == "VAR_RESET_ALL":
                has_path = setting.get("kind") not in ("VAR_RESET", "VAR_SET_DEFAULT", "VAR_RESET_ALL")
    return definer, has_path
