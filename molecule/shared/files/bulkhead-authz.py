"""A minimal Docker authorization plugin for tests: allows every request, records nothing.

Docker finds it at /run/docker/plugins/bulkhead-authz.sock. It proves that the role's
authorization hook (CIS 2.12) is wired: every API call the tests make passes through it.
A real fleet uses a policy plugin (OPA, Casbin...).
"""

import http.server
import json
import os
import socketserver

SOCKET = "/run/docker/plugins/bulkhead-authz.sock"
ANSWERS = {
    "/Plugin.Activate": {"Implements": ["authz"]},
    "/AuthZPlugin.AuthZReq": {"Allow": True},
    "/AuthZPlugin.AuthZRes": {"Allow": True},
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = ANSWERS.get(self.path)
        body = json.dumps(answer if answer is not None else {"Err": "unknown call"}).encode()
        self.send_response(200 if answer is not None else 404)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def get_request(self):
        request, _ = super().get_request()
        return request, ("bulkhead-authz", 0)


if __name__ == "__main__":
    os.makedirs(os.path.dirname(SOCKET), exist_ok=True)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    Server(SOCKET, Handler).serve_forever()
