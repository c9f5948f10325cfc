"""Catalog snapshots (tables, columns, constraints, indexes, policies, RLS flags) and their differences."""

from __future__ import annotations

from typing import Any

USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
"""

_QUERIES = {
    "relation": f"""
        SELECT format('%I.%I', n.nspname, c.relname),
               format('%s rls=%s force_rls=%s', c.relkind, c.relrowsecurity, c.relforcerowsecurity)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND {USER_SCHEMAS}""",
    "column": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname),
               format('%s%s%s', format_type(a.atttypid, a.atttypmod),
                      CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END,
                      COALESCE(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), ''))
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {USER_SCHEMAS}""",
    "constraint": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, k.conname), pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS}""",
    "index": f"""
        SELECT format('%I.%I', n.nspname, c.relname), pg_get_indexdef(c.oid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS}""",
    "policy": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, p.polname),
               format('%s %s USING (%s) WITH CHECK (%s)', p.polcmd, p.polpermissive,
                      pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE {USER_SCHEMAS}""",
    "type": f"""
        SELECT format('%I.%I', n.nspname, t.typname),
               CASE t.typtype WHEN 'e' THEN (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                                             FROM pg_enum e WHERE e.enumtypid = t.oid)
                              ELSE t.typtype::text END
        FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.typtype IN ('e', 'd') AND {USER_SCHEMAS}""",
    "function": f"""
        SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)), p.prokind::text
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE {USER_SCHEMAS}""",
}

Snapshot = dict[str, dict[str, str]]


def snapshot(conn: Any) -> Snapshot:
    out: Snapshot = {}
    for kind, query in _QUERIES.items():
        rows = conn.execute(query).fetchall()
        out[kind] = {str(name): str(definition) for name, definition in rows}
    return out


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """Human-readable differences, each naming the object: what the rollback left behind or lost."""
    out: list[str] = []
    for kind in _QUERIES:
        old, new = before.get(kind, {}), after.get(kind, {})
        for name in sorted(set(old) | set(new)):
            if name not in new:
                out.append(f"{kind} {name} is missing after the rollback ({old[name]})")
            elif name not in old:
                out.append(f"{kind} {name} is still there after the rollback ({new[name]})")
            elif old[name] != new[name]:
                out.append(f"{kind} {name} differs: was {old[name]}, now {new[name]}")
    return out
