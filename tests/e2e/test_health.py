"""Active health checks on a one-server (-dev) agent, against real targets
the test starts and stops: HTTP and TCP checks follow their target, TTL
checks expire, a heartbeat that changes nothing writes nothing, and a
service critical for too long is deregistered."""
import http.server
import json
import socket
import threading
import time
import unittest

from cairn_agent import Agent, wait_until


class Target:
    """An HTTP server on loopback answering every GET with `code`."""

    def __init__(self, port=0, code=200):
        self.code = code
        self.hits = 0
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                target.hits += 1
                body = b"fine" if target.code == 200 else b"not fine"
                self.send_response(target.code)
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


class HealthTest(unittest.TestCase):
    def setUp(self):
        self.agent = Agent().start()

    def tearDown(self):
        self.agent.cleanup()

    def put(self, path, body=None):
        status, _, text = self.agent.request("PUT", path, body)
        self.assertEqual(status, 200, text)

    def check(self, check_id):
        checks, _ = self.agent.get_json("/v1/agent/checks")
        return checks.get(check_id)

    def status_is(self, check_id, status):
        c = self.check(check_id)
        return c is not None and c["Status"] == status

    def passing_instances(self, name):
        entries, _ = self.agent.get_json("/v1/health/service/%s?passing" % name)
        return len(entries)

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
            target.stop()
            # interval x failures_before_critical, plus scheduling slack.
            t0 = time.monotonic()
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "critical"), 2 * 1 + 3),
                            self.check("web-http"))
            self.assertLess(time.monotonic() - t0, 5)
            self.assertEqual(self.passing_instances("web"), 0)
            target = Target(port=port)
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "passing"), 5),
                            self.check("web-http"))
            self.assertEqual(self.passing_instances("web"), 1)
            # A 429 is a warning.
            target.code = 429
            self.assertTrue(wait_until(lambda: self.status_is("web-http", "warning"), 5),
                            self.check("web-http"))
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


class ScriptCheckTest(unittest.TestCase):
    def run_agent(self, extra_args):
        agent = Agent(extra_args=extra_args).start()
        self.addCleanup(agent.cleanup)
        status, _, text = agent.request("PUT", "/v1/agent/service/register", {
            "Name": "job", "ID": "job1",
            "Check": {"CheckID": "job-script", "Args": ["/bin/sh", "-c", "echo busy; exit 1"],
                      "Interval": "1s"}})
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
        agent = self.run_agent([])
        # Three intervals: the script never runs, the check keeps its
        # initial status.
        time.sleep(3)
        self.assertEqual(self.check(agent)["Status"], "critical")
        self.assertEqual(self.check(agent)["Output"], "")


if __name__ == "__main__":
    unittest.main()
