#!/bin/sh
# Runs once, when the postgres container starts on an empty volume (/docker-entrypoint-initdb.d): the two roles of
# docs/operations.md, "Tenant isolation in the database". gatehouse_owner owns the schema and runs the migrations;
# gatehouse_app serves, neither superuser nor BYPASSRLS, so row-level security binds it. The first gateway start
# (as the owner, GATEHOUSE_MIGRATION_STORE) creates the tables and grants the application role what it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
create role gatehouse_owner login password '$GATEHOUSE_DB_OWNER_PASSWORD';
create role gatehouse_app login password '$GATEHOUSE_DB_APP_PASSWORD';
create schema gatehouse authorization gatehouse_owner;
SQL
