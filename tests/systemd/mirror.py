"""Prints the URL of the Debian archive this host's apt uses for SUITE, so
debootstrap fetches from the same mirror (never a hard-coded host).

  python3 tests/systemd/mirror.py bookworm

Reads /etc/apt/sources.list.d/*.sources (deb822) and the one-line
/etc/apt/sources.list and /etc/apt/sources.list.d/*.list; exits 1 if no
enabled `deb` source serves SUITE itself (not -security or -updates)."""

import glob
import sys


def deb822(path):
    """Yields (types, uris, suites) of each stanza."""
    stanza = {}
    for line in open(path, encoding="utf-8", errors="replace").read().splitlines() + [""]:
        if not line.strip():
            if stanza:
                yield stanza
            stanza = {}
        elif line.startswith("#"):
            continue
        elif line[0] in " \t" and stanza:
            continue  # a continuation line (e.g. an inline key): not needed
        elif ":" in line:
            key, value = line.split(":", 1)
            stanza[key.strip().lower()] = value.split()


def one_line(path):
    for line in open(path, encoding="utf-8", errors="replace"):
        words = line.split("#", 1)[0].split()
        if len(words) >= 3 and words[0] == "deb":
            words = [w for w in words[1:] if not w.startswith("[")]  # [options]
            if len(words) >= 2:
                yield {"types": ["deb"], "uris": [words[0]], "suites": [words[1]]}


def main(suite):
    stanzas = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        stanzas += deb822(path)
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        try:
            stanzas += one_line(path)
        except OSError:
            pass
    for s in stanzas:
        if s.get("enabled", ["yes"])[0].lower() == "no":
            continue
        if "deb" in s.get("types", []) and suite in s.get("suites", []) and s.get("uris"):
            print(s["uris"][0])
            return 0
    sys.stderr.write("no enabled deb source for %s in /etc/apt\n" % suite)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
