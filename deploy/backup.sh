#!/usr/bin/env bash
# Consistent online backup of the bot's database (safe while the bot runs: SQLite's backup API).
# Usage: deploy/backup.sh /var/lib/enkatbot/enkatbot.db /var/backups/enkatbot
# The copy holds no unfinished survey (docs/anonymitet.md): sessions and reminders are
# deleted from it, each link gets back the uses its unfinished surveys held (so participants
# can open it again after a restore), and the copy is vacuumed so no page keeps a trace.
# Keep the .secret file out of ordinary backups: without it nothing in a backup is lost (it
# holds no unfinished survey); it never decrypts anything in the responses.
set -euo pipefail
umask 077
db=${1:?database path}
dest=${2:?backup folder}
mkdir -p "$dest"
chmod 700 "$dest"
stamp=$(date +%Y-%m-%dT%H%M%S)
python3 - "$db" "$dest/enkatbot-$stamp.db" <<'PY'
import os, sqlite3, sys
if os.path.exists(sys.argv[2]):
    sys.exit(f"{sys.argv[2]} finns redan; en säkerhetskopia skrivs aldrig över.")
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2], isolation_level=None)
src.backup(dst)
src.close()
dst.execute("PRAGMA secure_delete=ON")
dst.execute("BEGIN IMMEDIATE")
dst.execute("DELETE FROM session")
dst.execute("DELETE FROM reminder")
dst.execute("UPDATE link SET uses_left = uses_left + in_progress, in_progress = 0, held_by = NULL")
dst.execute("COMMIT")
dst.execute("VACUUM")
dst.execute("PRAGMA journal_mode=DELETE")
dst.close()
PY
chmod 600 "$dest/enkatbot-$stamp.db"
echo "$dest/enkatbot-$stamp.db"
