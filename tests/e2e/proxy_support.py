"""Helpers for the proxy's end-to-end tests: in-process TCP backends that
count their connections, and a `cairn proxy` process."""
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

from cairn_agent import CAIRN


class Backend:
    """A TCP server on 127.0.0.1:port. mode "echo" echoes until EOF, then
    half-closes; "greet" sends a greeting, half-closes, and counts what it
    reads until EOF. `delay` slows every echo down (an artificially slow
    instance)."""

    def __init__(self, name, mode="echo", delay=0.0, port=0):
        self.name, self.mode, self.delay = name, mode, delay
        self.accepted = 0
        self.active = 0
        self.received = []  # greet mode: bytes read per connection
        self.lock = threading.Lock()
        self.conns = set()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.active += 1
                self.conns.add(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.mode == "greet":
                c.sendall(b"hello from " + self.name.encode())
                c.shutdown(socket.SHUT_WR)
                n = 0
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    n += len(d)
                with self.lock:
                    self.received.append(n)
            else:
                while True:
                    d = c.recv(65536)
                    if not d:
                        break
                    if self.delay:
                        time.sleep(self.delay)
                    c.sendall(d)
                c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            with self.lock:
                self.active -= 1
                self.conns.discard(c)
            c.close()

    def stop(self):
        """Closes the listener and every connection: new connects are refused."""
        self.stopped = True
        try:  # wakes the accepting thread and stops listening at once (Linux)
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Proxy:
    def __init__(self, args):
        self.log_path = tempfile.mktemp(prefix="cairn-proxy-", suffix=".log")
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([CAIRN, "proxy"] + list(args), stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"proxy listening metrics=([\d.]+):(\d+)", line)
        if not m:
            raise RuntimeError("proxy did not start: %r exit=%s log=%s" %
                               (line, self.proc.wait(5), self.read_log()))
        self.metrics_port = int(m.group(2))
        self.upstreams = {k: int(v) for k, v in re.findall(r"upstream\.([\w-]+)=[\d.]+:(\d+)", line)}
        i = re.search(r"inbound=[\d.]+:(\d+)", line)
        self.inbound = int(i.group(1)) if i else None

    def read_log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def metrics(self):
        """{(name, frozenset(labels)): value}"""
        with socket.create_connection(("127.0.0.1", self.metrics_port), timeout=5) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        out = {}
        for line in data.decode().split("\r\n\r\n", 1)[1].splitlines():
            if line.startswith("#") or not line:
                continue
            name_labels, value = line.rsplit(" ", 1)
            name, _, labels = name_labels.partition("{")
            pairs = frozenset(re.findall(r'(\w+)="([^"]*)"', labels))
            out[(name, pairs)] = float(value)
        return out

    def metric(self, name, **labels):
        want = set(labels.items())
        return sum(v for (n, l), v in self.metrics().items() if n == name and want <= l)

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        try:
            os.remove(self.log_path)
        except OSError:
            pass
        return self.proc.returncode


class ProxyCleanup:
    """Mixin for a unittest.TestCase with self.agent: the proxies and backends
    a test starts go in self.proxies and self.backends, the service IDs it
    registers in self.registered; after the test the proxies and backends are
    stopped, then the IDs deregistered."""

    def setUp(self):
        self.proxies, self.backends, self.registered = [], [], []

    def tearDown(self):
        for p in self.proxies:
            p.stop()
        for b in self.backends:
            b.stop()
        for sid in self.registered:
            self.agent.request("PUT", "/v1/agent/service/deregister/" + sid)


def exchange(port, data, source=None, timeout=20):
    """Connects (from `source` when given), sends `data`, half-closes, and
    returns everything read until EOF."""
    s = socket.socket()
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    got = bytearray()

    def reader():
        while True:
            try:
                d = s.recv(65536)
            except OSError:
                return
            if not d:
                return
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
    except OSError:  # refused by the proxy: what was read so far
        pass
    t.join(timeout)
    s.close()
    return bytes(got)
