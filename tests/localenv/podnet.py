"""Pod network stand-in: lets the real kube-apiserver's pod proxy reach processes on 127.0.0.1.

The local control plane's pods are kwok pods: they get pod IPs (10.0.0.x) but nothing runs
behind them. kube-apiserver can send its "cluster" traffic (the pods/proxy, services/proxy and
nodes/proxy subresources, and its kubelet connections) through an HTTP CONNECT proxy named in
an EgressSelectorConfiguration -- the mechanism a real cluster uses for konnectivity.
`localenv.py up` starts this small CONNECT proxy on a Unix socket and points the apiserver at
it. Each `CONNECT POD_IP:PORT` is spliced to the 127.0.0.1 address that the routes file maps
"POD_IP:PORT" to; a test harness that runs real processes for pods (tests/lib/podprocs.py)
writes that file. Loopback destinations (kwok's kubelet endpoint is "localhost") are dialled
as they are.

Named for what it is: a stand-in for the pod network, nothing else. A pod address without a
route is refused with 503, so the API server fails the request as it does for a pod whose
port nothing listens on.

    python tests/localenv/podnet.py --socket PATH --routes FILE
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from pathlib import Path

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


class Routes:
    """The routes file, re-read whenever it changes: {"10.0.0.5:8222": "127.0.0.1:41234", ...}."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stamp: tuple[int, int] | None = None
        self.table: dict[str, str] = {}
        self.lock = threading.Lock()

    def lookup(self, hostport: str) -> tuple[str, int] | None:
        host, _sep, port = hostport.rpartition(":")
        if host in LOOPBACK_HOSTS and port.isdigit():
            return "127.0.0.1", int(port)
        with self.lock:
            try:
                st = self.path.stat()
                stamp = (st.st_mtime_ns, st.st_size)
                if stamp != self.stamp:
                    self.table = json.loads(self.path.read_text() or "{}")
                    self.stamp = stamp
            except FileNotFoundError:
                self.table, self.stamp = {}, None
            except ValueError:
                pass  # a half-written file: keep the previous table until the writer finishes
            target = self.table.get(hostport)
        if not target or not target.startswith("127.0.0.1:"):
            return None  # never forward anywhere but loopback
        return "127.0.0.1", int(target.rsplit(":", 1)[1])


def pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def log(msg: str) -> None:
    print(f"podnet {time.strftime('%H:%M:%S')} {msg}", flush=True)


def make_handler(routes: Routes):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            conn: socket.socket = self.request
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 8192:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            if len(parts) != 3 or parts[0] != "CONNECT":
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                log(f"refused {line!r}: only CONNECT is supported")
                return
            dest = parts[1]
            target = routes.lookup(dest)
            if target is None:
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                log(f"CONNECT {dest}: no route (no process runs for that pod address)")
                return
            try:
                upstream = socket.create_connection(target, timeout=5)
            except OSError as exc:
                conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
                log(f"CONNECT {dest} -> {target[0]}:{target[1]}: {exc}")
                return
            upstream.settimeout(None)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            log(f"CONNECT {dest} -> {target[0]}:{target[1]}")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
            back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
            back.start()
            pump(conn, upstream)
            back.join(timeout=60)
            upstream.close()

    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", type=Path, required=True)
    parser.add_argument("--routes", type=Path, required=True)
    args = parser.parse_args(argv)
    args.socket.unlink(missing_ok=True)
    server = Server(str(args.socket), make_handler(Routes(args.routes)))
    os.chmod(args.socket, 0o600)
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(0))
    log(f"listening on {args.socket}, routes from {args.routes}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        args.socket.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
