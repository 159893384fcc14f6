"""ACLs end to end: a -dev agent with acl.enabled (default deny) driven by
the CLI, curl and DNS; and a three-server cluster where a token made on one
server works on the others and its deletion counts on all of them at once."""
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, Agent, wait_until
from test_cluster import start_three

ANON = "00000000-0000-0000-0000-000000000002"


def cli(http_addr, *args, token=None):
    cmd = [CAIRN, "acl"] + list(args) + ["-http-addr", http_addr]
    if token:
        cmd += ["-token", token]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def curl(http_addr, path, token=None, method="GET", data=None):
    cmd = ["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", "-X", method, "http://%s%s" % (http_addr, path)]
    if token:
        cmd += ["-H", "X-Consul-Token: " + token]
    if data is not None:
        cmd += ["--data-binary", json.dumps(data)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body.rstrip("\n")


class DevAcl(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-acl-")
        cfg = os.path.join(self.dir, "acl.json")
        with open(cfg, "w") as f:
            json.dump({"acl": {"enabled": True, "default_policy": "deny"}}, f)
        self.agent = Agent(extra_args=["-config-file", cfg]).start()
        self.http = self.agent.addr

    def tearDown(self):
        self.agent.stop()
        self.agent.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def dig(self, name, rdtype="A"):
        r = subprocess.run(["dig", "@127.0.0.1", "-p", str(self.agent.dns_port), "+time=3", "+tries=1",
                            name, rdtype], capture_output=True, text=True, timeout=30)
        return r.stdout

    def test_bootstrap_policies_tokens_filtering_and_dns(self):
        # Before bootstrap, with default deny: nothing to see, nothing to write.
        code, body = curl(self.http, "/v1/catalog/services")
        self.assertEqual((code, json.loads(body)), (200, {}))
        code, _ = curl(self.http, "/v1/agent/service/register", method="PUT", data={"Name": "web", "Port": 80})
        self.assertEqual(code, 403)

        r = cli(self.http, "bootstrap", "-format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        boot = json.loads(r.stdout)
        mgmt = boot["SecretID"]
        self.assertEqual(boot["Policies"][0]["Name"], "global-management")
        self.assertNotIn(mgmt, self.agent.read_log(), "a secret was logged")
        again = cli(self.http, "bootstrap")
        self.assertEqual(again.returncode, 1)
        self.assertIn("ACL bootstrap no longer allowed", again.stderr)

        code, body = curl(self.http, "/v1/agent/service/register", mgmt, "PUT",
                          {"Name": "web", "ID": "web1", "Port": 80})
        self.assertEqual(code, 200, body)
        code, body = curl(self.http, "/v1/agent/service/register", mgmt, "PUT",
                          {"Name": "db", "ID": "db1", "Port": 5432})
        self.assertEqual(code, 200, body)

        # A policy from an HCL rules file, a token naming it.
        rules = os.path.join(self.dir, "web.hcl")
        with open(rules, "w") as f:
            f.write('service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }\n')
        r = cli(self.http, "policy", "create", "-name", "web-read", "-rules", "@" + rules, token=mgmt)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = cli(self.http, "policy", "list", token=mgmt)
        self.assertIn("web-read", r.stdout)
        r = cli(self.http, "token", "create", "-description", "reader", "-policy-name", "web-read",
                "-format", "json", token=mgmt)
        self.assertEqual(r.returncode, 0, r.stderr)
        tok = json.loads(r.stdout)
        r = cli(self.http, "token", "list", token=mgmt)
        self.assertIn(tok["AccessorID"], r.stdout)
        self.assertEqual(cli(self.http, "token", "list", token=tok["SecretID"]).returncode, 1)

        # The list shrinks to what the token may read, and says so.
        out = subprocess.run(["curl", "-sS", "-i", "-H", "X-Consul-Token: " + tok["SecretID"],
                              "http://%s/v1/catalog/services" % self.http],
                             capture_output=True, text=True, timeout=30).stdout
        self.assertIn("X-Consul-Results-Filtered-By-ACLs: true", out)
        self.assertEqual(set(json.loads(out.split("\n\n", 1)[1])), {"web"})
        code, body = curl(self.http, "/v1/catalog/services", mgmt)
        self.assertLessEqual({"web", "db"}, set(json.loads(body)))
        # Writes the token may not make: 403 in Consul's words.
        code, body = curl(self.http, "/v1/agent/service/register", tok["SecretID"], "PUT",
                          {"Name": "web", "ID": "web2"})
        self.assertEqual(code, 403)
        self.assertIn("lacks permission 'service:write' on \"web\"", body)

        # DNS answers as the anonymous token: nothing under default deny...
        self.assertIn("NXDOMAIN", self.dig("web.service.cairn"))
        # ...until the anonymous token is given the policy.
        code, body = curl(self.http, "/v1/acl/token/" + ANON, mgmt, "PUT",
                          {"Policies": [{"Name": "web-read"}]})
        self.assertEqual(code, 200, body)
        self.assertTrue(wait_until(lambda: "ANSWER SECTION" in self.dig("web.service.cairn"), timeout=5))
        self.assertIn("NXDOMAIN", self.dig("db.service.cairn"))

        # Deleting the token takes effect at once.
        r = cli(self.http, "token", "delete", "-id", tok["AccessorID"], token=mgmt)
        self.assertEqual(r.returncode, 0, r.stderr)
        code, body = curl(self.http, "/v1/catalog/services", tok["SecretID"])
        self.assertEqual((code, body), (403, "ACL not found"))


def req(server, method, path, token=None, body=None, timeout=10):
    host, port = server.http.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        headers = {"X-Consul-Token": token} if token else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = conn.getresponse()
        return r.status, r.read().decode().rstrip("\n")
    finally:
        conn.close()


class ClusterAcl(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-acl-cluster-")
        config = {"acl": {"enabled": True, "default_policy": "deny"}}
        self.s, led = start_three(self.root, config, test=self)
        self.assertTrue(led, "no leader elected")

    def retry(self, fn, timeout=20):
        # Right after the election the cluster may still be settling (command
        # versions exchanged, membership changes): retry 5xx until it is not.
        deadline = time.monotonic() + timeout
        while True:
            status, body = fn()
            if status < 500 or time.monotonic() > deadline:
                return status, body
            time.sleep(0.1)

    def test_token_made_on_one_server_works_everywhere_and_deletion_counts_at_once(self):
        a, b, c = self.s
        status, body = self.retry(lambda: req(a, "PUT", "/v1/acl/bootstrap"))
        self.assertEqual(status, 200, body)
        mgmt = json.loads(body)["SecretID"]
        status, body = req(b, "PUT", "/v1/acl/bootstrap")
        self.assertEqual((status, body), (403, "ACL bootstrap no longer allowed"))
        status, body = self.retry(lambda: req(b, "PUT", "/v1/acl/policy", mgmt,
                                              {"Name": "read", "Rules": 'service_prefix "" { policy = "read" }'}))
        self.assertEqual(status, 200, body)
        status, body = req(b, "PUT", "/v1/acl/token", mgmt, {"Policies": [{"Name": "read"}]})
        self.assertEqual(status, 200, body)
        tok = json.loads(body)
        # A token is known on every server at once: a server that has not
        # applied its entry yet passes the read barrier and looks again
        # before it answers "ACL not found" (not on ?stale). Fresh tokens made
        # through each server in turn, used at once on the other two: a read,
        # and a write refused for its permission, not as unknown.
        for i in range(40):
            made, used, wrote = self.s[i % 3], self.s[(i + 1) % 3], self.s[(i + 2) % 3]
            status, body = req(made, "PUT", "/v1/acl/token", mgmt, {"Policies": [{"Name": "read"}]})
            self.assertEqual(status, 200, body)
            secret = json.loads(body)["SecretID"]
            status, body = req(used, "GET", "/v1/catalog/services", secret)
            self.assertEqual(status, 200, "round %d: made on %s, read on %s: %s" % (i, made.name, used.name, body))
            status, body = req(wrote, "PUT", "/v1/agent/service/register", secret, {"Name": "web"})
            self.assertEqual(status, 403, body)
            self.assertTrue(body.startswith("Permission denied"),
                            "round %d: made on %s, write on %s: %s" % (i, made.name, wrote.name, body))
        status, body = req(c, "GET", "/v1/acl/token/self", tok["SecretID"])
        self.assertEqual(json.loads(body)["AccessorID"], tok["AccessorID"])
        # Writes are refused on every server (the server that takes the
        # request decides; a follower hands the leader a decided proposal).
        for x in self.s:
            status, body = req(x, "PUT", "/v1/agent/service/register", tok["SecretID"], {"Name": "web"})
            self.assertEqual(status, 403, body)

        status, body = req(a, "DELETE", "/v1/acl/token/" + tok["AccessorID"], mgmt)
        self.assertEqual((status, body), (200, "true"))
        # Every server refuses the token within a second, even on ?stale reads.
        start = time.monotonic()
        for x in self.s:
            self.assertTrue(wait_until(
                lambda: req(x, "GET", "/v1/catalog/services?stale", tok["SecretID"])[0] == 403, timeout=1.0),
                "%s still accepts a deleted token" % x.name)
        self.assertLess(time.monotonic() - start, 3.0)
        for x in self.s:
            self.assertEqual(req(x, "GET", "/v1/catalog/services", tok["SecretID"]), (403, "ACL not found"))


if __name__ == "__main__":
    unittest.main()
