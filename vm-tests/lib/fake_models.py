"""Fake model APIs for the VM tests, both on one loopback port:

  POST /v1/responses   OpenAI Responses API (what codex uses with
                       wire_api = "responses"), streamed as SSE
  POST /v1/messages    Anthropic Messages API (what claude uses with
                       ANTHROPIC_BASE_URL), streamed or not
  GET  /test/requests  every request seen: path, model, last user text

The reply to a user text T is "PONG <api> <model>: T". A text containing
"slow" is answered after SLOW_SECONDS (default 20), so a test can look at the
running agents meanwhile.

On the Responses API, a user text "run: CMD" makes the model call codex's
`exec_command` tool with the shell command CMD, so codex runs it as the
agent's account; once codex sends the result back, the reply is
"PONG responses <model>: ran: <what codex reported>" (exit code and output),
which lets a test prove what the agent could and could not do. Codex offers
`exec_command` as a plain function tool for models such as gpt-5.5.

  fake_models.py serve [--port 8090]
  fake_models.py requests [--port 8090]   # every request seen, as JSON
"""

import json
import os
import socket
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_SECONDS = float(os.environ.get("SLOW_SECONDS", "20"))
LOCK = threading.Lock()
REQUESTS = []


def texts_of(content):
    """Text pieces of a message content: a string, or a list of typed blocks."""
    if isinstance(content, str):
        return [content]
    return [
        block.get("text", "")
        for block in content or []
        if isinstance(block, dict) and block.get("type") in ("text", "input_text")
    ]


def last_user_text(items):
    """The user's own words in the last user message: agents add context
    blocks (<environment_context>, <system-reminder>) around them."""
    for item in reversed(items or []):
        if isinstance(item, dict) and item.get("role") == "user":
            pieces = [t.strip() for t in texts_of(item.get("content")) if t.strip()]
            own = [t for t in pieces if not t.startswith("<")]
            if own:
                return own[-1]
            if pieces:
                return pieces[-1]
    return ""


def user_texts(items):
    """Every user text of a request, oldest first: the conversation so far,
    so a test can tell a resumed thread from a fresh one."""
    out = []
    for item in items or []:
        if isinstance(item, dict) and item.get("role") == "user":
            out += [t.strip() for t in texts_of(item.get("content")) if t.strip() and not t.strip().startswith("<")]
    return out


def tool_result(items):
    """The output of the tool call this request answers, if its last item
    is one (codex sends the command's result back as function_call_output)."""
    last = (items or [None])[-1]
    if isinstance(last, dict) and last.get("type") == "function_call_output":
        out = last.get("output")
        if isinstance(out, dict):
            out = out.get("content") or json.dumps(out)
        elif isinstance(out, list):
            out = " ".join(texts_of(out))
        return str(out)
    return None


def has_exec_tool(body):
    return any(
        isinstance(t, dict) and t.get("type") == "function" and t.get("name") == "exec_command"
        for t in body.get("tools") or []
    )


def sse(wfile, event, data):
    wfile.write(("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode())
    wfile.flush()


class Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: the response ends when the connection closes, which is how
    # an SSE stream without a length ends.
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-models: " + (fmt % args) + "\n")

    def json_reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b"{}"
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def record(self, api, body, text, items):
        with LOCK:
            REQUESTS.append(
                {
                    "path": self.path,
                    "api": api,
                    "model": body.get("model"),
                    "text": text,
                    "history": user_texts(items),
                }
            )

    def do_GET(self):
        if self.path.startswith("/test/requests"):
            with LOCK:
                return self.json_reply(200, list(REQUESTS))
        if self.path.startswith("/v1/models"):
            return self.json_reply(200, {"object": "list", "data": [], "models": []})
        self.json_reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self.body()
        if path.endswith("/responses"):
            return self.openai_responses(body)
        if path.endswith("/messages/count_tokens"):
            return self.json_reply(200, {"input_tokens": 10})
        if path.endswith("/messages"):
            return self.anthropic_messages(body)
        self.json_reply(404, {"error": {"message": "not found"}})

    def pause_if_slow(self, text):
        if "slow" in text:
            time.sleep(SLOW_SECONDS)

    # --- OpenAI Responses API -------------------------------------------
    def openai_responses(self, body):
        items = body.get("input")
        text = last_user_text(items)
        self.record("responses", body, text, items)
        result = tool_result(items)
        if result is not None:
            reply = "PONG responses %s: ran: %s" % (body.get("model"), " ".join(result.split()))
        elif text.startswith("run: ") and has_exec_tool(body):
            return self.call_exec_command(text[len("run: "):])
        elif text.startswith("run: "):
            reply = "PONG responses %s: codex offered no exec_command tool" % body.get("model")
        else:
            reply = "PONG responses %s: %s" % (body.get("model"), text)
        rid, mid = "resp_" + uuid.uuid4().hex, "msg_" + uuid.uuid4().hex
        message = {
            "type": "message",
            "id": mid,
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": reply, "annotations": []}],
        }
        self.start_sse()
        w = self.wfile
        sse(w, "response.created", {"type": "response.created", "response": {"id": rid}})
        sse(
            w,
            "response.output_item.added",
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": dict(message, status="in_progress", content=[]),
            },
        )
        half = len(reply) // 2
        for delta in (reply[:half], reply[half:]):
            sse(
                w,
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "item_id": mid,
                    "output_index": 0,
                    "content_index": 0,
                    "delta": delta,
                },
            )
            self.pause_if_slow(text)
            text = ""  # pause once
        sse(
            w,
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": message},
        )
        sse(
            w,
            "response.completed",
            {
                "type": "response.completed",
                "response": {
                    "id": rid,
                    "status": "completed",
                    "output": [message],
                    "usage": {
                        "input_tokens": 10,
                        "input_tokens_details": {"cached_tokens": 0},
                        "output_tokens": 10,
                        "output_tokens_details": {"reasoning_tokens": 0},
                        "total_tokens": 20,
                    },
                },
            },
        )

    def call_exec_command(self, cmd):
        """One response whose only output is a call of codex's shell tool."""
        rid, call_id = "resp_" + uuid.uuid4().hex, "call_" + uuid.uuid4().hex
        call = {
            "type": "function_call",
            "id": "fc_" + uuid.uuid4().hex,
            "call_id": call_id,
            "name": "exec_command",
            "arguments": json.dumps({"cmd": cmd, "login": False}),
            "status": "completed",
        }
        self.start_sse()
        w = self.wfile
        sse(w, "response.created", {"type": "response.created", "response": {"id": rid}})
        sse(
            w,
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": call},
        )
        sse(
            w,
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": call},
        )
        usage = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 10,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 20,
        }
        sse(
            w,
            "response.completed",
            {
                "type": "response.completed",
                "response": {"id": rid, "status": "completed", "output": [call], "usage": usage},
            },
        )

    # --- Anthropic Messages API -------------------------------------------
    def anthropic_messages(self, body):
        text = last_user_text(body.get("messages"))
        self.record("messages", body, text, body.get("messages"))
        model = body.get("model") or "unknown"
        reply = "PONG messages %s: %s" % (model, text)
        mid = "msg_" + uuid.uuid4().hex
        usage = {"input_tokens": 10, "output_tokens": 10}
        if not body.get("stream"):
            return self.json_reply(
                200,
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": reply}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
        self.start_sse()
        w = self.wfile
        sse(
            w,
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 10, "output_tokens": 1},
                },
            },
        )
        sse(
            w,
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        )
        half = len(reply) // 2
        for delta in (reply[:half], reply[half:]):
            sse(
                w,
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": delta}},
            )
            self.pause_if_slow(text)
            text = ""
        sse(w, "content_block_stop", {"type": "content_block_stop", "index": 0})
        sse(
            w,
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 10},
            },
        )
        sse(w, "message_stop", {"type": "message_stop"})


def sd_notify_ready():
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"READY=1", addr)


def main(argv):
    port = int(argv[argv.index("--port") + 1]) if "--port" in argv else 8090
    if len(argv) > 1 and argv[1] == "requests":
        url = "http://127.0.0.1:%d/test/requests" % port
        with urllib.request.urlopen(url, timeout=10) as resp:
            print(json.dumps(json.loads(resp.read()), indent=1))
        return
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    sd_notify_ready()
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
