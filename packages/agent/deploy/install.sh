#!/usr/bin/env bash
# Installs the Alfa Cloud agent on a Debian/Ubuntu server, from a checkout of the repository with its
# dependencies installed (e.g. /opt/alfa-cloud after `pnpm install`), readable by the agent's user. Run as root:
#   packages/agent/deploy/install.sh [--source /opt/alfa-cloud] [--listen PORT]
# It creates the system user alfa-agent (in the docker group), its private state directory, the directories nginx
# and the agent share (sites, pages), the narrow sudo rules, the `alfa-agent` command and the systemd unit.
# --listen sets where client sites listen (ALFA_AGENT_NGINX_LISTEN in /etc/alfa-agent/agent.env; default 80).
# Running it again is harmless. It does not enroll or start the agent: it prints how.
set -euo pipefail

readonly AGENT_USER=alfa-agent
readonly STATE_DIR=/var/lib/alfa-agent
readonly ACME_WEBROOT=/var/www/alfa-acme
# Read by nginx's workers (www-data on Debian), written by the agent: never under the 0700 state directory.
readonly PAGES_DIR=/var/www/alfa-pages
# One vhost per client, written by the agent, included from nginx's http block through conf.d.
readonly SITES_DIR=/etc/nginx/alfa.d
readonly SITES_INCLUDE=/etc/nginx/conf.d/alfa-agent.conf
readonly BACKUP_DIR=/var/backups/alfa
readonly ENV_FILE=/etc/alfa-agent/agent.env
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(cd "${DEPLOY_DIR}/../../.." && pwd)"
LISTEN=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --source) SOURCE="$(cd "${2:?--source needs a directory}" && pwd)"; shift 2 ;;
    --listen) LISTEN="${2:?--listen needs a port or address:port}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

fail() { echo "install.sh: $*" >&2; exit 1; }

[[ ${EUID} -eq 0 ]] || fail "run as root"
command -v node >/dev/null || fail "node (20 or newer) is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || fail "node 20 or newer is required"
getent group docker >/dev/null || fail "the docker group does not exist: install Docker Engine first"
command -v visudo >/dev/null || fail "visudo not found: install sudo first"
[[ -f "${SOURCE}/packages/agent/bin/alfa-agent.mjs" ]] || fail "no agent under ${SOURCE} (use --source DIR)"
[[ -x /usr/sbin/nginx && -d /etc/nginx/conf.d ]] || fail "nginx (/usr/sbin/nginx, /etc/nginx/conf.d) is not installed"
if [[ -n ${LISTEN} && ! ${LISTEN} =~ ^([0-9.]+:|\[[0-9a-fA-F:]+\]:)?[0-9]{1,5}$ ]]; then
  fail "--listen takes a port or address:port, not ${LISTEN}"
fi

# A system user with no login shell; the docker group gives it the Docker socket.
if ! id -u "${AGENT_USER}" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "${STATE_DIR}" --no-create-home --shell /usr/sbin/nologin "${AGENT_USER}"
fi
usermod -a -G docker "${AGENT_USER}"

# A move carries a MariaDB database as its tables' InnoDB files (packages/agent/README.md, "Moves and copies") when
# the agent can reach them: as a member of MariaDB's group, with MariaDB making new database directories open to
# that group (UMASK_DIR; its files are group read-write by default). Takes effect for databases made after
# MariaDB's next restart; until then, and for older databases, moves carry SQL, as without this.
if getent group mysql >/dev/null; then
  usermod -a -G mysql "${AGENT_USER}"
  install -d -m 0755 -o root -g root /etc/systemd/system/mariadb.service.d
  printf '%s\n' '# Installed by alfa-agent install.sh: new database directories open to the mysql group (alfa-agent).' \
    '[Service]' 'Environment=UMASK_DIR=0770' >/etc/systemd/system/mariadb.service.d/alfa-agent.conf
  chmod 0644 /etc/systemd/system/mariadb.service.d/alfa-agent.conf
fi

# It must be able to read the code it runs (a checkout in a private directory, e.g. a CI's mktemp -d, is not).
runuser -u "${AGENT_USER}" -- test -r "${SOURCE}/packages/agent/bin/alfa-agent.mjs" ||
  fail "${AGENT_USER} cannot read ${SOURCE}: put the repository where it can (e.g. /opt/alfa-cloud) and use --source"

# Its state (credential, identity, journal) is private to it.
install -d -m 0700 -o "${AGENT_USER}" -g "${AGENT_USER}" "${STATE_DIR}" "${BACKUP_DIR}"
install -d -m 0755 -o root -g root /etc/alfa-agent "${ACME_WEBROOT}"
# What nginx's workers read (pages, flag files) and what nginx's master loads (vhosts): the agent writes, nginx reads.
install -d -m 0755 -o "${AGENT_USER}" -g "${AGENT_USER}" "${PAGES_DIR}" "${SITES_DIR}"
if [[ ! -f ${SITES_INCLUDE} || -n ${LISTEN} ]]; then
  {
    printf '# Installed by alfa-agent install.sh: the vhosts the agent writes, one per client.\n'
    printf 'include %s/*.conf;\n' "${SITES_DIR}"
    # On a port other than 80 (where Debian's default site is the default server), the first client's vhost would
    # answer every unknown name, e.g. a client's old domain after a move: a default server that answers 404.
    if [[ -n ${LISTEN} && ${LISTEN##*:} != 80 ]]; then
      printf 'server {\n  listen %s default_server;\n  server_name _;\n  return 404;\n}\n' "${LISTEN}"
    fi
  } >"${SITES_INCLUDE}"
  chmod 0644 "${SITES_INCLUDE}"
fi
/usr/sbin/nginx -t -q || fail "nginx -t fails with ${SITES_INCLUDE} in place (see above); fix nginx's configuration"

# Operator settings the unit reads (the master URL, the DB admin URLs: secrets, so root only).
if [[ ! -f ${ENV_FILE} ]]; then
  install -m 0600 -o root -g root /dev/null "${ENV_FILE}"
  printf '# Settings of the alfa-agent unit (packages/agent/README.md, Configuration), e.g.\n' >>"${ENV_FILE}"
  printf '# ALFA_AGENT_DB_MARIADB_URL=mysql://alfa_admin:PASSWORD@127.0.0.1:3306\n' >>"${ENV_FILE}"
fi
if [[ -n ${LISTEN} ]]; then
  sed -i '/^ALFA_AGENT_NGINX_LISTEN=/d' "${ENV_FILE}"
  printf 'ALFA_AGENT_NGINX_LISTEN=%s\n' "${LISTEN}" >>"${ENV_FILE}"
fi

# Sudo rules: validated before they are installed, because a broken sudoers file can lock root out of sudo.
sudoers_tmp="$(mktemp)"
trap 'rm -f "${sudoers_tmp}"' EXIT
cp "${DEPLOY_DIR}/alfa-agent.sudoers" "${sudoers_tmp}"
visudo -cf "${sudoers_tmp}" >/dev/null || fail "the sudoers rules do not validate; nothing installed"
install -m 0440 -o root -g root "${sudoers_tmp}" /etc/sudoers.d/alfa-agent

ln -sfn "${SOURCE}/packages/agent/bin/alfa-agent.mjs" /usr/local/bin/alfa-agent
install -m 0644 -o root -g root "${DEPLOY_DIR}/alfa-agent.service" /etc/systemd/system/alfa-agent.service
if [[ -d /run/systemd/system ]]; then
  systemctl daemon-reload
else
  echo "install.sh: systemd is not running here: the unit is installed but not loaded" >&2
fi

cat <<NEXT
The agent is installed. Next steps:
  1. Check this server:   alfa-agent doctor
  2. Enroll it, with the token from POST /servers (meta.enrollment.token), as the agent's user:
       sudo -u ${AGENT_USER} ALFA_AGENT_STATE_DIR=${STATE_DIR} alfa-agent enroll --master https://MASTER:PORT --token TOKEN
  3. For moves that carry InnoDB files rather than SQL (when this server runs MariaDB): restart MariaDB once
     (systemctl restart mariadb) so that the databases it makes are open to ${AGENT_USER} (its group, mysql).
  4. Start it now and at boot:
       systemctl enable --now alfa-agent
     Logs: journalctl -u alfa-agent -f
NEXT
