#!/usr/bin/env bash
# The NixOS module's service under real systemd: boots a minimal Debian with
# systemd as PID 1 (systemd-nspawn), installs the unit, env, users file,
# sudoers and tmpfiles lines that nixos-module/lib.nix renders, the built kai,
# the pinned codex and the VM tests' loopback fakes, then runs the scenarios
# of tests/systemd/driver.py against it. Run as root from anywhere:
#   bash tests/systemd/run.sh
# The Debian tree is cached in target/systemd-test/ (first run: debootstrap,
# about 2 minutes; later runs reuse it, read-only under a tmpfs overlay).
# Everything it starts is stopped on exit, failure or not.
# KAI_SYSTEMD_TEST_DROPIN='NoNewPrivileges=true' (lines of a [Service]
# drop-in for kai.service) breaks the rendered unit on purpose, to see which
# scenario catches it and how it reads.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
say() { echo "systemd-test: $*"; }
die() {
  echo "systemd-test: FAIL: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root (it boots a container)"
started=$(date +%s)

# --- tools ------------------------------------------------------------------
need=()
command -v systemd-nspawn >/dev/null || need+=(systemd-container)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v nsenter >/dev/null || need+=(util-linux)
command -v jq >/dev/null || need+=(jq)
command -v python3 >/dev/null || need+=(python3)
command -v nix-instantiate >/dev/null || need+=(nix-bin)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
codex=.tools/node_modules/.bin/codex
[ -x "$codex" ] || die "$codex is missing: run scripts/setup.sh first"
cargo build --locked --quiet --bin kai
kai_bin=target/debug/kai

# --- the Debian tree, cached ------------------------------------------------
# Debian's own mirror as this host's apt is configured (never hard-coded), and
# this host's release.
# shellcheck source=/dev/null
. /etc/os-release
suite=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
mirror=$(python3 tests/systemd/mirror.py "$suite") || die "no apt source for $suite found in /etc/apt"
# sudo and the agents' Node; python3 runs the fakes; procps for pgrep.
packages=systemd,systemd-sysv,dbus,sudo,python3,procps,nodejs
# Bump when the tree is prepared differently, so the cache is rebuilt.
recipe="v1 $suite $packages"
key=$(printf '%s' "$recipe" | sha256sum | cut -c1-12)
state=target/systemd-test
rootfs=$state/rootfs-$key
mkdir -p "$state"
if [ ! -e "$rootfs/.complete" ]; then
  say "building the Debian $suite tree (debootstrap, once; cached in $rootfs)"
  rm -rf "$rootfs.tmp"
  ok=0
  for try in 1 2; do
    if timeout 900 debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs.tmp" "$mirror" \
      >"$state/debootstrap.log" 2>&1; then
      ok=1
      break
    fi
    say "debootstrap failed (try $try): $(tail -n 3 "$state/debootstrap.log" | tr '\n' ' ')"
    rm -rf "$rootfs.tmp"
  done
  [ "$ok" = 1 ] || die "debootstrap failed twice; see $state/debootstrap.log"
  # No consoles to serve, no timers that would reach for the network.
  for unit in getty@tty1.service console-getty.service apt-daily.timer apt-daily-upgrade.timer \
    dpkg-db-backup.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer systemd-pstore.service; do
    ln -sf /dev/null "$rootfs.tmp/etc/systemd/system/$unit"
  done
  # sudo resolves the host name: keep it local.
  printf 'kai-test\n' >"$rootfs.tmp/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 kai-test\n' >"$rootfs.tmp/etc/hosts"
  touch "$rootfs.tmp/.complete"
  for old in "$state"/rootfs-*; do
    [ "$old" = "$rootfs.tmp" ] || rm -rf "$old" # trees of an older recipe
  done
  mv "$rootfs.tmp" "$rootfs"
fi
say "Debian tree ready ($(($(date +%s) - started)) s)"

# --- what lib.nix renders, staged for the container --------------------------
run=$(mktemp -d "$state/run.XXXXXX")
stage=$run/stage
mkdir -p "$stage/bin"
nspawn_pid=
driver_ran=
cleanup() {
  local rc=$?
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # SIGTERM asks the container's systemd to power off; SIGKILL if it hangs.
    kill -TERM "$nspawn_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$nspawn_pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
      say "the container did not power off within 30 s; killing it"
      kill -KILL "$nspawn_pid" 2>/dev/null || true
    fi
    wait "$nspawn_pid" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ] && [ -z "$driver_ran" ] && [ -s "$run/nspawn.log" ]; then
    echo "--- last lines of the container's console ($run/nspawn.log):" >&2
    tail -n 30 "$run/nspawn.log" >&2
  fi
  if [ "$rc" = 0 ]; then
    rm -rf "$run"
  else
    rm -rf "${stage:?}/bin"
    echo "systemd-test: logs kept in $run" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nix-instantiate --eval --strict --json tests/systemd/render.nix >"$run/render.json"
for file in $(jq -r 'keys[]' "$run/render.json"); do
  jq -j --arg k "$file" '.[$k]' "$run/render.json" >"$stage/$file"
done
cp tests/systemd/provision.sh "$stage/"
cp "$kai_bin" "$stage/bin/kai"
printf '%s\n' "${KAI_SYSTEMD_TEST_DROPIN:-}" >"$stage/dropin.conf"
chmod -R a+rX "$stage"
chmod 0755 "$run" "$stage"

# --- boot ----------------------------------------------------------------------
# The tree stays read-only under a tmpfs overlay (--volatile=overlay), so the
# cache is never changed by a run. A private mount namespace with a tmpfs on
# /run/systemd/nspawn keeps nspawn's runtime files off the host; cgroup v2
# inside; no network but the container's own loopback.
mkdir -p /run/systemd/nspawn
# shellcheck disable=SC2016 # $0..$3 expand in the inner shell
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 unshare -m --propagation private sh -c '
  mount -t tmpfs tmpfs /run/systemd/nspawn
  exec systemd-nspawn --quiet -D "$0" --volatile=overlay -b --register=no --keep-unit \
    --console=passive --private-network --hostname=kai-test \
    --bind-ro="$1:/opt/kai-test" --bind-ro="$2:/opt/kai-tools" --bind-ro="$3:/opt/kai-fakes"
' "$repo/$rootfs" "$repo/$stage" "$repo/.tools" "$repo/vm-tests/lib" >"$run/nspawn.log" 2>&1 </dev/null &
nspawn_pid=$!

# The container's PID 1 is the child of nspawn (its subreaper) running systemd.
init_pid=
for _ in $(seq 1 300); do
  kill -0 "$nspawn_pid" 2>/dev/null || die "systemd-nspawn exited at once: $(tail -n 5 "$run/nspawn.log")"
  for p in $(pgrep -P "$nspawn_pid" || true); do
    if [ "$(awk '/^NSpid:/ {print $NF}' "/proc/$p/status" 2>/dev/null)" = 1 ]; then init_pid=$p; fi
  done
  [ -n "$init_pid" ] && break
  sleep 0.2
done
[ -n "$init_pid" ] || die "the container's init did not start within 60 s"
inside() { timeout 300 nsenter -t "$init_pid" -a env -i PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# systemctl needs the manager's socket, which PID 1 creates a moment later.
for _ in $(seq 1 300); do
  inside test -S /run/systemd/private && break
  sleep 0.2
done
state_now=$(inside timeout 120 systemctl is-system-running --wait || true)
case $state_now in
  running) ;;
  *) die "the container did not boot cleanly (state: ${state_now:-none}): $(inside systemctl --failed --no-legend --no-pager || true)" ;;
esac
say "container booted ($(($(date +%s) - started)) s)"

inside sh /opt/kai-test/provision.sh >"$run/provision.log" 2>&1 ||
  die "provisioning failed: $(tail -n 20 "$run/provision.log")"

driver_ran=1
python3 tests/systemd/driver.py --init-pid "$init_pid" --scenario "$stage/scenario.json"
say "done in $(($(date +%s) - started)) s"
