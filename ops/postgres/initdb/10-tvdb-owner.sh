#!/bin/sh
# Runs once, when the postgres container initialises its data directory (docker-entrypoint-initdb.d).
# tvdb_owner owns the tvdb database and its schema and runs the migrations; it may create roles (the
# application role tvdb_app, which `tvdb migrate` creates) but is not a superuser.
# The image has pgvector and creating it takes a superuser, which runs this script: the extension
# is created here, and `tvdb vectors reindex`, as the owner, only builds the HNSW indexes.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v owner_password="$TVDB_OWNER_PASSWORD" <<'SQL'
create role tvdb_owner login createrole password :'owner_password';
alter database tvdb owner to tvdb_owner;
alter schema public owner to tvdb_owner;
create extension if not exists vector;
SQL
