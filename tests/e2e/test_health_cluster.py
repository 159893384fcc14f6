"""Health checks in a three-server Raft cluster: each check runs on exactly
one live server (probes counted at the target), a check moves when the
server running it is killed with -9 and its status stays right, and TTL
heartbeats taken by one server reach the server that keeps the check's
timer."""
import http.server
import json
import signal
import tempfile
import threading
import time
import unittest

from cairn_agent import wait_until
from test_cluster import start_three

CHECKS = 6


class CountingTarget:
    """An HTTP server on loopback answering 200 on /c<N>, recording when each
    path was hit."""

    def __init__(self, port=0):
        self.hits = {}
        self.lock = threading.Lock()
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with target.lock:
                    target.hits.setdefault(self.path, []).append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, path, since, until):
        with self.lock:
            return sum(1 for t in self.hits.get(path, []) if since <= t < until)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class HealthClusterTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-health-cluster-")
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader elected")
        self.target = None

    def tearDown(self):
        if self.target:
            self.target.stop()

    def metric(self, server, name):
        try:
            status, _, body = server.request("GET", "/metrics", timeout=2)
        except OSError:
            return None
        if status != 200:
            return None
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def running(self, servers):
        return [self.metric(x, "cairn_health_checks_running") for x in servers]

    def put(self, server, path, body=None):
        for _ in range(50):
            try:
                status, _, text = server.request("PUT", path, body)
            except OSError:
                status, text = 0, "connection failed"
            if status == 200:
                return
            time.sleep(0.2)
        self.fail("PUT %s: %s %s" % (path, status, text))

    def statuses(self, server, service):
        try:
            status, _, body = server.request("GET", "/v1/health/checks/%s?stale" % service, timeout=2)
        except OSError:
            return {}
        if status != 200:
            return {}
        return {c["CheckID"]: c["Status"] for c in json.loads(body)}

    def all_status(self, servers, service, want, n):
        def ok():
            for x in servers:
                st = self.statuses(x, service)
                if len(st) != n or any(v != want for v in st.values()):
                    return False
            return True
        return ok

    def assert_runs_once(self, window=6.0):
        """Every check is probed about once a second: never twice as often,
        as it would be if two servers ran it."""
        start = time.monotonic()
        time.sleep(window)
        for i in range(CHECKS):
            n = self.target.count("/c%d" % i, start, start + window)
            self.assertGreaterEqual(n, window - 3, "check %d probed %d times in %.0f s" % (i, n, window))
            self.assertLessEqual(n, window + 2, "check %d probed %d times in %.0f s: run twice?"
                                 % (i, n, window))

    def test_each_check_runs_once_and_moves_when_its_server_dies(self):
        self.target = CountingTarget()
        port = self.target.port
        for i in range(CHECKS):
            self.put(self.s[0], "/v1/agent/service/register", {
                "Name": "web", "ID": "web%d" % i, "Port": port,
                "Check": {"CheckID": "web%d-http" % i, "Name": "http",
                          "HTTP": "http://127.0.0.1:%d/c%d" % (port, i),
                          "Interval": "1s", "Timeout": "1s"}})
        self.assertTrue(wait_until(self.all_status(self.s, "web", "passing", CHECKS), timeout=20),
                        "checks did not pass on every server: %s" % self.statuses(self.s[0], "web"))
        # Exactly one server runs each check.
        self.assertTrue(wait_until(lambda: sum(self.running(self.s)) == CHECKS, timeout=10),
                        "running: %s" % self.running(self.s))
        self.assert_runs_once()

        # kill -9 the server running the most checks.
        counts = self.running(self.s)
        victim = self.s[counts.index(max(counts))]
        rest = [x for x in self.s if x is not victim]
        victim.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        self.assertTrue(wait_until(lambda: sum(c or 0 for c in self.running(rest)) == CHECKS,
                                   timeout=15),
                        "checks did not move: %s" % self.running(rest))
        moved_after = time.monotonic() - killed_at
        self.assertLess(moved_after, 15)
        self.assert_runs_once()
        self.assertTrue(wait_until(self.all_status(rest, "web", "passing", CHECKS), timeout=5))

        # The survivors see the target die, and come back.
        self.target.stop()
        self.target = None
        self.assertTrue(wait_until(self.all_status(rest, "web", "critical", CHECKS), timeout=15),
                        "not critical: %s" % self.statuses(rest[0], "web"))
        self.target = CountingTarget(port)
        self.assertTrue(wait_until(self.all_status(rest, "web", "passing", CHECKS), timeout=15),
                        "not passing again: %s" % self.statuses(rest[0], "web"))

        # The killed server comes back: checks spread over three again, still once each.
        victim.restart([x.server_addr for x in rest])
        self.assertTrue(wait_until(lambda: all(c is not None for c in self.running(self.s)) and
                                   sum(self.running(self.s)) == CHECKS, timeout=20),
                        "running: %s" % self.running(self.s))
        time.sleep(1)  # every server has applied the new list
        self.assert_runs_once()

    def test_ttl_heartbeats_reach_the_server_running_the_check(self):
        ttl_checks = 9
        for i in range(ttl_checks):
            self.put(self.s[0], "/v1/agent/check/register",
                     {"CheckID": "hb%d" % i, "Name": "heartbeat", "TTL": "3s", "Status": "passing"})
        self.assertTrue(wait_until(lambda: sum(c or 0 for c in self.running(self.s)) == ttl_checks,
                                   timeout=10), "running: %s" % self.running(self.s))
        # Heartbeats through s1 only, for longer than the TTL: the checks run
        # elsewhere stay passing because s1 passes the heartbeats on.
        end = time.monotonic() + 8
        while time.monotonic() < end:
            for i in range(ttl_checks):
                self.put(self.s[0], "/v1/agent/check/pass/hb%d" % i)
            time.sleep(0.5)
            node_checks = self.node_checks(self.s[0])
            self.assertTrue(all(node_checks.get("hb%d" % i) == "passing" for i in range(ttl_checks)),
                            "a heartbeat was lost: %s" % node_checks)
        self.assertGreater(self.metric(self.s[0], "cairn_health_ttl_forwarded_total"), 0,
                           "s1 ran every check; nothing was forwarded (running %s)"
                           % self.running(self.s))
        # No more heartbeats: every check expires, wherever it runs.
        self.assertTrue(wait_until(lambda: all(
            self.node_checks(self.s[0]).get("hb%d" % i) == "critical" for i in range(ttl_checks)),
            timeout=10), "%s" % self.node_checks(self.s[0]))

    def node_checks(self, server):
        status, _, body = server.request("GET", "/v1/agent/checks", timeout=5)
        if status != 200:
            return {}
        return {k: v["Status"] for k, v in json.loads(body).items()}


if __name__ == "__main__":
    unittest.main()
