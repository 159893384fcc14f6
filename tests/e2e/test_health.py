"""Active health checks on a one-server (-dev) agent, against real targets
the test starts and stops: HTTP and TCP checks follow their target, TTL
checks expire, a heartbeat that changes nothing writes nothing, and a
service critical for too long is deregistered."""
import http.server
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

import dns.message  # Debian's python3-dnspython
import dns.query
import dns.rdatatype

from cairn_agent import Agent, AgentChecks, wait_until


class Target:
    """An HTTP server on loopback answering every GET with `code`, or, when
    `codes` is set, with its codes in turn."""

    def __init__(self, port=0, code=200):
        self.code = code
        self.codes = None
        self.hits = 0
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                target.hits += 1
                code = target.codes[target.hits % len(target.codes)] if target.codes else target.code
                body = b"fine" if code == 200 else b"not fine"
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class HealthTest(AgentChecks, unittest.TestCase):
    def setUp(self):
        self.agent = Agent().start()

    def tearDown(self):
        self.agent.cleanup()

    def dns_instances(self, name):
        """SRV records DNS gives for the service (DNS leaves critical instances out)."""
        q = dns.message.make_query("%s.service.consul." % name, dns.rdatatype.SRV)
        r = dns.query.udp(q, "127.0.0.1", port=self.agent.dns_port, timeout=2)
        return sum(len(rr) for rr in r.answer if rr.rdtype == dns.rdatatype.SRV)

    def test_http_check_follows_its_target(self):
        target = Target()
        port = target.port
        try:
            self.put("/v1/agent/service/register", {
                "Name": "web", "ID": "web1", "Port": port,
                "Check": {"CheckID": "web-http", "HTTP": "http://127.0.0.1:%d/health" % port,
                          "Interval": "1s", "FailuresBeforeCritical": 2}})
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "passing"), 10),
                            self.check("web-http"))
            self.assertIn("200 OK", self.check("web-http")["Output"])
            self.assertEqual(self.passing_instances("web"), 1)
            self.assertEqual(self.dns_instances("web"), 1)
            target.stop()
            # interval x failures_before_critical, plus scheduling slack.
            t0 = time.monotonic()
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "critical"), 2 * 1 + 3),
                            self.check("web-http"))
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(self.passing_instances("web"), 0)
            self.assertEqual(self.dns_instances("web"), 0)
            target = Target(port=port)
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "passing"), 5),
                            self.check("web-http"))
            self.assertEqual(self.passing_instances("web"), 1)
            self.assertEqual(self.dns_instances("web"), 1)
            # A 429 is a warning.
            target.code = 429
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "warning"), 5),
                            self.check("web-http"))
        finally:
            target.stop()

    def test_flapping_target_does_not_flap_the_check(self):
        target = Target()
        try:
            self.put("/v1/agent/service/register", {
                "Name": "flappy", "ID": "flappy1", "Port": target.port,
                "Check": {"CheckID": "flappy-http",
                          "HTTP": "http://127.0.0.1:%d/" % target.port, "Interval": "1s",
                          "SuccessBeforePassing": 3, "FailuresBeforeCritical": 3}})
            self.assertTrue(wait_until(lambda: self.status_is("flappy-http", "passing"), 10))
            # Alternating answers never make three failures in a row: it stays
            # passing, and nothing is written.
            _, index = self.agent.get_json("/v1/health/checks/flappy")
            target.codes = [200, 500]
            hits = target.hits
            self.assertTrue(wait_until(lambda: target.hits >= hits + 6, 15))
            self.assertTrue(self.status_is("flappy-http", "passing"), self.check("flappy-http"))
            _, later = self.agent.get_json("/v1/health/checks/flappy")
            self.assertEqual(index, later)
            # Three failures in a row: critical.
            target.codes = None
            target.code = 500
            self.assertTrue(wait_until(lambda: self.status_is("flappy-http", "critical"), 3 * 1 + 4))
            # Alternating again never makes three successes in a row: stays critical.
            target.codes = [200, 500]
            hits = target.hits
            self.assertTrue(wait_until(lambda: target.hits >= hits + 6, 15))
            self.assertTrue(self.status_is("flappy-http", "critical"), self.check("flappy-http"))
            target.codes = None
            target.code = 200
            self.assertTrue(wait_until(lambda: self.status_is("flappy-http", "passing"), 3 * 1 + 4))
        finally:
            target.stop()

    def test_steady_state_writes_nothing(self):
        target = Target()
        try:
            self.put("/v1/agent/service/register", {
                "Name": "steady", "ID": "steady1", "Port": target.port,
                "Check": {"CheckID": "steady-http",
                          "HTTP": "http://127.0.0.1:%d/" % target.port, "Interval": "1s"}})
            self.assertTrue(wait_until(lambda: self.status_is("steady-http", "passing"), 10))
            _, index = self.agent.get_json("/v1/health/service/steady")
            hits = target.hits
            self.assertTrue(wait_until(lambda: target.hits >= hits + 3, 10))
            _, later = self.agent.get_json("/v1/health/service/steady")
            self.assertEqual(index, later)
        finally:
            target.stop()

    def test_tcp_check(self):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = listener.getsockname()[1]
        try:
            self.put("/v1/agent/service/register", {
                "Name": "db", "ID": "db1", "Port": port,
                "Check": {"CheckID": "db-tcp", "TCP": "127.0.0.1:%d" % port, "Interval": "1s"}})
            self.assertTrue(wait_until(lambda: self.status_is("db-tcp", "passing"), 10),
                            self.check("db-tcp"))
        finally:
            listener.close()
        self.assertTrue(wait_until(lambda: self.status_is("db-tcp", "critical"), 5),
                        self.check("db-tcp"))

    def test_ttl_check_expires(self):
        self.put("/v1/agent/service/register", {
            "Name": "worker", "ID": "worker1",
            "Check": {"CheckID": "worker-ttl", "TTL": "2s"}})
        self.put("/v1/agent/check/pass/worker-ttl?note=alive")
        self.assertTrue(self.status_is("worker-ttl", "passing"))
        _, index = self.agent.get_json("/v1/health/service/worker")
        # The same report again is a heartbeat: it writes nothing...
        self.put("/v1/agent/check/pass/worker-ttl?note=alive")
        _, again = self.agent.get_json("/v1/health/service/worker")
        self.assertEqual(index, again)
        # ...but restarts the TTL: 1.5 s later it is still passing.
        time.sleep(1.5)
        self.put("/v1/agent/check/pass/worker-ttl?note=alive")
        time.sleep(1.0)
        self.assertTrue(self.status_is("worker-ttl", "passing"), self.check("worker-ttl"))
        # No report within the TTL: critical.
        self.assertTrue(wait_until(lambda: self.status_is("worker-ttl", "critical"), 5),
                        self.check("worker-ttl"))
        self.assertIn("TTL expired", self.check("worker-ttl")["Output"])
        # A report brings it back.
        self.put("/v1/agent/check/pass/worker-ttl")
        self.assertTrue(self.status_is("worker-ttl", "passing"))

    def test_deregister_critical_service_after(self):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        self.put("/v1/agent/service/register", {
            "Name": "gone", "ID": "gone1", "Port": port,
            "Check": {"CheckID": "gone-tcp", "TCP": "127.0.0.1:%d" % port, "Interval": "1s",
                      "DeregisterCriticalServiceAfter": "2s"}})
        services, _ = self.agent.get_json("/v1/agent/services")
        self.assertIn("gone1", services)

        def gone():
            s, _ = self.agent.get_json("/v1/agent/services")
            return "gone1" not in s
        self.assertTrue(wait_until(gone, 10))


class EndingTarget:
    """A target that records how each probe's connection ended: "fin" when
    recv returns b"" (a normal close), "reset" on ECONNRESET. As an HTTP
    target it reads the request and answers 200 with a Content-Length, then
    keeps reading until the prober closes; as a TCP target it only reads."""

    def __init__(self, http):
        self.http = http
        self.endings = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self.one, args=(conn,), daemon=True).start()

    def one(self, conn):
        conn.settimeout(10)
        ending = "timeout"
        try:
            if self.http:
                got = b""
                while b"\r\n\r\n" not in got:
                    chunk = conn.recv(4096)
                    if not chunk:
                        raise ConnectionAbortedError("request cut short")
                    got += chunk
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            while conn.recv(4096):
                pass
            ending = "fin"
        except ConnectionResetError:
            ending = "reset"
        except OSError as e:
            ending = repr(e)
        finally:
            conn.close()
        with self.lock:
            self.endings.append(ending)

    def seen(self):
        with self.lock:
            return list(self.endings)

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


class CheckCloseTest(unittest.TestCase):
    """check_close: HTTP and TCP probes end with a FIN ("fin", the default) or
    an RST ("reset"), seen by the target; the check passes either way."""

    def run_mode(self, mode):
        cfg_dir = tempfile.mkdtemp(prefix="cairn-close-")
        self.addCleanup(shutil.rmtree, cfg_dir, True)
        args = []
        if mode is not None:
            with open(os.path.join(cfg_dir, "close.toml"), "w") as f:
                f.write('check_close = "%s"\n' % mode)
            args = ["-config-dir", cfg_dir]
        agent = Agent(extra_args=args)
        self.addCleanup(agent.cleanup)
        # A suite-wide CAIRN_E2E_CHECK_CLOSE would be a flag, which beats the config file.
        suite_close = os.environ.pop("CAIRN_E2E_CHECK_CLOSE", None) if mode else None
        try:
            agent.start()
        finally:
            if suite_close is not None:
                os.environ["CAIRN_E2E_CHECK_CLOSE"] = suite_close
        web, db = EndingTarget(http=True), EndingTarget(http=False)
        self.addCleanup(web.stop)
        self.addCleanup(db.stop)
        for name, target, check in (
                ("web", web, {"HTTP": "http://127.0.0.1:%d/health" % web.port}),
                ("db", db, {"TCP": "127.0.0.1:%d" % db.port})):
            check.update({"CheckID": name + "-check", "Interval": "1s", "Timeout": "5s"})
            status, _, text = agent.request("PUT", "/v1/agent/service/register", {
                "Name": name, "ID": name + "1", "Port": target.port, "Check": check})
            self.assertEqual(status, 200, text)
        # Three probes each, all ended as configured, and both checks passing.
        self.assertTrue(wait_until(lambda: len(web.seen()) >= 3 and len(db.seen()) >= 3, 15),
                        (web.seen(), db.seen()))
        checks, _ = agent.get_json("/v1/agent/checks")
        self.assertEqual(checks["web-check"]["Status"], "passing", checks["web-check"])
        self.assertIn("200 OK Output: ok", checks["web-check"]["Output"])
        self.assertEqual(checks["db-check"]["Status"], "passing", checks["db-check"])
        expected = mode or os.environ.get("CAIRN_E2E_CHECK_CLOSE") or "fin"
        self.assertEqual(set(web.seen()), {expected}, web.seen())
        self.assertEqual(set(db.seen()), {expected}, db.seen())

    def test_default(self):
        self.run_mode(None)

    def test_fin(self):
        self.run_mode("fin")

    def test_reset(self):
        self.run_mode("reset")


class ProbeEngineTest(unittest.TestCase):
    """check_io_uring: plain HTTP and TCP checks to IP addresses go through
    io_uring by default (with either check_close), through epoll when it is
    off; the checks follow their targets either way."""

    def run_agent(self, extra):
        agent = Agent(extra_args=extra).start()
        self.addCleanup(agent.cleanup)
        target = Target()
        self.addCleanup(target.stop)
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        tcp_port = listener.getsockname()[1]
        for body in [{"Name": "web", "ID": "web1", "Port": target.port,
                      "Check": {"CheckID": "web-http", "Interval": "1s",
                                "HTTP": "http://127.0.0.1:%d/" % target.port}},
                     {"Name": "db", "ID": "db1", "Port": tcp_port,
                      "Check": {"CheckID": "db-tcp", "Interval": "1s",
                                "TCP": "127.0.0.1:%d" % tcp_port}}]:
            status, _, text = agent.request("PUT", "/v1/agent/service/register", body)
            self.assertEqual(status, 200, text)

        def status(check_id):
            checks, _ = agent.get_json("/v1/agent/checks")
            return checks.get(check_id, {}).get("Status")

        for check_id in ["web-http", "db-tcp"]:
            self.assertTrue(wait_until(lambda: status(check_id) == "passing", 10), check_id)
        hits = target.hits
        self.assertTrue(wait_until(lambda: target.hits >= hits + 2, 10))
        target.stop()
        listener.close()
        for check_id in ["web-http", "db-tcp"]:
            self.assertTrue(wait_until(lambda: status(check_id) == "critical", 10), check_id)
        checks, _ = agent.get_json("/v1/agent/checks")
        self.assertIn("Connection refused", checks["web-http"]["Output"])
        self.assertIn("Connection refused", checks["db-tcp"]["Output"])
        return agent.metric("cairn_health_probes_io_uring_total")

    def test_default_uses_io_uring(self):
        self.assertGreaterEqual(self.run_agent([]), 6)

    def test_off(self):
        self.assertEqual(self.run_agent(["-check-io-uring=false"]), 0)


class ScriptCheckTest(unittest.TestCase):
    JOB = {"Name": "job", "ID": "job1",
           "Check": {"CheckID": "job-script", "Args": ["/bin/sh", "-c", "echo busy; exit 1"],
                     "Interval": "1s"}}

    def run_agent(self, extra_args):
        agent = Agent(extra_args=extra_args).start()
        self.addCleanup(agent.cleanup)
        status, _, text = agent.request("PUT", "/v1/agent/service/register", self.JOB)
        self.assertEqual(status, 200, text)
        return agent

    def check(self, agent):
        checks, _ = agent.get_json("/v1/agent/checks")
        return checks["job-script"]

    def test_script_checks_run_when_enabled(self):
        agent = self.run_agent(["-enable-script-checks"])
        self.assertTrue(wait_until(lambda: self.check(agent)["Status"] == "warning", 10),
                        self.check(agent))
        self.assertEqual(self.check(agent)["Output"], "busy\n")

    def test_script_checks_off_by_default(self):
        agent = Agent().start()
        self.addCleanup(agent.cleanup)
        # Every way in refuses a script check, with the reason; nothing is registered.
        attempts = [
            ("/v1/agent/service/register", self.JOB),
            ("/v1/agent/check/register", {"Name": "s", "Args": ["/bin/true"], "Interval": "1s"}),
            ("/v1/catalog/register", {"Node": "ext", "Address": "10.0.0.1",
                                      "Check": {"CheckID": "s", "Name": "s",
                                                "Definition": {"Args": ["/bin/true"],
                                                               "Interval": "1s"}}}),
        ]
        for path, body in attempts:
            status, _, text = agent.request("PUT", path, body)
            self.assertEqual(status, 400, "%s: %s" % (path, text))
            self.assertIn("enable_script_checks", text)
        checks, _ = agent.get_json("/v1/agent/checks")
        self.assertEqual(list(checks), ["serfHealth"])  # the agent's own check only
        services, _ = agent.get_json("/v1/agent/services")
        self.assertEqual(services, {})


    def test_script_check_in_the_config_stops_the_start(self):
        cfg_dir = tempfile.mkdtemp(prefix="cairn-e2e-cfg-")
        self.addCleanup(shutil.rmtree, cfg_dir, True)
        with open(os.path.join(cfg_dir, "job.json"), "w") as f:
            json.dump({"services": [{"name": "job", "check": {"args": ["/bin/true"],
                                                              "interval": "1s"}}]}, f)
        agent = Agent(extra_args=["-config-dir", cfg_dir])
        self.addCleanup(agent.cleanup)
        with self.assertRaises(RuntimeError) as e:
            agent.start()
        self.assertIn("enable_script_checks", str(e.exception))


class MaintenanceTest(unittest.TestCase):
    def test_node_and_service_maintenance(self):
        agent = Agent().start()
        self.addCleanup(agent.cleanup)
        status, _, text = agent.request("PUT", "/v1/agent/service/register", {"Name": "api"})
        self.assertEqual(status, 200, text)

        def passing():
            entries, _ = agent.get_json("/v1/health/service/api?passing")
            return len(entries)

        def srv():
            q = dns.message.make_query("api.service.consul.", dns.rdatatype.SRV)
            r = dns.query.udp(q, "127.0.0.1", port=agent.dns_port, timeout=2)
            return sum(len(rr) for rr in r.answer if rr.rdtype == dns.rdatatype.SRV)

        self.assertEqual((passing(), srv()), (1, 1))
        for path, check_id in [("/v1/agent/maintenance", "_node_maintenance"),
                               ("/v1/agent/service/maintenance/api", "_service_maintenance:api")]:
            status, _, text = agent.request("PUT", path + "?enable=true&reason=patching")
            self.assertEqual(status, 200, text)
            checks, _ = agent.get_json("/v1/agent/checks")
            self.assertEqual(checks[check_id]["Status"], "critical")
            self.assertEqual(checks[check_id]["Notes"], "patching")
            self.assertEqual((passing(), srv()), (0, 0), path)
            status, _, text = agent.request("PUT", path + "?enable=false")
            self.assertEqual(status, 200, text)
            self.assertEqual((passing(), srv()), (1, 1), path)
        status, _, _ = agent.request("PUT", "/v1/agent/maintenance?enable=maybe")
        self.assertEqual(status, 400)


if __name__ == "__main__":
    unittest.main()
