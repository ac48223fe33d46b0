# shellcheck shell=bash disable=SC2034  # sets variables for the scripts that source it
# Shared by scripts/backup-postgres and scripts/restore-postgres (sourced, not run): messages, the arguments both
# take, the PostgreSQL client tools, the database URL and the schema revision a backup holds.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=$(basename "$0")
# The Python that runs Polku (the restore runs `flask db upgrade` with it); also reads the database URL.
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi

say() { echo "$PROG: $*" >&2; }
die() { say "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
usage_error() { say "error: $*"; say "$(sed -n '2s/^# //p' "$0")   (--help for more)"; exit 2; }

# Sets URL (POLKU_DATABASE_URL unless --database gives one) and FILE from the command line.
parse_arguments() {
  URL=${POLKU_DATABASE_URL:-} FILE=""
  while [ $# -gt 0 ]; do
    case $1 in
      -h|--help) usage; exit 0 ;;
      -d|--database) [ $# -ge 2 ] || usage_error "$1 needs a URL"; URL=$2; shift ;;
      --database=*) URL=${1#--database=} ;;
      --) shift; break ;;
      -*) usage_error "unknown option $1" ;;
      *) [ -z "$FILE" ] || usage_error "one file only (got '$FILE' and '$1')"; FILE=$1 ;;
    esac
    shift
  done
  if [ $# -gt 0 ]; then
    if [ -n "$FILE" ] || [ $# -ne 1 ]; then usage_error "one file only"; fi
    FILE=$1
  fi
  [ -n "$FILE" ] || usage_error "no file given"
}

# Sets BINDIR to the newest client tools: PG_BINDIR, else the newest /usr/lib/postgresql/*/bin (Debian's, often
# not on PATH), else PATH's. pg_dump must be at least as new as the server it reads, and pg_restore at least as
# new as the pg_dump that wrote the backup.
find_tools() {
  local d tool
  if [ -n "${PG_BINDIR:-}" ]; then
    for tool in pg_dump pg_restore psql; do
      [ -x "$PG_BINDIR/$tool" ] || die "PG_BINDIR=$PG_BINDIR has no $tool"
    done
    BINDIR=$PG_BINDIR; return
  fi
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV) \
           "$(dirname "$(command -v pg_dump || echo /nonexistent/pg_dump)")"; do
    if [ -x "$d/pg_dump" ] && [ -x "$d/pg_restore" ] && [ -x "$d/psql" ]; then BINDIR=$d; return; fi
  done
  die "PostgreSQL's client tools (pg_dump, pg_restore, psql) are neither in /usr/lib/postgresql/*/bin nor on" \
      "PATH: install them (Debian: apt-get install postgresql-client) or set PG_BINDIR to their folder"
}

# From a SQLAlchemy URL (postgresql+psycopg://user:password@host:port/database?sslmode=...) or a libpq one, sets
# DB_URI (libpq's, without the password), APP_URL (SQLAlchemy's, for Polku) and SHOWN (for messages), and exports
# PGPASSWORD when the URL has one: a password on the command line would show in the process list.
use_database() {
  local url=$1 parts=()
  case $url in
    "") die "no database given: set POLKU_DATABASE_URL as the service has it, or give --database URL" ;;
    sqlite:*) die "POLKU_DATABASE_URL (or --database) is a SQLite database; this is for PostgreSQL. Back up" \
                  "SQLite with: sqlite3 instance/polku.db \".backup polku-backup.db\"" ;;
    postgres://*|postgresql://*|postgresql+*://*) ;;
    *) die "not a PostgreSQL URL: '${url%%:*}:…' (expected postgresql+psycopg://user:password@host:port/database)" ;;
  esac
  mapfile -d '' parts < <("$PYTHON" - "$url" <<'EOF'
import sys
from urllib.parse import unquote, urlsplit

url = urlsplit(sys.argv[1])
userinfo, _, hostport = url.netloc.rpartition("@")
user, _, password = userinfo.partition(":")
query = f"?{url.query}" if url.query else ""
libpq = f"postgresql://{user + '@' if user else ''}{hostport}{url.path}{query}"
app = sys.argv[1] if "+" in url.scheme else "postgresql+psycopg" + sys.argv[1][len(url.scheme):]
shown = f"database '{unquote(url.path.lstrip('/')) or user or '(default)'}' on {hostport or 'the local socket'}"
sys.stdout.write("\0".join((libpq, unquote(password), app, shown)) + "\0")
EOF
  ) || die "cannot read the database URL (with $PYTHON)"
  [ ${#parts[@]} -eq 4 ] || die "cannot read the database URL (with $PYTHON)"
  DB_URI=${parts[0]} APP_URL=${parts[2]} SHOWN=${parts[3]}
  if [ -n "${parts[1]}" ]; then export PGPASSWORD=${parts[1]}; fi
}

# The Alembic revision(s) a backup holds (its alembic_version rows, comma-separated); empty when it has none.
schema_revision() {
  "$BINDIR/pg_restore" --data-only --table=alembic_version --file=- "$1" |
    awk '/^COPY .*alembic_version/ { rows = 1; next } rows && /^\\\.$/ { rows = 0 } rows { print }' | paste -sd, -
}
