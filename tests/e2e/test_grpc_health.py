"""gRPC health checks (Consul's `GRPC` / `GRPCUseTLS`) on a one-server
(-dev) agent and in a three-server cluster, against a real gRPC server (python3-grpcio, serving
grpc.health.v1.Health/Check; see grpc_health_server.py) that the test
starts, stops and flips between SERVING and NOT_SERVING. With TLS, the
server's self-signed certificate is made by the `openssl` command."""
import json
import os
import shutil
import tempfile
import time
import unittest

from cairn_agent import Agent, AgentChecks, wait_until
from grpc_health_server import NOT_SERVING, SERVING, HealthServer
from pki import Pki
from test_cluster import start_three


class GrpcCheckTest(AgentChecks, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-e2e-grpc-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def start_agent(self, extra_args=()):
        self.agent = Agent(extra_args=list(extra_args)).start()
        self.addCleanup(self.agent.cleanup)

    def start_server(self, statuses, port=0, tls=None):
        server = HealthServer(statuses, port=port, tls=tls)
        self.addCleanup(server.stop)
        return server

    def test_check_follows_the_serving_status_and_the_server(self):
        self.start_agent()
        server = self.start_server({"web": SERVING})
        port = server.port
        target = "127.0.0.1:%d/web" % port
        self.put("/v1/agent/service/register", {
            "Name": "web", "ID": "web1", "Port": port,
            "Check": {"CheckID": "web-grpc", "GRPC": target, "Interval": "1s"}})
        c = self.check("web-grpc")
        self.assertEqual(c["Type"], "grpc")
        self.assertEqual(c["Definition"]["GRPC"], target)

        self.assertTrue(wait_until(lambda: self.status_is("web-grpc", "passing"), 10),
                        self.check("web-grpc"))
        self.assertEqual(self.check("web-grpc")["Output"], "gRPC check %s: success" % target)
        self.assertEqual(self.passing_instances("web"), 1)
        calls = server.calls
        self.assertTrue(wait_until(lambda: server.calls >= calls + 2, 5), "probed every second")

        # NOT_SERVING: critical, and the instance leaves ?passing.
        server.set("web", NOT_SERVING)
        self.assertTrue(wait_until(lambda: self.status_is("web-grpc", "critical"), 5),
                        self.check("web-grpc"))
        self.assertIn("serving status NOT_SERVING", self.check("web-grpc")["Output"])
        self.assertEqual(self.passing_instances("web"), 0)

        server.set("web", SERVING)
        self.assertTrue(wait_until(lambda: self.status_is("web-grpc", "passing"), 5),
                        self.check("web-grpc"))
        self.assertEqual(self.passing_instances("web"), 1)

        # The server goes away: critical with the connection error.
        server.stop()
        self.assertTrue(wait_until(lambda: self.status_is("web-grpc", "critical"), 5),
                        self.check("web-grpc"))
        self.assertIn("Connection refused", self.check("web-grpc")["Output"])

        # Back on the same port: passing again.
        self.start_server({"web": SERVING}, port=port)
        self.assertTrue(wait_until(lambda: self.status_is("web-grpc", "passing"), 5),
                        self.check("web-grpc"))

    def test_unknown_service_and_whole_server(self):
        self.start_agent()
        server = self.start_server({"": SERVING})
        self.put("/v1/agent/service/register", {
            "Name": "api", "ID": "api1", "Port": server.port,
            "Checks": [
                {"CheckID": "api-server", "GRPC": "127.0.0.1:%d" % server.port,
                 "Interval": "1s"},
                {"CheckID": "api-missing", "GRPC": "127.0.0.1:%d/missing" % server.port,
                 "Interval": "1s"}]})
        self.assertTrue(wait_until(lambda: self.status_is("api-server", "passing"), 10),
                        self.check("api-server"))
        self.assertTrue(wait_until(
            lambda: "code = NotFound" in (self.check("api-missing") or {}).get("Output", ""), 10),
            self.check("api-missing"))
        self.assertEqual(self.check("api-missing")["Status"], "critical")

    def make_cert(self):
        return Pki(self.dir).self_signed("grpc", "localhost", "DNS:localhost,IP:127.0.0.1")

    def test_tls(self):
        self.start_agent()
        server = self.start_server({"secure": SERVING}, tls=self.make_cert())
        target = "127.0.0.1:%d/secure" % server.port
        self.put("/v1/agent/service/register", {
            "Name": "secure", "ID": "secure1", "Port": server.port,
            "Checks": [
                {"CheckID": "tls-skip", "GRPC": target, "GRPCUseTLS": True,
                 "TLSSkipVerify": True, "Interval": "1s"},
                # Verified against the system store, which does not know a
                # self-signed certificate.
                {"CheckID": "tls-verify", "GRPC": target, "GRPCUseTLS": True,
                 "Interval": "1s"},
                # Plaintext HTTP/2 to a TLS port.
                {"CheckID": "no-tls", "GRPC": target, "Interval": "1s"}]})
        self.assertTrue(wait_until(lambda: self.status_is("tls-skip", "passing"), 10),
                        self.check("tls-skip"))
        self.assertTrue(self.check("tls-skip")["Definition"]["GRPCUseTLS"])
        self.assertTrue(wait_until(
            lambda: "certificate verify failed" in self.check("tls-verify")["Output"], 10),
            self.check("tls-verify"))
        self.assertEqual(self.check("tls-verify")["Status"], "critical")
        self.assertTrue(wait_until(lambda: self.check("no-tls")["Output"] != "", 10))
        self.assertEqual(self.check("no-tls")["Status"], "critical")
        self.assertIn("GRPCUseTLS", self.check("no-tls")["Output"])

        server.set("secure", NOT_SERVING)
        self.assertTrue(wait_until(lambda: self.status_is("tls-skip", "critical"), 5),
                        self.check("tls-skip"))
        server.set("secure", SERVING)
        self.assertTrue(wait_until(lambda: self.status_is("tls-skip", "passing"), 5),
                        self.check("tls-skip"))

    def test_config_file_check_with_snake_case_keys(self):
        server = self.start_server({"cfg": SERVING})
        cfg = os.path.join(self.dir, "config")
        os.makedirs(cfg)
        with open(os.path.join(cfg, "svc.json"), "w") as f:
            json.dump({"services": [{
                "name": "cfg", "port": server.port,
                "check": {"id": "cfg-grpc", "grpc": "127.0.0.1:%d/cfg" % server.port,
                          "grpc_use_tls": False, "interval": "1s"}}]}, f)
        self.start_agent(["-config-dir", cfg])
        self.assertTrue(wait_until(lambda: self.status_is("cfg-grpc", "passing"), 10),
                        self.check("cfg-grpc"))
        server.set("cfg", NOT_SERVING)
        self.assertTrue(wait_until(lambda: self.status_is("cfg-grpc", "critical"), 5),
                        self.check("cfg-grpc"))

    def test_bad_target_is_refused(self):
        self.start_agent()
        status, _, text = self.agent.request("PUT", "/v1/agent/service/register", {
            "Name": "bad", "Check": {"GRPC": "no-port/svc", "Interval": "1s"}})
        self.assertEqual(status, 400, text)
        self.assertIn("Check.GRPC", text)


class GrpcClusterTest(unittest.TestCase):
    """A gRPC check in a three-server cluster: registered through any server
    once every server says it applies command version 3, run by one server,
    its status the same on all three."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-e2e-grpc-cluster-")
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader elected")

    def status_everywhere(self, check_id):
        out = []
        for x in self.s:
            status, _, body = x.request("GET", "/v1/health/checks/api?stale", timeout=5)
            checks = json.loads(body) if status == 200 else []
            out.append(next((c["Status"] for c in checks if c["CheckID"] == check_id), None))
        return out

    def test_check_runs_once_and_every_server_agrees(self):
        server = HealthServer({"api": SERVING})
        self.addCleanup(server.stop)
        body = {"Name": "api", "ID": "api1", "Port": server.port,
                "Check": {"CheckID": "api-grpc", "GRPC": "127.0.0.1:%d/api" % server.port,
                          "Interval": "1s"}}

        def register():
            status, _, _ = self.s[2].request("PUT", "/v1/agent/service/register", body)
            return status == 200
        # Refused (500) until the servers' hellos say they all apply version 3.
        self.assertTrue(wait_until(register, 20))
        self.assertTrue(wait_until(
            lambda: self.status_everywhere("api-grpc") == ["passing"] * 3, 15),
            self.status_everywhere("api-grpc"))
        # One server probes: about one call per second, not three.
        calls = server.calls
        time.sleep(5)
        self.assertLessEqual(server.calls - calls, 8)
        self.assertGreaterEqual(server.calls - calls, 3)

        server.set("api", NOT_SERVING)
        self.assertTrue(wait_until(
            lambda: self.status_everywhere("api-grpc") == ["critical"] * 3, 15),
            self.status_everywhere("api-grpc"))


if __name__ == "__main__":
    unittest.main()
