#!/usr/bin/env bash
# Consistent online backup of the bot's database (safe while the bot runs: SQLite's backup API).
# Usage: deploy/backup.sh /var/lib/enkatbot/enkatbot.db /var/backups/enkatbot
# Keep the .secret file out of ordinary backups: without it, unfinished surveys cannot be
# resumed, but that is all it protects; it never decrypts anything in the responses.
set -euo pipefail
db=${1:?database path}
dest=${2:?backup folder}
mkdir -p "$dest"
chmod 700 "$dest"
stamp=$(date +%Y-%m-%d)
python3 - "$db" "$dest/enkatbot-$stamp.db" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
dst.close()
src.close()
PY
chmod 600 "$dest/enkatbot-$stamp.db"
echo "$dest/enkatbot-$stamp.db"
