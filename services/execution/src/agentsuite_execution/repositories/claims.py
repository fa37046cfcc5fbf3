"""The claim's SQL: which tenants have ready steps, and the leases of the steps taken."""

from __future__ import annotations

from sqlalchemy import text

# distinct tenants with ready steps, by a loose index scan of ix_steps_ready (one probe per
# tenant, however many steps each has ready)
TENANTS = text(
    """
    WITH RECURSIVE t(tenant_id) AS (
      (SELECT tenant_id FROM steps WHERE state = 'ready' ORDER BY tenant_id LIMIT 1)
      UNION ALL
      SELECT (SELECT s.tenant_id FROM steps s
               WHERE s.state = 'ready' AND s.tenant_id > t.tenant_id
               ORDER BY s.tenant_id LIMIT 1)
        FROM t WHERE t.tenant_id IS NOT NULL
    )
    SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL LIMIT 1000
    """
)

# what a claim does to the steps it picked (`picked`: their execution_id and key): each is
# running under the owner's lease; a step that checkpointed `continue` keeps its attempt
_TAKE = """
    UPDATE steps s
       SET state = 'running', lease_owner = :owner,
           attempt = s.attempt + CASE WHEN s.checkpoint ? 'continue' THEN 0 ELSE 1 END,
           lease_until = now() + make_interval(secs => :lease),
           started_at = coalesce(s.started_at, now())
      FROM picked
     WHERE s.execution_id = picked.execution_id AND s.key = picked.key
    RETURNING s.*
    """

CLAIM = text(
    """
    WITH picked AS (
      SELECT c.execution_id, c.key
        FROM unnest(CAST(:tenants AS uuid[])) AS t(tenant_id)
        CROSS JOIN LATERAL (
          SELECT s.execution_id, s.key FROM steps s
           WHERE s.tenant_id = t.tenant_id AND s.state = 'ready'
             AND (CAST(:any AS boolean) OR (s.kind = 'tool'
                  AND s.spec -> 'tool' ->> 'tool' = ANY(CAST(:tools AS text[]))))
           ORDER BY s.queued_at
           LIMIT :share
           FOR UPDATE SKIP LOCKED
        ) c
       LIMIT :batch
    )
    """  # noqa: S608  constant SQL put together, no input in it
    + _TAKE
)


CLAIM_KEYS = text(
    """
    WITH picked AS (
      SELECT s.execution_id, s.key
        FROM steps s
        JOIN unnest(CAST(:executions AS uuid[]), CAST(:keys AS text[])) AS k(execution_id, key)
          ON s.execution_id = k.execution_id AND s.key = k.key
       WHERE s.state = 'ready'
         AND (CAST(:any AS boolean)
              OR (s.kind = 'tool' AND s.spec -> 'tool' ->> 'tool' = ANY(CAST(:tools AS text[]))))
       LIMIT :limit
       FOR UPDATE OF s SKIP LOCKED
    )
    """  # noqa: S608  constant SQL put together, no input in it
    + _TAKE
)


RENEW = text(
    """
    UPDATE steps s
       SET lease_until = now() + make_interval(secs => :lease)
      FROM (SELECT execution_id, key FROM steps
             WHERE lease_owner = :owner AND state = 'running'
             FOR UPDATE SKIP LOCKED) mine
     WHERE s.execution_id = mine.execution_id AND s.key = mine.key
    """
)
