"""Three real `cairn agent -server` processes on loopback, replicating with
Raft: writes through any server, kill -9 of the leader and of a follower,
restart on the same data dir, a paused process, and catch-up by snapshot.
Every acknowledged registration must be present on every server."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, wait_until


class Server:
    def __init__(self, name, root, config=None):
        self.name = name
        self.data_dir = os.path.join(root, name)
        self.log_path = os.path.join(root, name + ".log")
        self.config = os.path.join(root, name + ".json")
        with open(self.config, "w") as f:
            json.dump(config or {}, f)
        self.proc = None
        self.http = None
        self.server_addr = None

    def start(self, join=(), server_port=0):
        args = [CAIRN, "agent", "-server", "-data-dir", self.data_dir, "-node", self.name,
                "-bind", "127.0.0.1", "-http-port", "0", "-dns-port", "-1",
                "-server-port", str(server_port), "-bootstrap-expect", "3", "-config-file", self.config]
        for j in join:
            args += ["-retry-join", j]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening http=([\d.]+:\d+).* server=([\d.]+:\d+)", line)
            if m:
                self.http, self.server_addr = m.group(1), m.group(2)
                return self
        raise RuntimeError("server %s did not start: %s" % (self.name, open(self.log_path).read()[-2000:]))

    def restart(self, join):
        port = int(self.server_addr.split(":")[1])
        return self.start(join, server_port=port)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self.log.close()

    def request(self, method, path, body=None, timeout=15):
        host, port = self.http.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            conn.close()

    def leader(self):
        try:
            status, _, body = self.request("GET", "/v1/status/leader", timeout=2)
            return json.loads(body) if status == 200 else ""
        except OSError:
            return ""

    def instances(self, service):
        status, _, body = self.request("GET", "/v1/catalog/service/%s?stale" % service)
        assert status == 200, body
        return {e["ServiceID"] for e in json.loads(body)}


def start_three(root, config=None, test=None):
    """Servers s1, s2, s3 under root, each joining those started before it;
    returns them once all three know a leader (None if none within 20 s).
    With `test` (a TestCase), stop_all is registered as its cleanup at once,
    so the servers stop even when setUp fails after this (no tearDown then)."""
    s = [Server("s%d" % i, root, config) for i in range(1, 4)]
    if test is not None:
        test.addCleanup(stop_all, s, root)
    s[0].start()
    s[1].start([s[0].server_addr])
    s[2].start([s[0].server_addr, s[1].server_addr])
    return s, wait_until(lambda: all(x.leader() for x in s), timeout=20)


def stop_all(servers, root):
    """tearDown for start_three: kill -9 every server (no clean leave to wait
    for), then remove root with their data dirs and logs."""
    for x in servers:
        x.stop(signal.SIGKILL)
    if not os.environ.get("KEEP"):  # KEEP=1: leave the logs for a look
        shutil.rmtree(root, ignore_errors=True)


class ClusterTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-cluster-")
        # Small snapshot settings so that a lagging follower needs one.
        config = {"raft_snapshot_threshold": 40, "raft_trailing_logs": 10}
        self.s, led = start_three(self.root, config, test=self)
        self.assertTrue(led, "no leader elected")
        self.acked = set()

    def joins(self, me):
        return [x.server_addr for x in self.s if x is not me]

    def leader_server(self):
        addr = self.s[0].leader() or self.s[1].leader() or self.s[2].leader()
        return next(x for x in self.s if x.server_addr == addr)

    def register_through(self, server, ids, attempts=40):
        for sid in ids:
            for _ in range(attempts):
                try:
                    status, _, body = server.request("PUT", "/v1/agent/service/register",
                                                     {"Name": "web", "ID": sid, "Port": 80})
                except OSError:
                    status = 0
                if status == 200:
                    self.acked.add(sid)
                    break
                time.sleep(0.1)

    def assert_everywhere(self, servers=None):
        for x in servers or self.s:
            self.assertTrue(wait_until(lambda: self.acked <= x.instances("web"), timeout=20),
                            "%s lacks %s" % (x.name, sorted(self.acked - x.instances("web"))[:5]))

    def test_writes_through_any_server_reach_every_server(self):
        for i, x in enumerate(self.s):
            self.register_through(x, ["a%d-%d" % (i, k) for k in range(10)])
        self.assertEqual(len(self.acked), 30)
        self.assert_everywhere()
        # The operator views list the three servers and agree on the leader.
        status, _, body = self.s[1].request("GET", "/v1/operator/raft/configuration")
        self.assertEqual(status, 200, body)
        servers = json.loads(body)["Servers"]
        self.assertEqual(sorted(x["Node"] for x in servers), ["s1", "s2", "s3"])
        self.assertEqual(sum(1 for x in servers if x["Leader"]), 1)
        members = json.loads(self.s[0].request("GET", "/v1/agent/members")[2])
        self.assertEqual(len(members), 3)
        r = subprocess.run([CAIRN, "operator", "raft", "list-peers", "-http-addr", self.s[2].http],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = r.stdout.strip().splitlines()[1:]
        self.assertEqual(len(rows), 3, r.stdout)
        self.assertEqual(sum(1 for row in rows if " leader " in row), 1, r.stdout)
        # Read-your-writes on the server that took the write.
        self.register_through(self.s[2], ["ryw"])
        self.assertIn("ryw", self.s[2].instances("web"))

    def test_default_reads_are_linearizable_on_followers(self):
        leader = self.leader_server()
        followers = [x for x in self.s if x is not leader]
        for k in range(20):
            self.register_through(followers[k % 2], ["lin-%d" % k])
            # A default read on the other follower right after the ack must
            # see the write (ReadIndex through the leader), like ?consistent.
            other = followers[(k + 1) % 2]
            for query in ("", "&consistent"):
                status, headers, body = other.request("GET", "/v1/catalog/service/web?x=1" + query)
                self.assertEqual(status, 200, body)
                self.assertIn("lin-%d" % k, {e["ServiceID"] for e in json.loads(body)})
                self.assertIn("X-Consul-LastContact", headers)
        status, headers, _ = leader.request("GET", "/v1/catalog/services")
        self.assertEqual(headers["X-Consul-LastContact"], "0")
        self.assertEqual(headers["X-Consul-KnownLeader"], "true")

    def test_leader_kill9_and_restart_loses_nothing(self):
        self.register_through(self.s[0], ["before-%d" % k for k in range(20)])
        leader = self.leader_server()
        leader.stop(signal.SIGKILL)
        others = [x for x in self.s if x is not leader]
        self.assertTrue(wait_until(lambda: others[0].leader() and others[0].leader() != leader.server_addr,
                                   timeout=20), "no new leader")
        self.register_through(others[0], ["during-%d" % k for k in range(20)])
        self.register_through(others[1], ["during2-%d" % k for k in range(20)])
        leader.restart(self.joins(leader))
        self.assert_everywhere()

    def test_follower_far_behind_catches_up_by_snapshot(self):
        leader = self.leader_server()
        follower = next(x for x in self.s if x is not leader)
        follower.stop(signal.SIGKILL)
        # Enough writes for several snapshots and log compaction (every 40).
        self.register_through(leader, ["snap-%d" % k for k in range(150)])
        follower.restart(self.joins(follower))
        self.assert_everywhere()
        with open(follower.log_path) as f:
            self.assertIn("installed snapshot", f.read())

    def test_paused_follower_resumes(self):
        leader = self.leader_server()
        follower = next(x for x in self.s if x is not leader)
        follower.proc.send_signal(signal.SIGSTOP)
        try:
            self.register_through(leader, ["paused-%d" % k for k in range(20)])
        finally:
            follower.proc.send_signal(signal.SIGCONT)
        self.assert_everywhere()

    def test_rolling_restart_loses_nothing_and_keeps_a_leader(self):
        for round_, x in enumerate(self.s):
            self.register_through(self.leader_server(), ["roll%d-%d" % (round_, k) for k in range(10)])
            x.stop(signal.SIGTERM)
            down_since = time.monotonic()
            others = [o for o in self.s if o is not x]
            # The others keep (or quickly elect) a leader while x is down.
            self.assertTrue(wait_until(lambda: any(o.leader() and o.leader() != x.server_addr for o in others),
                                       timeout=10), "no leader while %s was down" % x.name)
            self.assertLess(time.monotonic() - down_since, 10)
            self.register_through(others[0], ["rolling%d-%d" % (round_, k) for k in range(10)])
            x.restart(self.joins(x))
        self.assert_everywhere()

    def test_load_reports_reach_every_server(self):
        self.register_through(self.s[0], ["lo", "hi"])
        self.assert_everywhere()
        index = self.s[2].request("GET", "/v1/health/service/web")[1]["X-Consul-Index"]
        # Reported to two different servers; read on the third.
        for server, sid, load in ((self.s[0], "hi", 90), (self.s[1], "lo", 5)):
            status, _, body = server.request("PUT", "/v1/agent/service/load/" + sid, {"Load": load})
            self.assertEqual(status, 200, body)
        def first(server):
            status, headers, body = server.request("GET", "/v1/health/service/web?order=least-loaded")
            self.assertEqual(status, 200, body)
            return [e["Service"]["ID"] for e in json.loads(body)][0], headers["X-Consul-Index"]
        start = time.monotonic()
        for x in self.s:
            self.assertTrue(wait_until(lambda: first(x)[0] == "lo", timeout=5), x.name)
        self.assertLess(time.monotonic() - start, 3)
        # A change follows, and no catalog index moves.
        self.s[2].request("PUT", "/v1/agent/service/load/lo", {"Load": 500})
        for x in self.s:
            self.assertTrue(wait_until(lambda: first(x)[0] == "hi", timeout=5), x.name)
            self.assertEqual(first(x)[1], index)

    def test_no_leader_gives_a_clear_error(self):
        leader = self.leader_server()
        survivors = [x for x in self.s if x is not leader]
        survivors[0].stop(signal.SIGKILL)
        leader.stop(signal.SIGKILL)
        start = time.monotonic()
        status, _, body = survivors[1].request("PUT", "/v1/agent/service/register",
                                               {"Name": "web", "ID": "orphan"}, timeout=30)
        self.assertEqual(status, 500, body)
        self.assertIn("No cluster leader", body)
        self.assertLess(time.monotonic() - start, 20)


if __name__ == "__main__":
    unittest.main()
