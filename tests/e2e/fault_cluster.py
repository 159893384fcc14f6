"""A cluster of real `cairn agent -server` processes whose server-to-server
traffic runs through a FaultNet relay, for fault tests.

Server i binds its Raft port on 127.0.0.1 and advertises a loopback address
of its own (-advertise 127.x.y.i); the relay listens there. HTTP stays on
127.0.0.1 and is never relayed: clients reach any live server directly.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from cairn_agent import CAIRN, wait_until
from faultnet import FaultNet, loopback_ips
from workload import http_call, register_body


class FaultServer:
    def __init__(self, index, root, ip, expect, config):
        self.index = index
        self.name = "s%d" % (index + 1)
        self.ip = ip
        self.expect = expect
        self.data_dir = os.path.join(root, self.name)
        self.log_path = os.path.join(root, self.name + ".log")
        self.out_path = os.path.join(root, self.name + ".out")
        self.config = os.path.join(root, self.name + ".json")
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.port = 0      # Raft port, kept across restarts
        self.http = None   # None while down
        self.proc = None
        self.paused = False
        self.starts = 0
        self.down = True     # stopped on purpose
        self.crashes = []    # exit codes the test did not ask for

    @property
    def advertise(self):
        return "%s:%d" % (self.ip, self.port)

    @property
    def up(self):
        """Running and not paused."""
        return self.proc is not None and self.proc.poll() is None and not self.paused

    def start(self, join):
        args = [CAIRN, "agent", "-server", "-data-dir", self.data_dir, "-node", self.name,
                "-bind", "127.0.0.1", "-advertise", self.ip, "-client", "127.0.0.1",
                "-http-port", "0", "-dns-port", "-1", "-server-port", str(self.port),
                "-bootstrap-expect", str(self.expect), "-config-file", self.config]
        for j in join:
            args += ["-retry-join", j]
        offset = os.path.getsize(self.out_path) if os.path.exists(self.out_path) else 0
        with open(self.out_path, "ab") as out, open(self.log_path, "ab") as log:
            log.write(("=== start %d: %s\n" % (self.starts, " ".join(args))).encode())
            log.flush()
            self.proc = subprocess.Popen(args, stdout=out, stderr=log)
        self.starts += 1
        self.paused = False
        self.down = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            with open(self.out_path) as f:
                f.seek(offset)
                m = re.search(r"listening http=([\d.]+:\d+).* server=([\d.]+):(\d+)", f.read())
            if m:
                self.http = m.group(1)
                self.port = int(m.group(3))
                return
            time.sleep(0.02)
        raise RuntimeError("%s did not start (exit %s): %s" % (self.name, self.proc.poll(), self.log_tail()))

    def kill9(self):
        self._stop(signal.SIGKILL)

    def stop(self):
        self._stop(signal.SIGTERM)

    def _stop(self, sig):
        self.http = None
        self.check()
        self.down = True
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            if self.paused:
                self.proc.send_signal(signal.SIGCONT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.crashes.append("did not stop in 30s after signal %d" % sig)
                self.proc.kill()
                self.proc.wait()
            if sig == signal.SIGTERM and self.proc.returncode != 0:
                self.crashes.append("exit %d after SIGTERM" % self.proc.returncode)
        self.paused = False

    def check(self):
        """Records an exit the test did not cause (a crash)."""
        if not self.down and self.proc and self.proc.poll() is not None:
            self.crashes.append("exited by itself with %d" % self.proc.returncode)
            self.down = True
            self.http = None

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def wipe(self):
        assert self.proc is None or self.proc.poll() is not None, "wipe a running server"
        shutil.rmtree(self.data_dir)

    def leader(self, timeout=1.0):
        """The leader's advertised address as this server sees it ("" if none or down)."""
        addr = self.http
        if not addr or self.paused:
            return ""
        status, body = http_call(addr, "GET", "/v1/status/leader", timeout=timeout)
        return json.loads(body) if status == 200 else ""

    def log_tail(self, n=3000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return ""


class Cluster:
    def __init__(self, n, root, config=None):
        self.root = root
        self.net = FaultNet()
        ips = loopback_ips(n)
        cfg = {"raft_snapshot_threshold": 200, "raft_trailing_logs": 50}
        cfg.update(config or {})
        self.servers = [FaultServer(i, root, ips[i], n, cfg) for i in range(n)]
        for s in self.servers:
            self.net.add(s.index, s.ip)
        self.events = []  # (monotonic seconds, text): the fault schedule as it ran
        self._t0 = time.monotonic()

    def log(self, text):
        self.events.append((time.monotonic() - self._t0, text))
        print("[%7.2f] %s" % (time.monotonic() - self._t0, text), flush=True)

    def start(self):
        for i, s in enumerate(self.servers):
            s.start([o.advertise for o in self.servers[:i]])
            self.net.listen(i, s.ip, s.port)
        self.wait_stable_leader(timeout=30)

    def close(self):
        try:
            for s in self.servers:
                if s.proc and s.proc.poll() is None:
                    s.proc.kill()
                    s.proc.wait()
        finally:
            self.net.close()

    def joins(self, s):
        return [o.advertise for o in self.servers if o is not s]

    def restart(self, s):
        s.start(self.joins(s))

    def by_address(self, addr):
        return next((s for s in self.servers if s.port and s.advertise == addr), None)

    def http_targets(self):
        """(name, http address) of every server; None while down."""
        return [(s.name, s.http) for s in self.servers]

    def crashes(self):
        for s in self.servers:
            s.check()
        return {s.name: s.crashes for s in self.servers if s.crashes}

    def views(self):
        return {s.name: (s.leader() if s.up else "(down)") for s in self.servers}

    def stable_leader(self, servers=None):
        """The leader every live server in `servers` agrees on, if that leader is live."""
        live = [s for s in (servers or self.servers) if s.up]
        seen = {s.leader() for s in live}
        if len(seen) != 1:
            return None
        leader = self.by_address(seen.pop())
        return leader if leader is not None and leader.up and leader in live else None

    def wait_stable_leader(self, servers=None, timeout=30):
        got = []
        ok = wait_until(lambda: got.append(self.stable_leader(servers)) or got[-1] is not None,
                        timeout=timeout, interval=0.1)
        if not ok:
            raise AssertionError("no leader that all live servers agree on after %ds: %s" %
                                 (timeout, self.views()))
        return got[-1]

    def barrier(self, s, timeout=60):
        """A write through `s`: acknowledged only once `s` has applied it, so `s`
        is caught up to at least then. Raises if it never succeeds."""
        start = time.monotonic()
        deadline = start + timeout
        last = None
        failures = []
        while time.monotonic() < deadline:
            if s.http:
                t = time.monotonic()
                last = http_call(s.http, "PUT", "/v1/catalog/register",
                                 register_body("barrier", "barrier-" + s.name, str(time.monotonic_ns())),
                                 timeout=15)
                if last[0] == 200:
                    if failures:
                        self.log("write through %s took %.1fs: %s" % (s.name, time.monotonic() - start, failures))
                    return
                failures.append("%.1fs: %s %s" % (time.monotonic() - t, last[0], last[1][:80]))
            time.sleep(0.1)
        raise AssertionError("write through %s not acknowledged in %ds: %s; views %s" %
                             (s.name, timeout, last, self.views()))


class LeaderMonitor:
    """Polls every live server's view of the leader and records the longest
    stretch in which no live server named a live leader."""

    def __init__(self, cluster, interval=0.1):
        self.cluster = cluster
        self.interval = interval
        self.max_gap = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leader-monitor", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)

    def _has_leader(self):
        """A live server claims to lead and a majority of all servers name it."""
        servers = list(self.cluster.servers)
        named = [s.leader(timeout=0.5) if s.up else "" for s in servers]
        for s, leader in zip(servers, named):
            if s.up and s.port and leader == s.advertise and named.count(leader) > len(servers) // 2:
                return True
        return False

    def _run(self):
        last_ok = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if self._has_leader():
                last_ok = now
            self.max_gap = max(self.max_gap, now - last_ok)
            time.sleep(self.interval)
