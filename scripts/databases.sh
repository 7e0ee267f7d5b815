#!/usr/bin/env bash
# Throwaway database servers for tests and demos (docs/data.md, "Databases"):
#
#   eval "$(bash scripts/databases.sh up DIR)"   # starts PostgreSQL and MariaDB under DIR
#   bash scripts/databases.sh down DIR           # stops them (DIR can then be removed)
#
# `up` prints `export CREDIT_TEST_POSTGRES_URL=... CREDIT_TEST_MYSQL_URL=...` on stdout (all
# else goes to stderr). Each server has its own data directory, a Unix socket in DIR and a
# free TCP port on 127.0.0.1; the system services are never used. The URLs name a role
# `credit` with a fresh random password (so the tests can check that a password never shows)
# and a database `credit` it owns; MariaDB's `credit` may also create databases (the shared
# dumps load into `analise_risco`).
#
# PostgreSQL refuses to run as root: as root, its directory is handed to the `postgres`
# account (created by the Debian package; else a `creditdb` account is made) and its
# commands run through runuser. MariaDB runs as the current user (--user=root is allowed).
# The PostgreSQL cluster uses the C locale, so ORDER BY sorts bytes as SQLite does.
set -euo pipefail

cmd="${1:-}"; dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 up|down DIR" >&2; exit 2
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

pgbin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && pgbin="$d"; done
if [ -z "$pgbin" ] && command -v initdb >/dev/null; then pgbin="$(dirname "$(command -v initdb)")"; fi

# Runs a PostgreSQL command as the unprivileged owner of the cluster (root cannot).
pguser=""
if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then pguser=postgres
    else
        id creditdb >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin creditdb
        pguser=creditdb
    fi
fi
aspg() { if [ -n "$pguser" ]; then runuser -u "$pguser" -- "$@"; else "$@"; fi; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

down() {
    if [ -f "$dir/pg/data/postmaster.pid" ]; then
        aspg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w stop >&2 || true
    fi
    if [ -f "$dir/my/mariadbd.pid" ]; then
        local pid; pid="$(cat "$dir/my/mariadbd.pid")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$dir/my/mariadbd.pid"
    fi
}

up() {
    command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || { echo "mariadb-server is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    [ -n "$pgbin" ] || { echo "postgresql is not installed (scripts/install-deps.sh)" >&2; exit 1; }
    down   # a previous run in the same DIR
    local pgpass mypass pgport myport
    pgpass="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"
    mypass="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"

    # PostgreSQL: a fresh cluster, trust on the socket (setup only), scram on TCP.
    rm -rf "$dir/pg"; mkdir -p "$dir/pg/sock"
    # The postgres account must be able to reach DIR (mktemp -d makes it 0700).
    if [ -n "$pguser" ]; then chmod a+x "$dir"; chown -R "$pguser" "$dir/pg"; fi
    aspg "$pgbin/initdb" -D "$dir/pg/data" --no-locale -E UTF8 -A trust -U postgres >"$dir/pg/initdb.log" 2>&1 \
        || { cat "$dir/pg/initdb.log" >&2; exit 1; }
    printf 'local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n' | aspg tee "$dir/pg/data/pg_hba.conf" >/dev/null
    pgport="$(free_port)"
    aspg "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 \
        -o "-p $pgport -k $dir/pg/sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2 || { cat "$dir/pg/server.log" >&2; exit 1; }
    aspg "$pgbin/psql" -h "$dir/pg/sock" -p "$pgport" -U postgres -d postgres -v ON_ERROR_STOP=1 -q >&2 <<SQL
CREATE ROLE credit LOGIN PASSWORD '$pgpass';
CREATE DATABASE credit OWNER credit;
SQL

    # MariaDB: its own datadir, socket and port; root by socket (no password) for setup.
    rm -rf "$dir/my"; mkdir -p "$dir/my"
    local me; me="$(id -un)"
    mariadb-install-db --no-defaults --datadir="$dir/my/data" --user="$me" \
        --auth-root-authentication-method=normal --skip-test-db >"$dir/my/install.log" 2>&1 \
        || { cat "$dir/my/install.log" >&2; exit 1; }
    myport="$(free_port)"
    local mariadbd; mariadbd="$(command -v mariadbd || echo /usr/sbin/mariadbd)"
    "$mariadbd" --no-defaults --datadir="$dir/my/data" --socket="$dir/my/mysql.sock" --port="$myport" \
        --bind-address=127.0.0.1 --pid-file="$dir/my/mariadbd.pid" --log-error="$dir/my/server.log" \
        --user="$me" --skip-name-resolve --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M \
        </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 300); do
        mariadb --no-defaults -S "$dir/my/mysql.sock" -u root -e 'SELECT 1' >/dev/null 2>&1 && break
        sleep 0.1
    done
    mariadb --no-defaults -S "$dir/my/mysql.sock" -u root >&2 <<SQL || { cat "$dir/my/server.log" >&2; exit 1; }
CREATE USER 'credit'@'%' IDENTIFIED BY '$mypass';
CREATE USER 'credit'@'localhost' IDENTIFIED BY '$mypass';
CREATE DATABASE credit CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
GRANT ALL PRIVILEGES ON *.* TO 'credit'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'credit'@'localhost';
FLUSH PRIVILEGES;
SQL
    echo "export CREDIT_TEST_POSTGRES_URL=postgres://credit:$pgpass@127.0.0.1:$pgport/credit" \
         "CREDIT_TEST_MYSQL_URL=mysql://credit:$mypass@127.0.0.1:$myport/credit"
}

case "$cmd" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down DIR" >&2; exit 2 ;;
esac
