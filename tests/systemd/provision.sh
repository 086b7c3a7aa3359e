#!/bin/sh
# Runs inside the booted container (tests/systemd/run.sh): installs what
# lib.nix rendered, the way the NixOS module would have it on a host.
#   /opt/kai-test   rendered files and the built kai (read-only bind mount)
#   /opt/kai-tools  the checkout's ./.tools: Node packages, the pinned codex
#   /opt/kai-fakes  vm-tests/lib: the fakes the VM tests run
set -eu
S=/opt/kai-test

# The service account, like the module's (home = data dir, no login).
useradd --system --user-group --home-dir /var/lib/kai --no-create-home \
  --shell /usr/sbin/nologin kai
# The agent accounts, each configured for the fake Responses API.
while read -r account home; do
  useradd --user-group --create-home --home-dir "$home" --shell /bin/bash "$account"
  install -d -m 0700 -o "$account" -g "$account" "$home/.codex"
  install -m 0600 -o "$account" -g "$account" "$S/codex-config.toml" "$home/.codex/config.toml"
done <"$S/accounts"

install -d -m 0755 /etc/kai
install -m 0644 "$S/env" /etc/kai/env
install -m 0644 "$S/users.json" /etc/kai/users.json

# sudoers: checked alone, then as part of the whole policy.
install -m 0440 "$S/sudoers" /etc/sudoers.d/kai
visudo -cf /etc/sudoers.d/kai
visudo -c >/dev/null

install -m 0644 "$S/tmpfiles.conf" /etc/tmpfiles.d/kai.conf
systemd-tmpfiles --create /etc/tmpfiles.d/kai.conf

# The bot token: root-only, read by systemd for LoadCredential=.
token_file=$(cat "$S/tokenFile")
install -d -m 0700 "$(dirname "$token_file")"
(umask 0377 && cat "$S/token" >"$token_file")

for fake in telegram models; do
  printf '#!/bin/sh\nexec python3 /opt/kai-fakes/fake_%s.py "$@"\n' "$fake" >/usr/local/bin/fake-$fake
  chmod 0755 /usr/local/bin/fake-$fake
done
install -m 0644 "$S/kai.service" "$S/fake-telegram.service" "$S/fake-models.service" \
  /etc/systemd/system/
# Only to break the unit on purpose (KAI_SYSTEMD_TEST_DROPIN of run.sh).
if grep -q . "$S/dropin.conf"; then
  install -d /etc/systemd/system/kai.service.d
  { echo '[Service]' && cat "$S/dropin.conf"; } >/etc/systemd/system/kai.service.d/broken.conf
fi
systemctl daemon-reload

# A directory every account may write, outside the unit's writable paths:
# the agents' writes there must fail because of the unit's hardening alone.
install -d -m 1777 /srv/kai-open
