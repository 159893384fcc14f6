"""The mesh CA and intentions on three real `cairn agent -server` processes:
one root made at bootstrap and the same on every server, a leaf signed by a
follower verifying against the roots, an intention written on one server
enforced by authorize on another, a rotation through a follower reaching
every server, and the CA kept (not re-made) when the leader is killed."""
import json
import os
import signal
import tempfile
import unittest

from cairn_agent import wait_until
from connect_util import verify, write
from test_cluster import start_three


class ConnectClusterTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-connect-cluster-")
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader")
        self.assertTrue(wait_until(lambda: all(self.root_id(x) for x in self.s), timeout=20),
                        "no CA on every server")

    def roots(self, server):
        try:
            status, _, body = server.request("GET", "/v1/agent/connect/ca/roots?stale", timeout=5)
        except OSError:
            return None
        return json.loads(body) if status == 200 else None

    def root_id(self, server):
        r = self.roots(server)
        return r["ActiveRootID"] if r else ""

    def leader_server(self):
        addr = next(a for a in (x.leader() for x in self.s if x.proc.poll() is None) if a)
        return next(x for x in self.s if x.server_addr == addr)

    def authorized(self, server, source, target):
        td = self.roots(server)["TrustDomain"]
        status, _, body = server.request("POST", "/v1/agent/connect/authorize", {
            "Target": target, "ClientCertURI": "spiffe://%s/ns/default/dc/dc1/svc/%s" % (td, source)})
        self.assertEqual(status, 200, body)
        return json.loads(body)["Authorized"]

    def test_ca_and_intentions_replicate(self):
        ids = {self.root_id(x) for x in self.s}
        self.assertEqual(len(ids), 1, ids)
        domains = {self.roots(x)["TrustDomain"] for x in self.s}
        self.assertEqual(len(domains), 1)
        for x in self.s:
            self.assertEqual(len(self.roots(x)["Roots"]), 1)

        leader = self.leader_server()
        followers = [x for x in self.s if x is not leader]
        # A leaf signed by a follower verifies against the leader's roots.
        status, _, body = followers[0].request("GET", "/v1/agent/connect/ca/leaf/web")
        self.assertEqual(status, 200, body)
        leaf = write(os.path.join(self.root, "leaf.pem"), json.loads(body)["CertPEM"])
        _, _, pem = leader.request("GET", "/v1/connect/ca/roots?pem=true")
        ok, out = verify(write(os.path.join(self.root, "roots.pem"), pem), leaf)
        self.assertTrue(ok, out)

        # An intention made on one follower is enforced on the other.
        self.assertTrue(self.authorized(followers[1], "web", "db"))  # default: allow
        status, _, body = followers[0].request(
            "PUT", "/v1/connect/intentions/exact?source=web&destination=db", {"Action": "deny"})
        self.assertEqual(status, 200, body)
        self.assertTrue(wait_until(lambda: not self.authorized(followers[1], "web", "db"), timeout=10))
        self.assertFalse(self.authorized(leader, "web", "db"))
        self.assertTrue(self.authorized(followers[1], "api", "db"))
        status, _, body = followers[1].request("GET", "/v1/connect/intentions/check?source=web&destination=db")
        self.assertEqual(json.loads(body), {"Allowed": False})

        # A rotation through a follower reaches every server; the follower's
        # old leaf still verifies against the new roots.
        status, _, body = followers[1].request("POST", "/v1/connect/ca/rotate")
        self.assertEqual(status, 200, body)
        self.assertTrue(wait_until(lambda: all(len(self.roots(x)["Roots"]) == 2 for x in self.s),
                                   timeout=10))
        new_ids = {self.root_id(x) for x in self.s}
        self.assertEqual(len(new_ids), 1)
        self.assertNotEqual(new_ids, ids)
        _, _, pem = followers[1].request("GET", "/v1/connect/ca/roots?pem=true")
        ok, out = verify(write(os.path.join(self.root, "roots2.pem"), pem), leaf)
        self.assertTrue(ok, out)

    def test_new_leader_keeps_the_ca(self):
        root_id = self.root_id(self.s[0])
        old = self.leader_server()
        old.stop(signal.SIGKILL)
        rest = [x for x in self.s if x is not old]
        self.assertTrue(wait_until(lambda: any(x.leader() and x.leader() != old.server_addr for x in rest),
                                   timeout=20), "no new leader")
        # The CA is not made again, and the survivors still sign leaves.
        for x in rest:
            self.assertEqual(self.root_id(x), root_id)
            status, _, body = x.request("GET", "/v1/agent/connect/ca/leaf/api")
            self.assertEqual(status, 200, body)
            leaf = write(os.path.join(self.root, x.name + ".pem"), json.loads(body)["CertPEM"])
            _, _, pem = x.request("GET", "/v1/connect/ca/roots?pem=true")
            ok, out = verify(write(os.path.join(self.root, x.name + "-roots.pem"), pem), leaf)
            self.assertTrue(ok, out)
        for x in rest:
            self.assertEqual(len(self.roots(x)["Roots"]), 1)


if __name__ == "__main__":
    unittest.main()
