"""Which tenant tables row-level security does not guard: a check services run in their tests.

A table with a `tenant_id` column is guarded when RLS is enabled, forced (so it binds the
table owner too) and a permissive policy for every command and every role compares
`tenant_id` both when rows are read (USING) and when they are written (WITH CHECK). An ALL
policy without WITH CHECK is guarded too: PostgreSQL then checks new rows with its USING.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TENANT_COLUMN = "tenant_id"

# pg_policy: polcmd '*' is ALL, polroles {0} is PUBLIC; pg_get_expr renders the predicate.
_TABLES = text(
    """
    SELECT c.relname AS name,
           c.relrowsecurity AS enabled,
           c.relforcerowsecurity AS forced,
           coalesce(bool_or(
               p.polpermissive AND p.polcmd = '*' AND 0 = ANY (p.polroles)
               AND pg_get_expr(p.polqual, p.polrelid) LIKE :mention
               AND (p.polwithcheck IS NULL
                    OR pg_get_expr(p.polwithcheck, p.polrelid) LIKE :mention)
           ), false) AS policed
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = :column AND NOT a.attisdropped
    LEFT JOIN pg_policy p ON p.polrelid = c.oid
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
    GROUP BY c.relname, c.relrowsecurity, c.relforcerowsecurity
    ORDER BY c.relname
    """
)


async def rls_gaps(conn: AsyncConnection) -> dict[str, list[str]]:
    """Every unguarded tenant table of the public schema, with what it lacks."""
    rows = await conn.execute(_TABLES, {"column": TENANT_COLUMN, "mention": f"%{TENANT_COLUMN}%"})
    gaps: dict[str, list[str]] = {}
    for row in rows:
        missing = [
            reason
            for reason, ok in (
                ("row level security not enabled", row.enabled),
                ("row level security not forced", row.forced),
                (f"no policy for all commands and roles checking {TENANT_COLUMN}", row.policed),
            )
            if not ok
        ]
        if missing:
            gaps[row.name] = missing
    return gaps


async def tables_without_rls(conn: AsyncConnection) -> list[str]:
    """The names of the public schema's tenant tables RLS does not guard, sorted."""
    return sorted(await rls_gaps(conn))
