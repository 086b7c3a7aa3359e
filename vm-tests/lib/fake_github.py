"""Fake GitHub for the VM tests: the REST calls a Kai review makes, with one
pull request (acme/app#1) whose diff carries "vm-diff-marker", and a client
that signs and sends webhook deliveries to Kai like GitHub does.

  GET  /repos/acme/app/pulls/1            the PR (JSON), or its diff with
                                          Accept: application/vnd.github.diff
  GET  /repos/acme/app/pulls/1/files      its changed files
  GET  /repos/acme/app/issues/1/comments  comments posted so far
  POST /repos/acme/app/issues/1/comments  post one
  anything else                           404

  fake_github.py serve [--port 8095]
  fake_github.py comments REPO N [--port 8095]     # bodies posted, as JSON
  fake_github.py deliver --port KAI_PORT (--secret S | --secret-file F)
                 --delivery ID [--event pull_request] [--repo acme/app]
                                                   # prints the HTTP status
  fake_github.py healthz --port KAI_PORT           # exit 0 on 200
"""

import hashlib
import hmac
import json
import os
import re
import socket
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO, NUMBER = "acme/app", 1
PR = {
    "number": NUMBER,
    "title": "Add the answer",
    "body": "Please review this change.",
    "html_url": "https://github.com/acme/app/pull/1",
    "head": {"sha": "0123abcd"},
    "user": {"login": "octocat"},
}
DIFF = "diff --git a/app.py b/app.py\n@@ -1 +1 @@\n+answer = 42  # vm-diff-marker\n"
LOCK = threading.Lock()
COMMENTS = []  # (repo, number, body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-github: " + (fmt % args) + "\n")

    def reply(self, status, payload, content_type="application/json"):
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def target(self):
        m = re.match(r"^/repos/([^/]+/[^/]+)/(pulls|issues)/(\d+)(/files|/comments)?(\?.*)?$", self.path)
        if not m:
            return None
        return m.group(1), m.group(2), int(m.group(3)), m.group(4) or ""

    def do_GET(self):
        t = self.target()
        if t is None or (t[0], t[2]) != (REPO, NUMBER):
            return self.reply(404, {"message": "Not Found"})
        repo, kind, number, rest = t
        if kind == "pulls" and rest == "":
            if "diff" in (self.headers.get("Accept") or ""):
                return self.reply(200, DIFF, "text/plain")
            return self.reply(200, PR)
        if kind == "pulls" and rest == "/files":
            return self.reply(200, [{"filename": "app.py", "status": "modified", "additions": 1, "deletions": 1}])
        if kind == "issues" and rest == "/comments":
            with LOCK:
                bodies = [b for (r, n, b) in COMMENTS if (r, n) == (repo, number)]
            return self.reply(200, [{"id": i + 1, "body": b} for i, b in enumerate(bodies)])
        self.reply(404, {"message": "Not Found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        t = self.target()
        if t != (REPO, "issues", NUMBER, "/comments"):
            return self.reply(404, {"message": "Not Found"})
        body = json.loads(raw or b"{}").get("body", "")
        with LOCK:
            COMMENTS.append((t[0], t[2], body))
            n = len(COMMENTS)
        self.reply(201, {"id": n, "body": body, "html_url": "https://github.com/%s/pull/%d#issuecomment-%d" % (t[0], t[2], n)})


def sd_notify_ready():
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"READY=1", addr)


def serve(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    sd_notify_ready()
    server.serve_forever()


def opt(argv, name, default=None):
    return argv[argv.index(name) + 1] if name in argv else default


def deliver(argv):
    port = int(opt(argv, "--port"))
    secret = opt(argv, "--secret")
    if secret is None:
        with open(opt(argv, "--secret-file")) as f:
            secret = f.read().strip()
    event = opt(argv, "--event", "pull_request")
    repo = opt(argv, "--repo", REPO)
    payload = json.dumps(
        {
            "action": "opened",
            "number": NUMBER,
            "repository": {"full_name": repo},
            "pull_request": {"number": NUMBER, "title": PR["title"], "head": PR["head"]},
        }
    ).encode()
    sig = "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        "http://127.0.0.1:%d/github/webhook" % port,
        data=payload,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": opt(argv, "--delivery"),
            "X-Hub-Signature-256": sig,
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(resp.status)
    except urllib.error.HTTPError as e:
        print(e.code)
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else "serve"
    if cmd == "serve":
        serve(int(opt(argv, "--port", "8095")))
    elif cmd == "comments":
        port = int(opt(argv, "--port", "8095"))
        url = "http://127.0.0.1:%d/repos/%s/issues/%s/comments" % (port, argv[2], argv[3])
        with urllib.request.urlopen(url, timeout=10) as resp:
            print(json.dumps([c["body"] for c in json.loads(resp.read())], indent=1))
    elif cmd == "deliver":
        return deliver(argv)
    elif cmd == "healthz":
        url = "http://127.0.0.1:%s/healthz" % opt(argv, "--port")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return 0 if resp.status == 200 else 1
        except (urllib.error.URLError, OSError):
            return 1
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
