#!/usr/bin/env python3
"""Bulk transfer through one plain `cairn proxy` (no TLS): a client sends N MiB
through the proxy's upstream listener to a sink; prints the rate and the CPU
time the proxy used per GiB. Compares binaries side by side (e.g. before and
after splice(2)): bench/proxy_bulk.py MIB CAIRN_BIN [CAIRN_BIN...]
The proxy runs on CPU 0 (taskset); the agent, sender and sink wherever."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def run(cairn, total):
    def free():
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
    d = tempfile.mkdtemp(prefix="cairn-bulk-")
    hp = free()
    agent = subprocess.Popen([cairn, "agent", "-dev", "-http-port", str(hp), "-dns-port", "0", "-data-dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sink = socket.socket(); sink.bind(("127.0.0.1", 0)); sink.listen(4); sp = sink.getsockname()[1]
    got = [0]
    def serve():
        c, _ = sink.accept(); buf = bytearray(1 << 20); mv = memoryview(buf)
        while True:
            n = c.recv_into(mv)
            if not n: break
            got[0] += n
        c.close()
    threading.Thread(target=serve, daemon=True).start()
    for _ in range(100):
        try:
            urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%d/v1/agent/service/register" % hp, data=json.dumps({"Name": "api", "Address": "127.0.0.1", "Port": sp}).encode(), method="PUT")); break
        except Exception: time.sleep(0.1)
    up = free()
    proxy = subprocess.Popen(["taskset", "-c", "0", cairn, "proxy", "-service", "web", "-http-addr", "127.0.0.1:%d" % hp, "-upstream", "api:%d" % up, "-log-level", "warn"], stdout=subprocess.DEVNULL)
    time.sleep(1.5)
    c = socket.create_connection(("127.0.0.1", up)); chunk = b"x" * (1 << 20)
    def cpu(pid):
        f = open("/proc/%d/stat" % pid).read().split(); return (int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")
    c0 = cpu(proxy.pid); t0 = time.time(); sent = 0
    while sent < total:
        c.sendall(chunk); sent += len(chunk)
    c.shutdown(socket.SHUT_WR)
    while got[0] < total and time.time() - t0 < 60: time.sleep(0.01)
    t = time.time() - t0; c1 = cpu(proxy.pid)
    print("%s: %d MiB in %.2f s = %.0f MiB/s, proxy CPU %.2f s (%.2f s per GiB)" % (cairn, total >> 20, t, (total >> 20) / t, c1 - c0, (c1 - c0) / (total / (1 << 30))))
    proxy.terminate(); agent.terminate(); proxy.wait(); agent.wait()
    subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    for binary in sys.argv[2:]:
        run(binary, int(sys.argv[1]) << 20)
