#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers at DATABASE_URL's host and port. When none does and the
# host is this machine, installs PostgreSQL from Debian/Ubuntu packages (if needed), starts it,
# and gives the `postgres` role the password the default DATABASE_URL uses.
set -euo pipefail

url="${DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/guildhall}"
hostport="${url#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"; [ "$port" = "$hostport" ] && port=5432

reachable() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

if reachable; then exit 0; fi
case "$host" in
  127.0.0.1|localhost|::1) ;;
  *) echo "PostgreSQL at $host:$port does not answer, and it is not on this machine." >&2; exit 1 ;;
esac

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "Installing PostgreSQL (apt)..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version="$(ls /etc/postgresql | sort -V | tail -n 1)"
echo "Starting PostgreSQL $version..."
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
for _ in $(seq 1 30); do reachable && break; sleep 1; done
reachable || { echo "PostgreSQL did not start." >&2; exit 1; }
# A fresh cluster authenticates TCP connections by password: set the one the default URL carries.
$SUDO -u postgres psql -q -c "ALTER USER postgres PASSWORD 'postgres'" 2>/dev/null \
  || su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" || true
