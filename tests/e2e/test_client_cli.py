"""The `cairn` client subcommands against a real agent: every subcommand,
-format json, -token, help and exit codes, `watch` with a handler across an
agent restart (each change seen once), `resolve` over the agent's DNS, and
clear one-line failures (server down, wrong address, DNS timeout, malformed
answers) within their timeouts."""
import http.server
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from cairn_agent import CAIRN, Agent, wait_until


def cli(*args, addr=None, stdin=None, timeout=30, env=None):
    e = dict(os.environ)
    e.pop("CAIRN_HTTP_ADDR", None)
    if addr:
        e["CAIRN_HTTP_ADDR"] = addr
    e.update(env or {})
    return subprocess.run([CAIRN] + list(args), input=stdin, capture_output=True, text=True,
                          env=e, timeout=timeout)


class FakeServer:
    """An HTTP server on a free port answering every request with `reply`
    (status, headers, body), recording the request headers."""

    def __init__(self, reply):
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append(dict(self.headers))
                status, headers, body = reply
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_PUT = do_GET

            def log_message(self, *a):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.addr = "127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class ClientCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent(node="cli-node").start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def run_ok(self, *args, **kw):
        r = cli(*args, addr=self.agent.addr, **kw)
        self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.stderr))
        return r.stdout

    def test_every_query_subcommand(self):
        self.run_ok("services", "register", "-", stdin=json.dumps(
            {"Name": "api", "ID": "api-1", "Port": 9000, "Tags": ["v1"],
             "Check": {"TTL": "60s", "Status": "passing"}}))
        self.run_ok("services", "register", "-", stdin=json.dumps(
            {"Name": "api", "ID": "api-2", "Port": 9001, "Tags": ["v2"]}))
        self.assertIn("api", self.run_ok("catalog", "services"))
        self.assertIn("cli-node", self.run_ok("catalog", "nodes", "-stale"))
        out = self.run_ok("catalog", "service", "api", "-tag", "v2", "-format", "json")
        self.assertEqual([e["ServiceID"] for e in json.loads(out)], ["api-2"])
        out = self.run_ok("catalog", "service", "api", "-consistent")
        self.assertIn("api-1", out)
        self.assertIn("api-2", out)
        out = self.run_ok("health", "service", "api", "-passing", "-tag=v1")
        self.assertIn("api-1", out)
        self.assertNotIn("api-2", out)
        out = self.run_ok("health", "checks", "api", "-format=json")
        self.assertEqual([c["CheckID"] for c in json.loads(out)], ["service:api-1"])
        self.agent.request("PUT", "/v1/agent/check/fail/service:api-1?note=down")
        out = self.run_ok("health", "state", "critical")
        self.assertIn("service:api-1", out)
        self.assertIn("down", out)
        self.assertEqual(self.run_ok("health", "service", "api", "-passing", "-tag=v1").count("api-1"), 0)
        out = self.run_ok("members", "-format", "json")
        self.assertEqual(len(json.loads(out)), 1)
        self.assertIn("alive", self.run_ok("members"))
        out = self.run_ok("operator", "raft", "list-peers")
        self.assertIn("leader", out)
        self.run_ok("services", "deregister", "api-1")
        out = self.run_ok("catalog", "service", "api", "-format", "json")
        self.assertEqual([e["ServiceID"] for e in json.loads(out)], ["api-2"])
        self.assertIn("Cairn v", cli("version").stdout)

    def test_snapshot_save_and_restore(self):
        with tempfile.TemporaryDirectory() as d:
            self.run_ok("services", "register", "-", stdin='{"Name":"snap","ID":"snap-1"}')
            path = os.path.join(d, "s.snap")
            self.assertIn("Saved and verified", self.run_ok("snapshot", "save", path))
            self.run_ok("services", "deregister", "snap-1")
            self.assertIn("Restored snapshot", self.run_ok("snapshot", "restore", path))
            self.assertIn("snap-1", self.run_ok("catalog", "service", "snap"))

    def test_help_documents_every_flag_and_exit_codes(self):
        r = cli("--help")
        self.assertEqual(r.returncode, 0)
        for flag in ("-http-addr", "-token", "-format", "-passing", "-tag", "-stale", "-consistent",
                     "-type", "-service", "-state", "-dns-addr", "-id", "-address"):
            self.assertIn(flag, r.stdout)
        self.assertIn("Exit codes", r.stdout)
        for cmd in ("members", "catalog", "services", "health", "watch", "resolve", "operator",
                    "snapshot"):
            r = cli(cmd, "--help")
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("cairn " + cmd, r.stdout)
            self.assertIn("Exit codes", r.stdout)
        r = cli("catalog", "frob")
        self.assertEqual(r.returncode, 2)
        r = cli("catalog", "nodes", "-bogus")
        self.assertEqual(r.returncode, 2)
        r = cli("nosuchcommand")
        self.assertEqual(r.returncode, 2)
        r = cli("watch", "-type", "service")  # no -service
        self.assertEqual(r.returncode, 2)

    def test_token_is_sent_as_x_consul_token(self):
        fake = FakeServer((200, {"X-Consul-Index": "1"}, b"{}"))
        try:
            r = cli("catalog", "services", "-http-addr", fake.addr, "-token", "s3cret")
            self.assertEqual(r.returncode, 0, r.stderr)
            r = cli("catalog", "services", addr=fake.addr, env={"CAIRN_HTTP_TOKEN": "from-env"})
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual([h.get("X-Consul-Token") for h in fake.seen], ["s3cret", "from-env"])
        finally:
            fake.close()

    def test_watch_without_handler_prints_once(self):
        self.run_ok("services", "register", "-", stdin='{"Name":"once","ID":"once-1"}')
        out = self.run_ok("watch", "-type", "service", "-service", "once")
        self.assertEqual(json.loads(out)[0]["Service"]["ID"], "once-1")
        out = self.run_ok("watch", "-type", "checks", "-state", "any")
        self.assertIsInstance(json.loads(out), list)

    def test_resolve_prints_choice_and_srv_set(self):
        for i, w in enumerate((1, 3)):
            self.run_ok("services", "register", "-", stdin=json.dumps(
                {"Name": "dnsweb", "ID": "dnsweb-%d" % i, "Port": 7000 + i,
                 "Weights": {"Passing": w, "Warning": 1}}))
        dns = "127.0.0.1:%d" % self.agent.dns_port
        out = self.run_ok("resolve", "dnsweb", "-dns-addr", dns)
        self.assertIn("Chosen: 127.0.0.1:700", out)
        self.assertIn("7000", out)
        self.assertIn("7001", out)
        data = json.loads(self.run_ok("resolve", "dnsweb.service.consul", "-dns-addr", dns,
                                      "-format", "json"))
        self.assertEqual(sorted((i["Port"], i["Weight"]) for i in data["Instances"]),
                         [(7000, 1), (7001, 3)])
        self.assertIn(data["Chosen"]["Port"], (7000, 7001))
        r = cli("resolve", "nosuch", "-dns-addr", dns)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("nosuch.service.consul", r.stderr)


class WatchAcrossRestartTest(unittest.TestCase):
    def test_handler_sees_each_change_once_across_a_restart(self):
        agent = Agent(node="watch-node").start()
        port = agent.port
        out_dir = tempfile.mkdtemp()
        log = os.path.join(out_dir, "events")
        handler = "python3 -c \"import json,sys,os; d=json.load(sys.stdin); " \
                  "open('%s','a').write(os.environ['CAIRN_INDEX']+' '+" \
                  "','.join(sorted(e['Service']['ID'] for e in d))+'\\n')\"" % log
        watch = subprocess.Popen([CAIRN, "watch", "-type", "service", "-service", "w",
                                  "-http-addr", agent.addr, "--", "sh", "-c", handler],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def events():
                try:
                    with open(log) as f:
                        return [line.split(" ", 1)[1].strip() for line in f]
                except OSError:
                    return []

            def change(n, method, path, body=None):
                status, _, text = agent.request(method, path, body)
                self.assertEqual(status, 200, text)
                self.assertTrue(wait_until(lambda: len(events()) >= n, 20), events())

            self.assertTrue(wait_until(lambda: len(events()) >= 1, 20), "no first event")
            change(2, "PUT", "/v1/agent/service/register", {"Name": "w", "ID": "w1"})
            change(3, "PUT", "/v1/agent/service/register", {"Name": "w", "ID": "w2"})
            agent.stop()
            agent = Agent(data_dir=agent.data_dir, node="watch-node",
                          extra_args=["-http-port", str(port)])
            agent.owns_dir = True
            agent.start()
            agent.port = port
            time.sleep(2)  # the watch reconnects; the same state must not come again
            self.assertEqual(len(events()), 3, events())
            change(4, "PUT", "/v1/agent/service/deregister/w1")
            change(5, "PUT", "/v1/agent/service/register", {"Name": "w", "ID": "w3"})
            time.sleep(1)
            self.assertEqual(events(), ["", "w1", "w1,w2", "w2", "w2,w3"])
            self.assertIsNone(watch.poll())
        finally:
            watch.send_signal(signal.SIGTERM)
            watch.wait(10)
            agent.cleanup()


class FailureTest(unittest.TestCase):
    def assert_one_line_failure(self, r, *needles):
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        for n in needles:
            self.assertIn(n, r.stderr)

    def free_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def test_server_down(self):
        addr = "127.0.0.1:%d" % self.free_port()
        for args in (["catalog", "services"], ["members"], ["health", "state", "any"],
                     ["watch", "-type", "nodes", "--", "true"], ["operator", "raft", "list-peers"]):
            self.assert_one_line_failure(cli(*args, addr=addr, timeout=20), addr)

    def test_wrong_address(self):
        self.assert_one_line_failure(cli("catalog", "nodes", "-http-addr", "127.0.0.1:99999"),
                                     "127.0.0.1:99999")
        self.assert_one_line_failure(cli("catalog", "nodes", "-http-addr", "no-such-host.invalid:8500",
                                         timeout=30), "no-such-host.invalid")
        self.assert_one_line_failure(cli("resolve", "web", "-dns-addr", "not-an-ip"), "not-an-ip")

    def test_dns_timeout(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        addr = "127.0.0.1:%d" % silent.getsockname()[1]
        try:
            started = time.monotonic()
            r = cli("resolve", "web", "-dns-addr", addr, timeout=20)
            took = time.monotonic() - started
            self.assert_one_line_failure(r, addr, "timed out")
            self.assertLess(took, 6)  # 1 s + 2 s, and slack
        finally:
            silent.close()

    def test_malformed_answers(self):
        cases = [
            ((200, {}, b"{not json"), ["catalog", "services"], "invalid JSON"),
            ((200, {}, b"[1,2]"), ["catalog", "services"], "is not an object"),
            ((200, {}, b"{\"x\":1}"), ["health", "service", "web"], "is not an array"),
            ((200, {}, b"{not json"), ["catalog", "nodes", "-format", "json"], "invalid JSON"),
            ((500, {}, b"boom"), ["members"], "HTTP 500"),
        ]
        for reply, args, needle in cases:
            fake = FakeServer(reply)
            try:
                self.assert_one_line_failure(cli(*args, addr=fake.addr), fake.addr, needle)
            finally:
                fake.close()

    def test_garbage_instead_of_http(self):
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)
        addr = "127.0.0.1:%d" % srv.getsockname()[1]

        def serve():
            conn, _ = srv.accept()
            conn.recv(4096)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\nnot http at all\r\n\r\n")
            conn.close()

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            self.assert_one_line_failure(cli("catalog", "services", addr=addr, timeout=20), addr)
        finally:
            srv.close()


if __name__ == "__main__":
    unittest.main()
