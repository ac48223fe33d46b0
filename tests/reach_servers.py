"""Real receivers on loopback for the outbox's tests: an SMTP server (aiosmtpd) and an HTTP gateway that
records what it was sent and can answer 503 for its first requests."""

import json
import socket
import threading
import time
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Mailbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.mails.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


@contextmanager
def smtp_server():
    """An SMTP server on loopback; yields (port, the list of messages it received)."""
    box, port = _Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box.mails
    finally:
        controller.stop()


class Gateway:
    """What the HTTP gateway received (each request's headers, JSON body and its bytes), and how many to refuse
    first."""

    def __init__(self, refuse_first: int = 0):
        self.received, self.refuse_first, self.lock = [], refuse_first, threading.Lock()

    def references(self) -> list[str]:
        return [r["body"].get("reference") or r["headers"].get("Idempotency-Key") for r in self.received]


@contextmanager
def http_gateway(refuse_first: int = 0, delay: float = 0.0):
    """An HTTP server on loopback taking POSTs (each taking ``delay`` seconds); yields (its URL, the Gateway
    record)."""
    gateway = Gateway(refuse_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's hook name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(delay)
            with gateway.lock:
                if gateway.refuse_first > 0:
                    gateway.refuse_first -= 1
                    status = 503
                else:
                    gateway.received.append({"headers": dict(self.headers), "body": json.loads(body), "raw": body})
                    status = 200
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms", gateway
    finally:
        server.shutdown()
        server.server_close()
