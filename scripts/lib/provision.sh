# shellcheck shell=bash
# Idempotent provisioning shared by scripts/test and scripts/start. Every function checks first and acts only when
# something is missing, so a second run costs a few hundred milliseconds. Needs log.sh and REPO_ROOT.

export DEBIAN_FRONTEND=noninteractive
# needrestart (when installed) would scan processes after every install: slow, noisy, and nothing to restart here.
export NEEDRESTART_SUSPEND=1

# What the integration tests drive for real (MACHINE-NOTES.md). The tests start private instances of nginx, MariaDB
# and PostgreSQL on random ports; the packages only provide the binaries.
# shellcheck disable=SC2034 # read by scripts/test, which sources this file
TEST_APT_PACKAGES=(
  docker.io        # Docker Engine: client containers, image builds
  nginx            # one vhost per client, `nginx -t` and reload
  mariadb-server   # mariadbd + mariadb-install-db for a private instance
  mariadb-client   # mysqldump / mysql for client dumps
  zstd             # a move's dump crosses compressed between agents that have it
  postgresql-15    # initdb / pg_ctl under /usr/lib/postgresql/15/bin, and the `postgres` user
  git              # the agent checks out the app with simple-git
  busybox-static   # a static sh/httpd/wget: the rootfs of the locally built base images (no registry here)
  iproute2         # `ip` to find the docker bridge gateway
  certbot          # TLS step of the create pipeline (15 small pure-python packages, ~3 MB)
  pebble           # Let's Encrypt's test ACME server, so certbot can run a real flow offline (one package)
  sudo             # the production-parity test installs the agent with its sudo rules (nginx -t / reload)
  curl             # the README's first-client calls, run as written by test/e2e/local-server.test.ts
)

# The pinned pnpm, read from package.json's packageManager so there is one place that names the version.
pnpm_pinned() {
  local pm
  pm=$(node -p 'require("./package.json").packageManager') || die "cannot read packageManager from package.json"
  npx -y "$pm" "$@"
}

ensure_node() {
  command -v node >/dev/null || die "Node.js >= 20.19 is required (not found on PATH)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    die "Node.js >= 20.19 is required, found $(node -v)"
}

apt_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
  [[ $status == 'install ok installed' ]]
}

# ensure_apt_packages PKG...: installs the missing ones; `apt-get update` only runs when something is missing.
ensure_apt_packages() {
  local missing=() pkg
  for pkg in "$@"; do apt_installed "$pkg" || missing+=("$pkg"); done
  ((${#missing[@]})) || return 0
  [[ $EUID -eq 0 ]] || die "missing packages (${missing[*]}): run as root or install them first"
  log "installing apt packages: ${missing[*]}"
  # Packaging scripts would start the system nginx/MariaDB/PostgreSQL/Docker services; nothing here needs them
  # (tests run private instances; ensure_docker starts the daemon itself), so hold service starts during the
  # install with the standard policy-rc.d hook, unless the machine already has one of its own.
  local hold=/usr/sbin/policy-rc.d created=0 status=0
  if [[ ! -e $hold ]]; then
    printf '#!/bin/sh\n# temporary, from alfa scripts/lib/provision.sh\nexit 101\n' >"$hold"
    chmod 755 "$hold"
    created=1
  fi
  apt-get -q update && apt-get -q install -y --no-install-recommends -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" || status=$?
  ((created == 0)) || rm -f "$hold"
  ((status == 0)) || die "apt-get install failed (exit ${status})"
}

# detached CMD ARGS...: starts a daemon that outlives this script, in the background. setsid + nohup: it must not die
# with this script's process group. It keeps stdin, stdout and stderr as the caller redirects them and nothing else:
# any other descriptor the caller had open would stay open as long as the daemon runs. A lock the caller took
# (flock) would stay taken, and a pipe to a log reader waiting for its end would never end (seen: a dockerd started
# under `flock` held the lock after the run). $! is the daemon's pid.
detached() {
  (
    local fd
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      # {fd}>&- closes the descriptor whose number is in $fd (the glob's own is gone already: closing it is a no-op).
      if ((fd > 2)); then exec {fd}>&-; fi
    done
    exec setsid nohup "$@"
  ) &
}

# ensure_docker: makes `docker info` answer, starting the daemon when it does not (no systemd in containers/CI).
ensure_docker() {
  docker info >/dev/null 2>&1 && return 0
  if [[ -d /run/systemd/system ]]; then
    log "starting docker with systemctl"
    systemctl start docker || die "systemctl start docker failed"
  else
    log "starting dockerd (log: /var/log/dockerd.log)"
    detached dockerd >/var/log/dockerd.log 2>&1 </dev/null
  fi
  local deadline=$((SECONDS + 60))
  until docker info >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      tail -n 30 /var/log/dockerd.log >&2 || true
      die "Docker daemon did not answer 'docker info' within 60 s (log above, /var/log/dockerd.log)"
    fi
    sleep 0.5
  done
}

ensure_js_deps() {
  pnpm_pinned install --frozen-lockfile
}

# Generates the Prisma client unless the inputs that shape it (schema, generator script, lock file) are unchanged
# since the last generation: generating costs 2-4 s, and scripts/start runs often.
generate_prisma_client() {
  local out=packages/master/src/generated/prisma stamp
  stamp=$(cat prisma/schema.prisma scripts/prisma-generate.mjs pnpm-lock.yaml | sha256sum)
  if [[ -f $out/.alfa-inputs && $(<"$out/.alfa-inputs") == "$stamp" ]]; then
    return 0
  fi
  node scripts/prisma-generate.mjs
  printf '%s\n' "$stamp" >"$out/.alfa-inputs"
}
