#!/usr/bin/env bash
# Installs the Alfa Cloud agent on a Debian/Ubuntu server, from a checkout of the repository with its
# dependencies installed (e.g. /opt/alfa-cloud after `pnpm install`). Run as root:
#   packages/agent/deploy/install.sh [--source /opt/alfa-cloud]
# It creates the system user alfa-agent (in the docker group), its private state directory, the narrow sudo rules,
# the `alfa-agent` command and the systemd unit. It does not enroll or start the agent: it prints how.
set -euo pipefail

readonly AGENT_USER=alfa-agent
readonly STATE_DIR=/var/lib/alfa-agent
readonly ACME_WEBROOT=/var/www/alfa-acme
DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SOURCE="$(cd "${DEPLOY_DIR}/../../.." && pwd)"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --source) SOURCE="$(cd "${2:?--source needs a directory}" && pwd)"; shift 2 ;;
    -h|--help) sed -n '2,7p' "${BASH_SOURCE[0]}"; exit 0 ;;
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

# A system user with no login shell; the docker group gives it the Docker socket.
if ! id -u "${AGENT_USER}" >/dev/null 2>&1; then
  useradd --system --user-group --home-dir "${STATE_DIR}" --no-create-home --shell /usr/sbin/nologin "${AGENT_USER}"
fi
usermod -a -G docker "${AGENT_USER}"

# Its state (credential, identity, journal) is private to it.
install -d -m 0700 -o "${AGENT_USER}" -g "${AGENT_USER}" "${STATE_DIR}"
install -d -m 0755 -o root -g root /etc/alfa-agent "${ACME_WEBROOT}"

# Sudo rules: validated before they are installed, because a broken sudoers file can lock root out of sudo.
sudoers_tmp="$(mktemp)"
trap 'rm -f "${sudoers_tmp}"' EXIT
cp "${DEPLOY_DIR}/alfa-agent.sudoers" "${sudoers_tmp}"
visudo -cf "${sudoers_tmp}" >/dev/null || fail "the sudoers rules do not validate; nothing installed"
install -m 0440 -o root -g root "${sudoers_tmp}" /etc/sudoers.d/alfa-agent

ln -sfn "${SOURCE}/packages/agent/bin/alfa-agent.mjs" /usr/local/bin/alfa-agent
install -m 0644 -o root -g root "${DEPLOY_DIR}/alfa-agent.service" /etc/systemd/system/alfa-agent.service
systemctl daemon-reload

cat <<NEXT
The agent is installed. Next steps:
  1. Check this server:   alfa-agent doctor
  2. Enroll it, with the token from POST /servers (meta.enrollment.token), as the agent's user:
       sudo -u ${AGENT_USER} ALFA_AGENT_STATE_DIR=${STATE_DIR} alfa-agent enroll --master https://MASTER:PORT --token TOKEN
  3. Start it now and at boot:
       systemctl enable --now alfa-agent
     Logs: journalctl -u alfa-agent -f
NEXT
