"""A small HTTP proxy that injects faults in front of a real server (for the fault tests).

Each rule matches a method and a path pattern and fires a number of times:
  "lose-reply"  forward the request, let the server do the work, answer 502 instead of its reply;
  "drop"        forward the request, then close the connection without any reply;
  "502"         answer 502 without forwarding (the server never sees the request).
Everything else is relayed unchanged. `seen` records (method, path, fault) for every request.
"""

from __future__ import annotations

import http.client
import http.server
import re
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer", "content-length", "host"}


@dataclass
class Rule:
    method: str
    path: str  # regular expression, searched in the request path
    fault: str
    times: int = 1


class FaultProxy:
    def __init__(self, upstream: str):
        self.upstream = urlparse(upstream)
        self.rules: list[Rule] = []
        self.seen: list[tuple[str, str, str | None]] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _rule(self) -> str | None:
                with proxy.lock:
                    for rule in proxy.rules:
                        if rule.times > 0 and rule.method == self.command and re.search(rule.path, self.path):
                            rule.times -= 1
                            return rule.fault
                return None

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = self._rule()
                with proxy.lock:
                    proxy.seen.append((self.command, self.path, fault))
                if fault == "502":
                    return self._reply(502, [("Content-Type", "text/html")], b"<html>502 Bad Gateway</html>")
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                headers["Host"] = f"{proxy.upstream.hostname}:{proxy.upstream.port}"
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                status, reply_headers = resp.status, [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
                conn.close()
                if fault == "lose-reply":
                    return self._reply(502, [("Content-Type", "text/html")], b"<html>502 Bad Gateway</html>")
                if fault == "drop":
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return None
                return self._reply(status, reply_headers, data)

            def _reply(self, status, headers, data):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, path: str, fault: str, times: int = 1) -> None:
        with self.lock:
            self.rules.append(Rule(method, path, fault, times))

    def faults(self) -> list[tuple[str, str, str | None]]:
        return [s for s in self.seen if s[2]]
