"""A tiny service used to exercise the kit for real: its own Alembic migrations, a
tenant-scoped table under RLS, an effects table, a unit of work with repositories."""
