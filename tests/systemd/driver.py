"""The scenarios of tests/systemd/run.sh, run from the host against the booted
container: every command enters it with nsenter and asserts with systemctl,
journalctl, ps and the fakes' own clients. The helpers are the VM tests'
(vm-tests/lib/helpers.py), so both exercise the same scenario logic.

  python3 tests/systemd/driver.py --init-pid PID --scenario scenario.json

Scenarios run in order (each builds on the state the previous one left) and
stop at the first failure, which is reported with the unit's status and
journal. Ends with the line "N passed, M failed".
"""

import argparse
import json
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "vm-tests", "lib"))
sys.dont_write_bytecode = True  # nothing written into the checkout
import helpers as h  # noqa: E402


class Failure(Exception):
    pass


class Container:
    """The subset of the NixOS test driver's Machine that helpers.py uses."""

    def __init__(self, init_pid):
        self.init_pid = str(init_pid)

    def run(self, cmd, timeout=120):
        argv = ["nsenter", "-t", self.init_pid, "-a", "env", "-i",
                "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
                "sh", "-c", cmd]
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"command did not finish within {timeout} s: {cmd}")
        return p.returncode, p.stdout, p.stderr

    def succeed(self, cmd, timeout=120):
        rc, out, err = self.run(cmd, timeout)
        if rc != 0:
            raise Failure(f"command failed (exit {rc}): {cmd}\n{out}{err}".rstrip())
        return out

    def fail(self, cmd, timeout=120):
        rc, out, err = self.run(cmd, timeout)
        if rc == 0:
            raise Failure(f"command succeeded but must fail: {cmd}\n{out}".rstrip())
        return out + err

    def wait_until_succeeds(self, cmd, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            rc, out, err = self.run(cmd, timeout=max(5, min(60, timeout)))
            if rc == 0:
                return out
            if time.monotonic() > deadline:
                raise Failure(f"not true within {timeout} s: {cmd}\n{out}{err}".rstrip())
            time.sleep(0.5)

    def wait_for_unit(self, unit, timeout=120):
        """Active, like the NixOS driver's; a failed unit fails at once."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.succeed(f"systemctl show -p ActiveState --value {unit}").strip()
            if state == "active":
                return
            if state == "failed" or time.monotonic() > deadline:
                raise Failure(f"{unit} is {state}, not active:\n" + self.run(
                    f"systemctl status --no-pager -n 20 {unit}")[1])
            time.sleep(0.5)


def check(cond, message):
    if not cond:
        raise Failure(message)


def wait_for(what, fn, timeout):
    """Polls fn() until it returns something true; `what` names the condition."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {timeout} s")
        time.sleep(0.5)


class Scenarios:
    def __init__(self, m, sc):
        self.m = m
        self.sc = sc
        self.users = sc["users"]
        self.accounts = sorted({u["account"] for u in sc["users"]})
        self.thread = None

    def props(self, *names):
        return h.unit_props(self.m, "kai", *names)

    def kai_lines(self):
        """kai's own journal entries (not systemd's about the unit)."""
        return [e for e in h.journal(self.m, "kai")
                if e.get("SYSLOG_IDENTIFIER") == "kai"]

    # -- 1 ------------------------------------------------------------------
    def start_returns_after_ready(self):
        m = self.m
        m.succeed("systemctl start fake-models")
        m.wait_for_unit("fake-models")
        # Without a Bot API kai cannot send READY=1: the unit stays activating.
        m.succeed("systemctl start --no-block kai")
        p = wait_for("kai retrying Telegram", lambda: (lambda p: p if "retrying Telegram" in p["StatusText"] else None)(
            self.props("ActiveState", "StatusText")), 60)
        check(p["ActiveState"] == "activating",
              f"kai was {p['ActiveState']} before it reached Telegram (READY=1 too early?): {p}")
        m.succeed("systemctl start fake-telegram")
        m.wait_for_unit("fake-telegram")
        # Blocks until the start job finishes, i.e. until READY=1.
        m.succeed("systemctl start kai", timeout=120)
        h.assert_ready_via_notify(m)
        # "ready" with READY=1, then the poller's "ready; N active agent
        # session(s)", as the README says.
        wait_for("StatusText 'ready; 0 active agent session(s)'", lambda: self.props(
            "StatusText")["StatusText"] == "ready; 0 active agent session(s)", 30)
        lines = [e["MESSAGE"] for e in self.kai_lines()]
        check(any("connected to Telegram" in line for line in lines),
              f"kai did not log 'connected to Telegram': {lines[-10:]}")

    # -- 2 ------------------------------------------------------------------
    def token_only_through_load_credential(self):
        m, token = self.m, self.sc["token"]
        m.wait_until_succeeds(f"fake-telegram tokens | grep -qF {shlex.quote(token)}", timeout=30)
        m.fail(f"grep -rF {shlex.quote(token)} /etc/kai /etc/systemd/system")
        unit = m.succeed("systemctl cat kai")
        check(token not in unit, "the bot token is in the unit")
        check("LoadCredential=telegram-bot-token:" + self.sc["tokenFile"] in unit,
              f"the unit has no LoadCredential for the token:\n{unit}")
        env = m.succeed("systemctl show -p Environment --value kai")
        check(token not in env, f"the bot token is in the unit's environment: {env}")
        pid = self.props("MainPID")["MainPID"]
        # The rendered LimitNOFILE reaches the running kai: the webhook
        # listener's connection cap is a quarter of it at most (design.md).
        limits = m.succeed(f"grep '^Max open files' /proc/{pid}/limits").split()
        check(limits[3:5] == ["8192", "8192"],
              f"kai's open-files limit is not the unit's LimitNOFILE=8192: {limits}")
        environ = m.succeed(f"tr '\\0' '\\n' < /proc/{pid}/environ")
        check("CREDENTIALS_DIRECTORY=" in environ, "kai runs without $CREDENTIALS_DIRECTORY")
        check(token not in environ and "TELEGRAM_BOT_TOKEN" not in environ,
              "kai got the token through its environment")

    # -- 3 ------------------------------------------------------------------
    def round_trip_per_account(self):
        m, data = self.m, self.sc["dataDir"]
        for u in self.users:
            acct, ws = u["account"], u["workspace"]
            reply = h.agent_runs(
                m, u["telegramId"],
                f'id -un && echo made > ws-proof && echo made > "$TMPDIR/tmp-proof-{u["name"]}"')
            check("exited with code 0" in reply and f"Output: {acct}" in reply,
                  f"{u['name']}'s agent did not run as {acct} or its writes failed: {reply}")
            for path in (f"{ws}/ws-proof", f"{data}/tmp/{acct}/tmp-proof-{u['name']}"):
                # UMask=0077 reaches the agents: their files are private (README).
                got = m.succeed(f"stat -c '%U %a' {path}").strip()
                check(got == f"{acct} 600", f"{path}: owner and mode {got!r}, want '{acct} 600'")
            # kai lists the workspace as the account (`sudo … kai
            # workspace-ls`, the rendered rule) under the unit's hardening.
            since = m.succeed("fake-telegram sent-count").strip()
            h.inject(m, u["telegramId"], "/ls")
            m.wait_until_succeeds(
                f"fake-telegram wait-reply {u['telegramId']} 'ws-proof  (5 B)' --since {since}",
                timeout=60)
            # The agent runs inside kai's unit, so under its hardening.
            pids = h.pids_of(m, acct)
            check(pids, f"no process of {acct} after its reply")
            cg = m.succeed(f"cat /proc/{pids[0]}/cgroup")
            check("/kai.service" in cg, f"{acct}'s agent is not in kai.service: {cg}")
        m.fail("pgrep -u kai -f app-server")

    # -- 4 ------------------------------------------------------------------
    def agent_confined(self):
        m = self.m
        u = self.users[0]
        acct = u["account"]
        targets = ["/srv/kai-open/agent", "/run/lock/agent", "/etc/agent", "/usr/local/agent",
                   f"{self.sc['dataDir']}/agent"]
        # Outside the unit the account may write the world-writable ones: only
        # the unit's hardening can stop the agent there.
        for t in targets[:2]:
            m.succeed(f"runuser -u {acct} -- sh -c 'echo x > {t}' && rm {t}")
        script = ("for p in " + " ".join(targets) + "; do "
                  "if (echo x > $p) 2>/dev/null; then echo WROTE $p; else echo DENIED $p; fi; done; "
                  "if cat /run/credentials/kai.service/telegram-bot-token; then echo READ-TOKEN; "
                  "else echo DENIED-TOKEN; fi")
        reply = h.agent_runs(m, u["telegramId"], script)
        check("WROTE" not in reply and "READ-TOKEN" not in reply and self.sc["token"] not in reply,
              f"the agent of {acct} wrote or read what the unit must forbid: {reply}")
        for t in targets:
            check(f"DENIED {t}" in reply, f"no answer for {t}: {reply}")
            m.fail(f"test -e {t}")
        check("DENIED-TOKEN" in reply, f"no answer for the credential: {reply}")

    # -- 5 ------------------------------------------------------------------
    def watchdog_restarts_and_thread_continues(self):
        m = self.m
        u = self.users[0]
        started = [e for e in self.kai_lines() if e["MESSAGE"] == "started codex thread"
                   and e.get("F_CHAT") == str(u["telegramId"])]
        check(len(started) == 1, f"expected one codex thread for {u['name']}: {started}")
        thread = started[0]["F_THREAD"]
        p = self.props("MainPID", "NRestarts")
        check(p["NRestarts"] == "0", f"kai restarted before the watchdog test: {p}")
        old = {acct: h.pids_of(m, acct) for acct in self.accounts}
        check(all(old.values()), f"every account has an agent before the watchdog test: {old}")
        m.succeed(f"kill -STOP {p['MainPID']}")
        wait_for("the watchdog restarting kai", lambda: (lambda q: q["NRestarts"] == "1"
                 and q["ActiveState"] == "active" and q["MainPID"] not in ("0", p["MainPID"]))(
            self.props("NRestarts", "ActiveState", "MainPID")), 120)
        m.succeed("journalctl -u kai --no-pager | grep -F 'Watchdog timeout'")
        # The restart killed the old agents: none is left behind.
        for acct, pids in old.items():
            left = set(pids) & set(h.pids_of(m, acct))
            check(not left, f"processes of {acct} from before the restart are still there: {left}")
        h.inject(m, u["telegramId"], "after the watchdog")
        reply = h.wait_reply(m, u["telegramId"], "PONG responses gpt-5.5: after the watchdog")
        check("after the watchdog" in reply, reply)
        resumed = [e for e in self.kai_lines() if e["MESSAGE"] == "resumed codex thread"]
        check([e.get("F_THREAD") for e in resumed] == [thread],
              f"the next message did not resume thread {thread}: {resumed}")
        requests = json.loads(m.succeed("fake-models requests"))
        last = [r for r in requests if r["text"] == "after the watchdog"][-1]
        check(any(t.startswith("run: id -un") for t in last["history"]),
              f"the model did not see the earlier conversation: {last['history']}")

    # -- 6 ------------------------------------------------------------------
    def stop_leaves_no_agent(self):
        m = self.m
        # Three stops with an agent of every account running: with the
        # default KillMode the reap helpers were signalled too, and kai logged
        # a false sudoers error in about half the stops.
        for cycle in range(3):
            if cycle:
                m.succeed("systemctl start kai", timeout=120)
            for u in self.users[(1 if cycle == 0 else 0):]:
                h.inject(m, u["telegramId"], f"one more {cycle}")
                h.wait_reply(m, u["telegramId"], f"PONG responses gpt-5.5: one more {cycle}")
            for acct in self.accounts:
                check(h.pids_of(m, acct), f"{acct} has no agent running before stop {cycle + 1}")
            cursor = m.succeed("journalctl -n 0 --show-cursor --no-pager"
                               " | sed -n 's/^-- cursor: //p'").strip()
            m.succeed("systemctl stop kai", timeout=120)
            for acct in self.accounts:
                check(not h.pids_of(m, acct),
                      f"{acct} still has processes after systemctl stop kai ({cycle + 1})")
            p = self.props("ActiveState", "Result")
            check(p["ActiveState"] == "inactive" and p["Result"] == "success",
                  f"kai did not stop cleanly: {p}")
            after = m.succeed(f"journalctl -u kai --after-cursor={shlex.quote(cursor)} --no-pager")
            failed_reaps = [line for line in after.splitlines() if "could not stop" in line]
            check(not failed_reaps, f"stop {cycle + 1} logged a failed reap (were kai's reap"
                  " helpers signalled? KillMode must be mixed):\n" + "\n".join(failed_reaps))
        # Journald has kai's lines with the chat and OS user as fields.
        for u in self.users:
            tagged = [e for e in self.kai_lines() if e.get("F_CHAT") == str(u["telegramId"])
                      and e.get("F_OS_USER") == u["account"]]
            check(tagged, f"no journal entry of kai with F_CHAT={u['telegramId']} F_OS_USER={u['account']}")

    # -- 7 ------------------------------------------------------------------
    def config_error_fails_once(self):
        m = self.m
        m.succeed("mkdir -p /run/systemd/system/kai.service.d && printf '[Service]\\n"
                  "Environment=DEFAULT_MODEL=opus\\n' > /run/systemd/system/kai.service.d/config-error.conf"
                  " && systemctl daemon-reload")
        try:
            m.fail("systemctl start kai", timeout=120)
            # Restart=on-failure would leave it "activating (auto-restart)".
            p = wait_for("kai settled after a configuration error", lambda: (lambda q: q if q["SubState"] in
                         ("failed", "auto-restart") else None)(self.props(
                             "ActiveState", "SubState", "ExecMainStatus", "NRestarts", "Result")), 60)
            check(p["SubState"] == "failed" and p["ExecMainStatus"] == "78",
                  f"a configuration error must fail the unit with status 78, not restart it: {p}")
            m.succeed("journalctl -u kai --no-pager | grep -F 'refusing to start'")
        finally:
            m.succeed("rm -rf /run/systemd/system/kai.service.d && systemctl daemon-reload"
                      " && systemctl reset-failed kai")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init-pid", required=True)
    ap.add_argument("--scenario", required=True)
    args = ap.parse_args()
    m = Container(args.init_pid)
    s = Scenarios(m, json.load(open(args.scenario)))
    steps = [
        ("systemctl start kai returns only after READY=1; StatusText as the README says",
         s.start_returns_after_ready),
        ("the bot token arrives only through LoadCredential", s.token_only_through_load_credential),
        ("a round trip per agent account writes its workspace and TMPDIR under the unit; /ls lists it",
         s.round_trip_per_account),
        ("an agent cannot read the credential or write outside its paths", s.agent_confined),
        ("a SIGSTOPped kai is restarted by the watchdog and resumes the thread",
         s.watchdog_restarts_and_thread_continues),
        ("systemctl stop leaves no agent; journald has chat and OS user fields",
         s.stop_leaves_no_agent),
        ("a configuration error fails the unit once (exit 78), no restart loop",
         s.config_error_fails_once),
    ]
    passed = failed = 0
    for name, fn in steps:
        t0 = time.monotonic()
        try:
            fn()
        except (Failure, AssertionError) as e:
            failed += 1
            print(f"FAIL {name}\n     " + str(e).replace("\n", "\n     "), flush=True)
            print("--- systemctl status kai:\n" + m.run("systemctl status --no-pager -n 0 kai")[1])
            print("--- journalctl -u kai (last 40 lines):\n" + m.run(
                "journalctl -u kai --no-pager -n 40 -o short-monotonic")[1])
            break
        passed += 1
        print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
    skipped = len(steps) - passed - failed
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
