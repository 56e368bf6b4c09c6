#!/bin/sh
# One Fairmeet backup: the database (pg_dump custom format) and the uploaded files (tar), into a new directory
# $BACKUP_DIR/fairmeet-<UTC time>/ with a SHA256SUMS file; then only the newest $BACKUP_KEEP backups are kept.
#
# Environment (deploy/compose.yaml's backup service sets these):
#   PGHOST, PGPORT, PGUSER, PGDATABASE   the database to dump (libpq's own variables)
#   PGPASSWORD or PGPASSWORD_FILE        its password (the file form is how Compose secrets arrive)
#   UPLOADS_DIR                          the uploaded files (FAIRMEET_UPLOAD_DIR of the app)
#   BACKUP_DIR                           where backups go
#   BACKUP_KEEP                          how many to keep (default 14)
#
# The database is dumped first, the files second: rows only ever name files written before them, so every file a
# dumped row names is in the tar (a CV replaced in the seconds between the two is the one exception).
set -eu

: "${UPLOADS_DIR:?set UPLOADS_DIR}" "${BACKUP_DIR:?set BACKUP_DIR}"
keep="${BACKUP_KEEP:-14}"
if [ -n "${PGPASSWORD_FILE:-}" ]; then
    PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
    export PGPASSWORD
fi

dest="$BACKUP_DIR/fairmeet-$(date -u +%Y%m%dT%H%M%SZ)"
while [ -e "$dest" ]; do  # a second backup within the same second (a manual run next to the scheduled one)
    sleep 1
    dest="$BACKUP_DIR/fairmeet-$(date -u +%Y%m%dT%H%M%SZ)"
done
partial="$dest.partial"
mkdir -p "$BACKUP_DIR"
rm -rf "$partial"
# A run that fails (database out of reach, disk full) leaves no half-written copy of the data behind.
trap 'rm -rf "$partial"' EXIT
mkdir -m 700 "$partial"

pg_dump --format=custom --no-owner --no-privileges --file="$partial/database.dump"
tar -C "$UPLOADS_DIR" -czf "$partial/uploads.tar.gz" .
(cd "$partial" && sha256sum database.dump uploads.tar.gz > SHA256SUMS)
mv "$partial" "$dest"
trap - EXIT
printf '%s\n' "$dest" > "$BACKUP_DIR/LATEST"
echo "backup written: $dest ($(du -sh "$dest" | cut -f1))"

# Retention: the newest $keep complete backups stay (names sort by time).
ls -1d "$BACKUP_DIR"/fairmeet-*Z 2>/dev/null | sort -r | awk -v keep="$keep" 'NR > keep' | while read -r old; do
    rm -rf "$old"
    echo "backup removed (retention $keep): $old"
done
