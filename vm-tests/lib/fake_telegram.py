"""A fake Telegram Bot API for the VM tests, plus a small client for the
test script.

  fake_telegram.py serve [--port 8081]
  fake_telegram.py inject USER_ID TEXT          # a private message from USER_ID
  fake_telegram.py wait-reply CHAT_ID NEEDLE [--since N]
                                                # exit 0 (printing it) once a sent or
                                                # edited message to CHAT_ID contains
                                                # NEEDLE; --since: among calls after
                                                # the first N recorded
  fake_telegram.py sent-count                   # how many bot calls are recorded
  fake_telegram.py sent                         # every recorded bot call, as JSON
  fake_telegram.py tokens                       # bot tokens seen, as JSON

The server implements what the daemon uses: getMe, getUpdates (long
polling), sendMessage, editMessageText, sendChatAction, setMyCommands,
deleteWebhook; any other method answers `true` and is recorded.
"""

import json
import os
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOT = {
    "id": 4242,
    "is_bot": True,
    "first_name": "Kai",
    "username": "kai_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
    "can_connect_to_business": False,
    "has_main_web_app": False,
}


class State:
    def __init__(self):
        self.cond = threading.Condition()
        self.updates = []
        self.next_update_id = 1
        self.confirmed = 0
        self.next_message_id = 1
        self.sent = []
        self.tokens = set()

    def message_id(self):
        self.next_message_id += 1
        return self.next_message_id


STATE = State()


def chat_of(chat_id):
    return {"id": int(chat_id), "type": "private", "first_name": "User%s" % chat_id}


def bot_message(message_id, chat_id, text):
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": chat_of(chat_id),
        "from": BOT,
        "text": text,
    }


# Bot API method names are case-insensitive, and teloxide sends them
# capitalised (GetMe, GetUpdates, SendMessage): match on the lower-case name
# and record the canonical spelling, so a client's casing never matters.
CANONICAL = {
    m.lower(): m
    for m in (
        "getMe",
        "getUpdates",
        "sendMessage",
        "editMessageText",
        "sendChatAction",
        "setMyCommands",
        "getMyCommands",
        "deleteWebhook",
    )
}


def canonical(method):
    return CANONICAL.get(method.lower(), method)


def handle_method(method, params):
    s = STATE
    method = canonical(method)
    if method == "getMe":
        return BOT
    if method == "getUpdates":
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 25.0)
        deadline = time.monotonic() + timeout
        with s.cond:
            # As the Bot API does: an offset confirms every earlier update for
            # good, so a restarted client (offset 0 again) is not handed the
            # messages it already answered.
            s.confirmed = max(s.confirmed, offset)
            while True:
                pending = [u for u in s.updates if u["update_id"] >= s.confirmed]
                left = deadline - time.monotonic()
                if pending or left <= 0:
                    limit = int(params.get("limit") or 100)
                    return pending[:limit]
                s.cond.wait(left)
    with s.cond:
        s.sent.append({"method": method, "params": params, "at": time.time()})
        s.cond.notify_all()
        if method == "sendMessage":
            return bot_message(s.message_id(), params["chat_id"], params.get("text", ""))
        if method == "editMessageText":
            return bot_message(
                int(params.get("message_id") or 0), params["chat_id"], params.get("text", "")
            )
    if method == "getMyCommands":
        return []
    return True


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-telegram: " + (fmt % args) + "\n")

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def params(self):
        url = urllib.parse.urlparse(self.path)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = self.headers.get("Content-Type") or ""
        if raw and "json" in ctype:
            params.update(json.loads(raw))
        elif raw and "x-www-form-urlencoded" in ctype:
            form = urllib.parse.parse_qs(raw.decode())
            params.update({k: v[-1] for k, v in form.items()})
        return url.path, params

    def do_GET(self):
        self.route()

    def do_POST(self):
        self.route()

    def route(self):
        path, params = self.params()
        parts = path.strip("/").split("/")
        if parts[0] == "test":
            return self.test_endpoint(parts[1:], params)
        if len(parts) == 2 and parts[0].startswith("bot"):
            with STATE.cond:
                STATE.tokens.add(parts[0][3:])
            try:
                result = handle_method(parts[1], params)
            except Exception as e:  # report, never crash the server
                return self.reply(400, {"ok": False, "error_code": 400, "description": str(e)})
            return self.reply(200, {"ok": True, "result": result})
        self.reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def test_endpoint(self, parts, params):
        s = STATE
        if parts == ["inject"]:
            user_id = int(params["user_id"])
            with s.cond:
                update = {
                    "update_id": s.next_update_id,
                    "message": {
                        "message_id": s.message_id(),
                        "date": int(time.time()),
                        "chat": chat_of(user_id),
                        "from": {"id": user_id, "is_bot": False, "first_name": "User%d" % user_id},
                        "text": params["text"],
                    },
                }
                s.next_update_id += 1
                s.updates.append(update)
                s.cond.notify_all()
            return self.reply(200, update)
        if parts == ["sent"]:
            with s.cond:
                return self.reply(200, list(s.sent))
        if parts == ["tokens"]:
            with s.cond:
                return self.reply(200, sorted(s.tokens))
        self.reply(404, {"error": "unknown test endpoint"})


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


def call(path, payload=None, port=int(os.environ.get("FAKE_TELEGRAM_PORT", "8081"))):
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path),
        data=data,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def main(argv):
    cmd = argv[1] if len(argv) > 1 else "serve"
    if cmd == "serve":
        port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8081
        serve(port)
    elif cmd == "inject":
        print(json.dumps(call("/test/inject", {"user_id": int(argv[2]), "text": argv[3]})))
    elif cmd == "sent":
        print(json.dumps(call("/test/sent"), indent=1))
    elif cmd == "tokens":
        print(json.dumps(call("/test/tokens")))
    elif cmd == "sent-count":
        print(len(call("/test/sent")))
    elif cmd == "wait-reply":
        chat_id, needle = int(argv[2]), argv[3]
        since = int(argv[argv.index("--since") + 1]) if "--since" in argv else 0
        for entry in call("/test/sent")[since:]:
            p = entry["params"]
            if entry["method"] in ("sendMessage", "editMessageText") and int(
                p.get("chat_id") or 0
            ) == chat_id and needle in (p.get("text") or ""):
                print(p.get("text"))
                return 0
        return 1
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
