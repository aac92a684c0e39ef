# shellcheck shell=bash
# The local server's nginx for client sites: configuration, conf.d, pid, logs, temp and the agent's pages under
# $ALFA_DATA_DIR/nginx, listening on the sites port. Like a distribution's nginx (Debian's `user www-data;`), the
# master process runs as root and the workers as www-data, so what the agent writes must be readable by them.
# Needs log.sh and local-server.sh.

NGINX_WORKER_USER=www-data

# start_local_nginx PORT: starts nginx in the foreground of a background job (pid in $nginx_pid) and sets
# $nginx_dir and $nginx_argv_json (the argv prefix the agent runs `-t` and `-s reload` with).
start_local_nginx() {
  local port=$1
  nginx_dir=$ALFA_DATA_DIR/nginx
  local conf=$nginx_dir/nginx.conf error_log=$nginx_dir/logs/error.log
  mkdir -p "$nginx_dir"/{conf.d,logs,temp,pages}
  chmod 755 "$nginx_dir" "$nginx_dir/pages"
  id "$NGINX_WORKER_USER" >/dev/null 2>&1 || die "user $NGINX_WORKER_USER (nginx's workers) does not exist"
  # The workers open the pages and test the flag files on every request: every directory above must let them in.
  runuser -u "$NGINX_WORKER_USER" -- test -x "$nginx_dir/pages" ||
    die "nginx's workers ($NGINX_WORKER_USER) cannot reach $nginx_dir/pages: give the directories above it o+x," \
      "or choose an ALFA_DATA_DIR they can reach"
  write_nginx_conf "$port" >"$conf.tmp" && mv "$conf.tmp" "$conf"
  # -e: nginx opens its compiled-in error log before reading the config; point even that at ours.
  local args=(-p "$nginx_dir/" -c "$conf" -e "$error_log")
  stop_stale "$nginx_dir/nginx.pid" QUIT "$conf"
  nginx "${args[@]}" -t 2>"$nginx_dir/logs/test.log" ||
    { cat "$nginx_dir/logs/test.log" >&2; die "nginx -t failed for $conf"; }
  nginx "${args[@]}" -g 'daemon off;' </dev/null >>"$nginx_dir/logs/stdout.log" 2>&1 &
  nginx_pid=$!
  wait_tcp 127.0.0.1 "$port" "$nginx_pid" nginx ||
    { tail -n 20 "$error_log" >&2; die "nginx did not start (log: $error_log)"; }
  # shellcheck disable=SC2034 # read by scripts/start
  nginx_argv_json=$(node -e 'console.log(JSON.stringify(process.argv.slice(1)))' nginx "${args[@]}")
  log "nginx for client sites on port $port, workers as $NGINX_WORKER_USER (config in $nginx_dir)"
}

write_nginx_conf() {
  local port=$1 temp=$nginx_dir/temp
  cat <<CONF
# Written by scripts/start on every start (scripts/lib/local-nginx.sh): edits are lost. Client sites are in conf.d/.
user $NGINX_WORKER_USER;
worker_processes 1;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/logs/error.log notice;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  types_hash_max_size 4096;
  server_names_hash_bucket_size 128;
  access_log $nginx_dir/logs/access.log;
  client_body_temp_path $temp/body;
  proxy_temp_path $temp/proxy;
  fastcgi_temp_path $temp/fastcgi;
  uwsgi_temp_path $temp/uwsgi;
  scgi_temp_path $temp/scgi;
  server {
    listen $port default_server;
    server_name _;
    return 404;
  }
  include $nginx_dir/conf.d/*.conf;
}
CONF
}
