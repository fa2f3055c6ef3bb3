#!/usr/bin/env bash
# Consistent online backup of the bot's database (safe while the bot runs: SQLite's backup API),
# through `enkatbot backup`: a new timestamped file each time (never overwriting an earlier
# one), mode 0600, holding no unfinished survey (participants who were mid-survey can open
# their link again after a restore). The .secret file is not needed for a restore: leave it
# out of backups.
# Usage: deploy/backup.sh [DATABASE] [BACKUP_FOLDER]
#   defaults: /var/lib/enkatbot/enkatbot.db and /var/lib/enkatbot-backup
# ENKATBOT_HOME is the installed clone whose .venv has the command (default: the clone this
# script lives in).
set -euo pipefail
db=${1:-/var/lib/enkatbot/enkatbot.db}
dest=${2:-/var/lib/enkatbot-backup}
home=${ENKATBOT_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
umask 077
exec "$home/.venv/bin/enkatbot" --db "$db" backup "$dest"
