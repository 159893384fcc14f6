"""The `cairn` CLI against the real agent: register from a file and from
stdin, list, filter, JSON output, deregister, and an unreachable server."""
import json
import os
import subprocess
import tempfile
import unittest

from cairn_agent import CAIRN, Agent


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent().start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def cli(self, *args, stdin=None, addr=None):
        env = dict(os.environ, CAIRN_HTTP_ADDR=addr or self.agent.addr)
        return subprocess.run([CAIRN] + list(args), input=stdin, capture_output=True, text=True,
                              env=env, timeout=30)

    def test_register_list_filter_deregister(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"service": {"name": "api", "id": "api-1", "port": 9000, "tags": ["v2"]}}, f)
        try:
            r = self.cli("services", "register", f.name)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            os.unlink(f.name)
        r = self.cli("services", "register", "-", stdin=json.dumps({"Name": "api", "ID": "api-2", "Port": 9001}))
        self.assertEqual(r.returncode, 0, r.stderr)

        r = self.cli("catalog", "services")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("api", r.stdout)
        r = self.cli("catalog", "service", "api", "-format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(e["ServiceID"] for e in json.loads(r.stdout)), ["api-1", "api-2"])
        r = self.cli("health", "service", "api", "-passing")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("api-1", r.stdout)
        self.assertIn("api-2", r.stdout)
        r = self.cli("catalog", "nodes", "-http-addr", self.agent.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(self.agent.node, r.stdout)

        r = self.cli("services", "deregister", "api-1")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("catalog", "service", "api", "-format", "json")
        self.assertEqual([e["ServiceID"] for e in json.loads(r.stdout)], ["api-2"])

    def test_unreachable_server_is_one_line_and_exit_1(self):
        r = self.cli("catalog", "services", addr="127.0.0.1:1")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("127.0.0.1:1", r.stderr)

    def test_bad_usage_and_version(self):
        r = self.cli("services", "register")
        self.assertEqual(r.returncode, 2)  # usage
        self.assertTrue(r.stderr)
        r = self.cli("version")
        self.assertEqual(r.returncode, 0)
        self.assertIn("Cairn v", r.stdout)


if __name__ == "__main__":
    unittest.main()
