"""A path-prefix router for scripts/spec/spec-conformance, part 5 (stdlib only).

    python3 route.py PREFIX=http://HOST:PORT [PREFIX=...]

The Rust client sends CCS v1 and v2 to one base URL (`LP_CCS_BASE_URL`), and
a Prism proxy validates one spec: this router sends `/v1/...` to the Prism
of ccs-v1.yaml and `/v2/...` to the Prism of ccs-v2.yaml, unchanged (method,
path, query, headers, body), and answers with what came back. A path no
prefix claims gets a 502, so no traffic escapes validation.

Prints `listening on http://127.0.0.1:PORT` (a free port) as its first line.
"""

import http.client
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Headers that belong to one connection, not to the request (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def parse_routes(args):
    routes = []
    for arg in args:
        prefix, _, url = arg.partition("=")
        parts = urllib.parse.urlsplit(url)
        if not prefix.startswith("/") or parts.scheme != "http" or not parts.hostname or not parts.port:
            sys.exit(f"route.py: bad route {arg!r}; expected /prefix/=http://host:port")
        routes.append((prefix, parts.hostname, parts.port))
    return routes


class Router(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    routes = []

    def log_message(self, format, *args):
        sys.stderr.write("route.py: " + (format % args) + "\n")

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        target = next((r for r in self.routes if self.path.startswith(r[0])), None)
        if target is None:
            self._answer(502, [("Content-Type", "text/plain")], b"route.py: no route for this path\n")
            return
        _, host, port = target
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        connection = http.client.HTTPConnection(host, port, timeout=30)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
            self._answer(response.status, kept, data)
        finally:
            connection.close()

    def _answer(self, status, headers, data):
        self.send_response(status)
        for key, value in headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def main():
    Router.routes = parse_routes(sys.argv[1:])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Router)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
