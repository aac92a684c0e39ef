# shellcheck shell=bash
# What scripts/start runs for the local server besides the agent: helpers shared by local-mariadb.sh and
# local-nginx.sh. Needs log.sh.

# docker_bridge_gateway: the host's address on Docker's default bridge (172.17.0.1 unless configured otherwise),
# where containers reach the host's services.
docker_bridge_gateway() {
  local gateway bridge
  gateway=$(docker network inspect bridge --format '{{range .IPAM.Config}}{{.Gateway}}{{end}}' 2>/dev/null || true)
  if [[ -z $gateway ]]; then
    # Docker 20.10 leaves Gateway out of the default bridge's IPAM config: the address of its interface is it.
    bridge=$(docker network inspect bridge --format '{{index .Options "com.docker.network.bridge.name"}}' 2>/dev/null)
    gateway=$(ip -4 -o addr show dev "${bridge:-docker0}" | sed -n 's/.* inet \([0-9.]*\)\/.*/\1/p' | head -n 1)
  fi
  [[ -n $gateway ]] || die "cannot find the docker bridge gateway (no IPv4 address on ${bridge:-docker0})"
  printf '%s\n' "$gateway"
}

# stop_stale PIDFILE SIGNAL MARK: a process left by an earlier start that was killed hard (its pid file names a
# live process whose command line holds MARK, our data directory) is stopped before we start a new one on the
# same files and port. Anything else under that pid is left alone.
stop_stale() {
  local pidfile=$1 signal=$2 mark=$3 pid i
  [[ -f $pidfile ]] || return 0
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$mark" || return 0
  log "stopping $(tr '\0' ' ' <"/proc/$pid/comm") left running by an earlier start (pid $pid)"
  kill "-$signal" "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "pid $pid (from $pidfile) did not stop within 30 s"
}

# wait_tcp HOST PORT PID WHAT: waits until HOST:PORT accepts connections, failing early when PID has died.
wait_tcp() {
  local host=$1 port=$2 pid=$3 what=$4 i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  log "$what did not listen on $host:$port within 60 s"
  return 1
}
