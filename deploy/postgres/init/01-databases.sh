#!/usr/bin/env bash
# One database and two roles per Agentsuite service.
#
#   agentsuite_<svc>   database, owned by <svc>_owner
#   <svc>_owner        LOGIN; owns the database and every table (runs the migrations)
#   <svc>_app          LOGIN; what the service connects as: not the owner, NOSUPERUSER,
#                      NOBYPASSRLS, so row-level security binds every query it makes.
#                      CONNECT/TEMPORARY on its database, USAGE on schema public, and
#                      (default privileges) DML on the owner's tables, USAGE/SELECT on
#                      its sequences. Nothing on other services' databases.
#
# <svc> is the service name with '-' as '_' (llm-gateway -> llm_gateway_owner,
# agentsuite_llm_gateway). The layout is the same one `agentsuite` provisions on an
# external server (libs/cli provision.py).
#
# Run by the postgres image on first start (/docker-entrypoint-initdb.d), or by hand
# against any PostgreSQL 18+ (what the services need) as a superuser:
#   PGHOST=db PGUSER=postgres PGPASSWORD=... bash deploy/postgres/init/01-databases.sh
#
# Passwords: <SVC>_OWNER_PASSWORD and <SVC>_APP_PASSWORD (e.g. LLM_GATEWAY_APP_PASSWORD);
# unset means the dev default '<svc>_owner_dev' / '<svc>_app_dev'. Idempotent: roles
# that exist get their password and attributes reset, nothing is dropped.
set -euo pipefail

SERVICES="${AGENTSUITE_SERVICES:-identity catalog discovery planning execution llm-gateway audit}"

psql_admin() {
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "${POSTGRES_USER:-${PGUSER:-postgres}}" "$@"
}

for svc in $SERVICES; do
    base="${svc//-/_}"
    upper="${base^^}"
    db="agentsuite_${base}"
    owner="${base}_owner"
    app="${base}_app"
    owner_pw_var="${upper}_OWNER_PASSWORD"
    app_pw_var="${upper}_APP_PASSWORD"
    owner_pw="${!owner_pw_var:-${owner}_dev}"
    app_pw="${!app_pw_var:-${app}_dev}"

    echo "agentsuite: database ${db}, roles ${owner} and ${app}"

    # Cluster-wide objects, from the maintenance database. psql's :"x" quotes an
    # identifier and :'x' a literal; \gexec runs the statement built by the query.
    psql_admin --dbname "${POSTGRES_DB:-postgres}" \
        -v db="$db" -v owner="$owner" -v app="$app" \
        -v owner_pw="$owner_pw" -v app_pw="$app_pw" <<'SQL'
SELECT format('CREATE ROLE %I', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I', :'app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
ALTER ROLE :"owner" LOGIN PASSWORD :'owner_pw'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
ALTER ROLE :"app" LOGIN PASSWORD :'app_pw'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT;
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
ALTER DATABASE :"db" OWNER TO :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";
SQL

    # Inside the service's database: schema and default privileges. PostgreSQL 15+
    # gives PUBLIC no CREATE on schema public; the database owner owns that schema.
    psql_admin --dbname "$db" -v owner="$owner" -v app="$app" <<'SQL'
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO :"owner";
GRANT USAGE ON SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"app";
-- Tables and sequences the owner already made (a re-run after migrations).
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %I.%I TO %I', schemaname, tablename, :'app')
  FROM pg_tables WHERE schemaname = 'public' AND tableowner = :'owner' \gexec
SELECT format('GRANT USAGE, SELECT ON SEQUENCE %I.%I TO %I', schemaname, sequencename, :'app')
  FROM pg_sequences WHERE schemaname = 'public' AND sequenceowner = :'owner' \gexec
SQL
done
