# Scenario helpers shared by the NixOS VM tests (common.nix includes this
# file in every testScript) and tests/systemd/driver.py (a Debian container
# under real systemd). `machine` is the NixOS test driver's Machine, or the
# container's stand-in with the same methods: succeed, fail,
# wait_until_succeeds, wait_for_unit.
import json
import re
import shlex


def inject(machine, user_id, text):
    machine.succeed(f"fake-telegram inject {user_id} {shlex.quote(text)}")


def wait_reply(machine, chat_id, needle, timeout=180):
    return machine.wait_until_succeeds(
        f"fake-telegram wait-reply {chat_id} {shlex.quote(needle)}", timeout=timeout
    )


def env_value(machine, key):
    out = machine.succeed(f"sed -n 's/^{key}=\"\\(.*\\)\"$/\\1/p' /etc/kai/env").strip()
    assert out, f"{key} missing from /etc/kai/env"
    return out


def unit_props(machine, unit, *props):
    out = machine.succeed(f"systemctl show {unit} " + " ".join(f"-p {p}" for p in props))
    return dict(line.split("=", 1) for line in out.strip().splitlines())


def assert_ready_via_notify(machine):
    machine.wait_for_unit("kai.service")
    props = unit_props(machine, "kai", "Type", "ActiveState", "SubState", "NRestarts", "StatusText")
    # A Type=notify unit is "activating" until the daemon sends READY=1.
    assert props["Type"] == "notify", props
    assert props["ActiveState"] == "active" and props["SubState"] == "running", props
    assert props["NRestarts"] == "0", props
    # README: "ready; N active agent session(s)" once connected.
    assert props["StatusText"].startswith("ready"), props


# The kai subcommands the sudoers rules name (nixos-module/lib.nix,
# kaiSubcommands), each with `*` for its arguments.
KAI_SUBCOMMANDS = [
    "reap",
    "inbox-put",
    "workspace-read",
    "workspace-ls",
    "project-dir",
    "inbox-clean",
]


def kai_commands(kai_bin):
    return [f"{kai_bin} {sub} *" for sub in KAI_SUBCOMMANDS]


def sudo_commands(machine, os_user):
    out = machine.succeed("sudo -l -U kai")
    cmds = []
    for line in out.splitlines():
        m = re.match(rf"\s*\({re.escape(os_user)}\)\s+(.*)$", line)
        if m:
            # Drop tags (`NOPASSWD:`) and options (`CWD=*`).
            rest = re.sub(r"\b[A-Z_]+(:|=\S+)\s*", "", m.group(1))
            cmds += [c.strip() for c in rest.split(",") if c.strip()]
    return sorted(cmds)


_runs = [0]


def agent_runs(machine, user_id, script, timeout=180):
    """Has the fake model make this user's agent (the real codex) run the
    shell `script` as the user's account, and returns what codex reported:
    "Process exited with code N … Output: …". The needle is computed by the
    shell, so it never matches the command text that kai shows while the
    command runs ("running `…`")."""
    _runs[0] += 1
    n = _runs[0]
    since = machine.succeed("fake-telegram sent-count").strip()
    inject(machine, user_id, f"run: {script}; echo done-{n}-$((6*7))")
    # Kai's own errors ("⚠️ Could not start the agent: …") end the wait at
    # once, and are the failure message.
    needle = shlex.quote(f"done-{n}-42")
    reply = machine.wait_until_succeeds(
        f"fake-telegram wait-reply {user_id} {needle} --since {since}"
        f" || fake-telegram wait-reply {user_id} '⚠️' --since {since}",
        timeout=timeout,
    )
    assert f"done-{n}-42" in reply, f"kai answered user {user_id} with an error: {reply.strip()}"
    assert "ran:" in reply, f"the agent's reply does not report the command: {reply}"
    return reply


def journal(machine, unit):
    """The unit's journal entries as dicts (`journalctl -o json`)."""
    out = machine.succeed(f"journalctl -u {unit} -o json --no-pager")
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def pids_of(machine, user):
    return machine.succeed(f"pgrep -u {user} || true").split()
