#!/bin/sh
# Restores one Fairmeet backup (a directory written by backup.sh) into an EMPTY database and an uploads directory.
#
#   restore.sh /backups/fairmeet-20260101T030000Z
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE (the target database: created beforehand, empty),
#              PGPASSWORD or PGPASSWORD_FILE, UPLOADS_DIR (the target directory for the uploaded files).
# Stop the apps first (docs/deploy.md, "Restore"). The checksums are verified before anything is written; the
# database is restored in one transaction (all or nothing); a database that already has tables is refused.
set -eu

backup="${1:?usage: restore.sh BACKUP_DIRECTORY}"
: "${PGDATABASE:?set PGDATABASE (the empty target database)}" "${UPLOADS_DIR:?set UPLOADS_DIR}"
if [ -n "${PGPASSWORD_FILE:-}" ]; then
    PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
    export PGPASSWORD
fi

(cd "$backup" && sha256sum --check --quiet SHA256SUMS)

tables="$(psql --no-psqlrc --tuples-only --no-align --command \
    "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")"
if [ "$tables" != "0" ]; then
    echo "restore.sh: database $PGDATABASE already has $tables tables; restore into a new, empty database" >&2
    exit 1
fi

pg_restore --no-owner --no-privileges --single-transaction --exit-on-error --dbname="$PGDATABASE" "$backup/database.dump"
mkdir -p "$UPLOADS_DIR"
tar -C "$UPLOADS_DIR" -xzf "$backup/uploads.tar.gz"
echo "restored $backup into database $PGDATABASE and $UPLOADS_DIR"
