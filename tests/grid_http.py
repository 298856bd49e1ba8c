"""A local HTTP server on 127.0.0.1 (port 0) answering with canned (status, headers, body, delay) per path."""
from __future__ import annotations

import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator


class Routes(dict):
    """path (with query) -> (status, headers, body bytes, delay_s); ``seen`` records requests.

    ``gate``: answers wait until it is set (it is, unless a test clears it to hold the server's answers
    until it has checked what the client does meanwhile: a deterministic "in flight", on any machine load).
    """

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.gate = threading.Event()
        self.gate.set()


def _handler(routes: Routes):
    class H(BaseHTTPRequestHandler):
        def _answer(self):
            routes.seen.append((self.command, self.path, dict(self.headers)))
            routes.gate.wait(30)
            status, headers, body, delay = routes.get(self.path, (404, {}, b"not found", 0.0))
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_PUT = _answer

        def log_message(self, *args):  # keep test output quiet
            return

    return H


@contextlib.contextmanager
def serve(routes: Routes) -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _handler(routes))
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()
