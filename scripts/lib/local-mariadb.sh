# shellcheck shell=bash
# The local server's database engine: a private MariaDB under $ALFA_DATA_DIR/mariadb (its own data, socket, pid
# and port; --no-defaults, so /etc/mysql and a system MariaDB are never touched), bound to the docker bridge
# gateway so client containers reach it, with an admin account for the agent whose generated password is kept
# 0600 beside the data. A development server: the log is flushed once a second (innodb-flush-log-at-trx-commit=2),
# so a crash of mariadbd loses nothing and a crash of the machine at most the last second.
# Needs log.sh and local-server.sh.

MARIADB_ADMIN_USER=alfa_admin

# start_local_mariadb PORT GATEWAY: starts mariadbd in the background (pid in $mariadb_pid) and sets
# $mariadb_admin_url once it accepts the admin account.
start_local_mariadb() {
  local port=$1 gateway=$2 dir=$ALFA_DATA_DIR/mariadb
  local data=$dir/data sock=$dir/mariadb.sock pidfile=$dir/mariadbd.pid password_file=$dir/admin.password
  mkdir -p "$dir/tmp"
  chmod 700 "$dir"
  if [[ ! -d $data ]]; then
    log "initialising MariaDB in $data"
    # Into a side directory renamed when complete: an install cut short is redone, never taken for a data dir.
    # Fewer fsyncs while the system tables are written. root authenticates by unix socket only (the default for
    # an install run as root): there is no password-less TCP root.
    # A private --tmpdir: installs running side by side in one /tmp collide on their temporary tables.
    rm -rf "$data.installing"
    mkdir -p "$dir/tmp"
    mariadb-install-db --no-defaults --datadir="$data.installing" --tmpdir="$dir/tmp" --user=root --skip-test-db \
      --skip-name-resolve \
      --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 >"$dir/install.log" 2>&1 ||
      { tail -n 20 "$dir/install.log" >&2; die "mariadb-install-db failed (log: $dir/install.log)"; }
    mv "$data.installing" "$data"
  fi
  stop_stale "$pidfile" TERM "$data"
  rm -f "$sock"
  mariadbd --no-defaults --datadir="$data" --socket="$sock" --port="$port" --bind-address="$gateway" --user=root \
    --pid-file="$pidfile" --log-error="$dir/error.log" --tmpdir="$dir/tmp" --skip-name-resolve \
    --innodb-flush-log-at-trx-commit=2 \
    </dev/null >>"$dir/stdout.log" 2>&1 &
  mariadb_pid=$!
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$mariadb_pid" 2>/dev/null ||
      { tail -n 20 "$dir/error.log" >&2; die "mariadbd exited (log: $dir/error.log)"; }
    mariadb-admin --no-defaults --socket="$sock" -u root ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  ((i < 600)) || die "mariadbd did not answer within 60 s (log: $dir/error.log)"
  if [[ ! -s $password_file ]]; then
    (umask 077 && head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$password_file")
  fi
  chmod 600 "$password_file"
  local password
  password=$(<"$password_file")
  # On stdin, not argv (argv shows in ps). The password is base64url: nothing in it needs quoting in SQL. Every
  # start re-applies it, so the file is the truth even after a hand edit.
  mariadb --no-defaults --socket="$sock" -u root <<SQL || die "cannot create the MariaDB admin account"
CREATE USER IF NOT EXISTS '$MARIADB_ADMIN_USER'@'%' IDENTIFIED BY '$password';
ALTER USER '$MARIADB_ADMIN_USER'@'%' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_ADMIN_USER'@'%' WITH GRANT OPTION;
SQL
  # shellcheck disable=SC2034 # read by scripts/start
  mariadb_admin_url="mysql://$MARIADB_ADMIN_USER:$password@$gateway:$port"
  log "MariaDB on $gateway:$port (data in $data, admin password in $password_file)"
}
