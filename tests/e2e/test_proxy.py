"""End-to-end tests of `cairn proxy`: a real agent, real backends on
loopback, the proxy between (plaintext legs; mTLS comes with the mesh CA)."""
import os
import signal
import socket
import threading
import time
import unittest

from cairn_agent import Agent, wait_until
from proxy_support import Backend, Proxy, ProxyCleanup, exchange


class ProxyTest(ProxyCleanup, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent().start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def register(self, name, sid, port, weight=None):
        body = {"Name": name, "ID": sid, "Address": "127.0.0.1", "Port": port}
        if weight is not None:
            body["Weights"] = {"Passing": weight, "Warning": 1}
        status, _, text = self.agent.request("PUT", "/v1/agent/service/register", body)
        self.assertEqual(status, 200, text)
        self.registered.append(sid)

    def backends_for(self, service, n=3, weights=None, **kw):
        out = []
        for i in range(n):
            b = Backend("%s-%d" % (service, i), **kw)
            self.backends.append(b)
            self.register(service, "%s-%d" % (service, i), b.port,
                          weights[i] if weights else None)
            out.append(b)
        return out

    def proxy(self, *args, instances=None, upstream="api"):
        p = Proxy(["-service", "web", "-http-addr", self.agent.addr] + list(args))
        self.proxies.append(p)
        if instances is not None:
            self.assertTrue(wait_until(
                lambda: p.metric("cairn_proxy_upstream_instances", upstream=upstream) == instances),
                p.read_log())
        return p

    def served_by(self, backends, fn):
        before = [b.accepted for b in backends]
        fn()
        return [b.accepted - x for b, x in zip(backends, before)]

    # --- bytes ---------------------------------------------------------

    def test_bytes_arrive_intact_both_ways_small_and_large(self):
        self.backends_for("api", n=1)
        p = self.proxy("-upstream", "api:0", instances=1)
        port = p.upstreams["api"]
        for size in (1, 100, 70_000, 8 << 20):
            data = os.urandom(size)
            self.assertEqual(exchange(port, data), data, size)
        self.assertEqual(p.metric("cairn_proxy_bytes_total", upstream="api", direction="up"),
                         1 + 100 + 70_000 + (8 << 20))
        # The 8 MiB transfers filled the copy buffer: the rest went by splice(2).
        spliced = p.metric("cairn_proxy_spliced_bytes_total", upstream="api")
        self.assertGreater(spliced, 4 << 20)
        self.assertLess(spliced, 2 * (8 << 20))

    def test_half_close_from_the_server_side(self):
        (b,) = self.backends_for("api", n=1, mode="greet")
        p = self.proxy("-upstream", "api:0", instances=1)
        s = socket.create_connection(("127.0.0.1", p.upstreams["api"]), timeout=10)
        got = b""
        while True:  # the greeting, then EOF: the server shut its sending half
            d = s.recv(1024)
            if not d:
                break
            got += d
        self.assertEqual(got, b"hello from api-0")
        # Our half is still open through the proxy: the backend reads it all.
        s.sendall(b"x" * 300_000)
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(wait_until(lambda: b.received == [300_000]), b.received)
        s.close()

    def test_inbound_forwards_to_the_local_app_and_reports_load(self):
        app = Backend("app")
        self.backends.append(app)
        self.register("web", "web-1", app.port)
        self.register("web", "web-2", 1)
        p = self.proxy("-service-id", "web-1", "-listen", "127.0.0.1:0", "-local-app",
                       "127.0.0.1:%d" % app.port, "-load-interval", "200ms")
        self.assertEqual(exchange(p.inbound, b"ping"), b"ping")
        self.agent.request("PUT", "/v1/agent/service/load/web-2", {"Load": 1})
        held = [socket.create_connection(("127.0.0.1", p.inbound)) for _ in range(3)]

        def order():
            body, _ = self.agent.get_json("/v1/health/service/web?order=least-loaded")
            return [e["Service"]["ID"] for e in body]

        self.assertTrue(wait_until(lambda: order() == ["web-2", "web-1"], timeout=10))
        for s in held:
            s.close()
        self.assertTrue(wait_until(lambda: order() == ["web-1", "web-2"], timeout=10))

    # --- policies --------------------------------------------------------

    def sequential(self, port, n, source=None):
        for _ in range(n):
            self.assertEqual(exchange(port, b"abc", source=source), b"abc")

    def test_each_policy_distribution(self):
        bs = self.backends_for("api", weights=[1, 2, 3])
        n = 300
        for policy, check in [
            ("round_robin", lambda c: self.assertEqual(c, [100, 100, 100])),
            ("weighted", lambda c: self.assertEqual(c, [50, 100, 150])),
            # Uniform: 100 each; 5 sigma of a binomial(300, 1/3) is ~41.
            ("random", lambda c: [self.assertAlmostEqual(x, 100, delta=41) for x in c]),
            # Idle instances everywhere: two random choices tie, so near uniform.
            ("least_request", lambda c: [self.assertAlmostEqual(x, 100, delta=41) for x in c]),
        ]:
            with self.subTest(policy=policy):
                p = Proxy(["-service", "web", "-http-addr", self.agent.addr, "-seed", "7",
                           "-upstream", "api:0:" + policy])
                try:
                    self.assertTrue(wait_until(
                        lambda: p.metric("cairn_proxy_upstream_instances") == 3))
                    counts = self.served_by(bs, lambda: self.sequential(p.upstreams["api"], n))
                    check(counts)
                    choices = sorted(v for (name, l), v in p.metrics().items()
                                     if name == "cairn_proxy_upstream_choices_total")
                    self.assertEqual(sorted(counts), choices)
                finally:
                    p.stop()

    def test_ring_hash_is_sticky_per_client_address_and_spreads(self):
        bs = self.backends_for("api")
        p = self.proxy("-seed", "3", "-upstream", "api:0:ring_hash", instances=3)
        port = p.upstreams["api"]
        owner = {}
        for i in range(1, 61):
            src = "127.0.%d.%d" % (i // 200, 1 + i % 200)
            counts = self.served_by(bs, lambda: self.sequential(port, 3, source=src))
            self.assertEqual(sorted(counts), [0, 0, 3], src)  # all three on one instance
            owner[src] = counts.index(3)
        spread = [list(owner.values()).count(k) for k in range(3)]
        # 60 addresses over 3 instances: each gets a fair share (20 +- 12).
        for s in spread:
            self.assertGreaterEqual(s, 8, spread)

    def concurrent_load(self, port, workers=6, per_worker=15):
        errors = []

        def work():
            try:
                for _ in range(per_worker):
                    if exchange(port, b"q" * 10) != b"q" * 10:
                        errors.append("mismatch")
            except OSError as e:
                errors.append(repr(e))

        ts = [threading.Thread(target=work) for _ in range(workers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(120)
        self.assertEqual(errors, [])

    def test_least_request_and_peak_ewma_avoid_a_slow_instance(self):
        fast = self.backends_for("api", n=2)
        slow = Backend("slow", delay=0.15)
        self.backends.append(slow)
        self.register("api", "api-slow", slow.port)
        total = 6 * 15
        results = {}
        for policy in ("round_robin", "least_request", "peak_ewma"):
            p = Proxy(["-service", "web", "-http-addr", self.agent.addr, "-seed", "11",
                       "-upstream", "api:0:" + policy])
            try:
                self.assertTrue(wait_until(lambda: p.metric("cairn_proxy_upstream_instances") == 3))
                counts = self.served_by(fast + [slow],
                                        lambda: self.concurrent_load(p.upstreams["api"]))
                self.assertEqual(sum(counts), total)
                results[policy] = counts[2] / total
            finally:
                p.stop()
        # Round robin gives the slow one its third; the load-aware policies
        # send it clearly less (peak_ewma: once its latency is seen, two
        # random choices never pick the worst of three).
        self.assertAlmostEqual(results["round_robin"], 1 / 3, delta=0.02)
        self.assertLess(results["least_request"], 0.22, results)
        self.assertLess(results["peak_ewma"], 0.1, results)

    # --- failures --------------------------------------------------------

    def test_killed_backend_is_ejected_and_returns_after_backoff(self):
        bs = self.backends_for("api")
        p = self.proxy("-upstream", "api:0:round_robin", "-eject-after", "2", "-eject-base", "1s",
                       "-eject-max", "4s", instances=3)
        port = p.upstreams["api"]
        dead_port = bs[1].port
        bs[1].stop()
        # Every connection still succeeds: a refused connect retries elsewhere.
        counts = self.served_by(bs, lambda: self.sequential(port, 30))
        self.assertEqual(counts[1], 0)
        self.assertEqual(counts[0] + counts[2], 30)
        self.assertEqual(p.metric("cairn_proxy_upstream_ejected", instance="e2e-node/api-1"), 1,
                         p.metrics())
        # Two failed connects ejected it; no attempt since (skipped while ejected).
        self.assertEqual(p.metric("cairn_proxy_connect_failures_total", upstream="api"), 2)
        self.assertEqual(p.metric("cairn_proxy_connections_rejected_total", upstream="api"), 0)
        # The backend comes back on its port; after the back-off it is used again.
        back = Backend("api-1", port=dead_port)
        self.backends.append(back)
        self.assertTrue(wait_until(lambda: p.metric("cairn_proxy_upstream_ejected") == 0,
                                   timeout=5))
        counts = self.served_by([bs[0], back, bs[2]], lambda: self.sequential(port, 30))
        self.assertEqual(counts, [10, 10, 10])

    def test_instance_list_follows_the_registry(self):
        bs = self.backends_for("api")
        p = self.proxy("-upstream", "api:0:round_robin", instances=3)
        port = p.upstreams["api"]
        self.agent.request("PUT", "/v1/agent/service/deregister/api-2")
        self.assertTrue(wait_until(lambda: p.metric("cairn_proxy_upstream_instances") == 2))
        counts = self.served_by(bs, lambda: self.sequential(port, 20))
        self.assertEqual(counts, [10, 10, 0])
        self.register("api", "api-2", bs[2].port)
        self.assertTrue(wait_until(lambda: p.metric("cairn_proxy_upstream_instances") == 3))
        counts = self.served_by(bs, lambda: self.sequential(port, 30))
        self.assertEqual(counts, [10, 10, 10])

    def test_watch_retries_until_the_agent_is_up(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        b = Backend("late")
        self.backends.append(b)
        p = Proxy(["-service", "web", "-http-addr", "127.0.0.1:%d" % port, "-upstream", "late:0"])
        self.proxies.append(p)
        time.sleep(0.5)  # a few failed queries, backing off
        self.assertIsNone(p.proc.poll())
        agent = Agent(extra_args=["-http-port", str(port)], node="late-node")
        try:
            agent.start()
            status, _, text = agent.request("PUT", "/v1/agent/service/register", {
                "Name": "late", "ID": "late-1", "Address": "127.0.0.1", "Port": b.port})
            self.assertEqual(status, 200, text)
            self.assertTrue(wait_until(lambda: p.metric("cairn_proxy_upstream_instances") == 1,
                                       timeout=15), p.read_log())
            self.assertEqual(exchange(p.upstreams["late"], b"hi"), b"hi")
        finally:
            p.stop()
            self.proxies.remove(p)
            agent.cleanup()

    def test_graceful_drain_finishes_an_in_flight_stream(self):
        self.backends_for("api", n=1)
        p = self.proxy("-upstream", "api:0", "-drain-timeout", "20s", instances=1)
        port = p.upstreams["api"]
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"before")
        self.assertEqual(s.recv(100), b"before")
        p.proc.send_signal(signal.SIGTERM)
        self.assertTrue(wait_until(lambda: p.metric("cairn_proxy_draining") == 1))
        # New connections are refused while the stream goes on.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2)
        time.sleep(0.3)
        self.assertIsNone(p.proc.poll())
        for i in range(5):
            msg = b"during %d" % i
            s.sendall(msg)
            self.assertEqual(s.recv(100), msg)
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(s.recv(100), b"")  # the backend's EOF came through
        s.close()
        self.assertEqual(p.proc.wait(timeout=10), 0)

    def test_drain_deadline_closes_what_is_left(self):
        self.backends_for("api", n=1)
        p = self.proxy("-upstream", "api:0", "-drain-timeout", "1s", instances=1)
        s = socket.create_connection(("127.0.0.1", p.upstreams["api"]), timeout=10)
        s.sendall(b"x")
        self.assertEqual(s.recv(10), b"x")
        started = time.monotonic()
        p.proc.send_signal(signal.SIGTERM)
        self.assertEqual(p.proc.wait(timeout=10), 0)
        self.assertGreaterEqual(time.monotonic() - started, 0.9)
        self.assertEqual(s.recv(10), b"")  # closed by the proxy at the deadline
        s.close()

    def test_idle_timeout_and_connection_limit(self):
        self.backends_for("api", n=1)
        p = self.proxy("-upstream", "api:0", "-idle-timeout", "300ms", "-max-connections", "2",
                       instances=1)
        port = p.upstreams["api"]
        held = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
        for s in held:
            s.sendall(b"a")
            self.assertEqual(s.recv(10), b"a")
        # A third is over the limit: closed at once.
        self.assertEqual(exchange(port, b"x"), b"")
        self.assertEqual(p.metric("cairn_proxy_connections_rejected_total", reason="limit"), 1)
        # The held ones go quiet and are closed after the idle timeout.
        for s in held:
            self.assertEqual(s.recv(10), b"")
            s.close()
        self.assertEqual(p.metric("cairn_proxy_idle_timeouts_total", upstream="api"), 2)
        self.assertEqual(exchange(port, b"again"), b"again")

    def test_no_instance_refuses_the_connection(self):
        p = self.proxy("-upstream", "nothing:0", instances=0, upstream="nothing")
        self.assertEqual(exchange(p.upstreams["nothing"], b"x"), b"")
        self.assertEqual(p.metric("cairn_proxy_connections_rejected_total", reason="no_instance"), 1)


if __name__ == "__main__":
    unittest.main()
