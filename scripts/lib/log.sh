# shellcheck shell=bash
# Logging and timing shared by scripts/test and scripts/start. Output goes to stderr so that a caller capturing a
# command's stdout never gets our chatter mixed in.

log() { printf '[alfa %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

die() {
  log "error: $*"
  exit 1
}

now_ms() { date +%s%3N; }

# timed LABEL CMD...: runs CMD and logs how long it took, so slow provisioning steps show up in CI logs.
# It deliberately does not catch a failure: calling CMD in an `||` context would switch off `set -e` inside the
# shell functions it runs, and a provisioning step that fails must stop the script.
timed() {
  local label=$1 start
  shift
  start=$(now_ms)
  "$@"
  log "${label}: $(($(now_ms) - start)) ms"
}

# run_check LABEL CMD...: runs one external command, logs its duration and returns its exit status, so that the
# caller can run every check (lint, typecheck, tests) and report all failures at once instead of the first.
run_check() {
  local label=$1 start status=0
  shift
  start=$(now_ms)
  "$@" || status=$?
  log "${label}: $(($(now_ms) - start)) ms, $([[ $status -eq 0 ]] && echo ok || echo "FAILED (exit ${status})")"
  return "$status"
}
