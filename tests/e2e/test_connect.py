"""The mesh CA on a real `cairn agent -dev`: roots and leaf certificates
checked with openssl(1) (verify, and every property in `x509 -text`), leaf
renewal through a blocking query, CA rotation with the old leaves still
valid, intentions and authorize, and all of it surviving a restart."""
import json
import os
import shutil
import tempfile
import time
import unittest

from cairn_agent import Agent, wait_until
from connect_util import (extension, pem_certs, same_public_key, san_entries, validity_seconds,
                          verify, write, x509_text)

LEAF_TTL = 30  # seconds: short, so that renewal shows within the test


class ConnectTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-connect-")
        os.makedirs(os.path.join(self.dir, "data"))
        os.makedirs(os.path.join(self.dir, "other"))
        self.config = write(os.path.join(self.dir, "connect.json"),
                            json.dumps({"connect": {"leaf_cert_ttl": "%ds" % LEAF_TTL,
                                                    "default_intention_policy": "deny"}}))
        self.agent = Agent(data_dir=os.path.join(self.dir, "data"),
                           extra_args=["-config-file", self.config]).start()
        self.assertTrue(wait_until(lambda: self.roots()["ActiveRootID"], timeout=10),
                        "no CA: " + self.agent.read_log())

    def tearDown(self):
        self.agent.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def roots(self):
        return self.agent.get_json("/v1/agent/connect/ca/roots")[0]

    def path(self, name):
        return os.path.join(self.dir, name)

    def leaf(self, service, query=""):
        status, headers, body = self.agent.request("GET", "/v1/agent/connect/ca/leaf/" + service + query,
                                                   timeout=90)
        self.assertEqual(status, 200, body)
        return json.loads(body), int(headers["X-Consul-Index"])

    def roots_pem(self, name="roots.pem"):
        status, headers, body = self.agent.request("GET", "/v1/connect/ca/roots?pem=true")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/pem-certificate-chain")
        return write(self.path(name), body)

    def test_leaf_verifies_and_has_every_property(self):
        roots = self.roots()
        trust_domain = roots["TrustDomain"]
        self.assertRegex(trust_domain, r"^[0-9a-f-]{36}\.consul$")
        self.assertEqual(len(roots["Roots"]), 1)
        self.assertNotIn("PRIVATE KEY", json.dumps(roots))
        before = time.time()
        leaf, _ = self.leaf("web")
        cert = write(self.path("leaf.pem"), leaf["CertPEM"])
        key = write(self.path("leaf.key"), leaf["PrivateKeyPEM"])
        ok, out = verify(self.roots_pem(), cert)
        self.assertTrue(ok, out)
        self.assertTrue(same_public_key(cert, key))

        text = x509_text(cert)
        uri = "spiffe://%s/ns/default/dc/dc1/svc/web" % trust_domain
        self.assertEqual(leaf["ServiceURI"], uri)
        self.assertEqual(san_entries(text), ["URI:" + uri])  # exactly one SAN
        header, value = extension(text, "X509v3 Basic Constraints")
        self.assertIn("critical", header)
        self.assertEqual(value, "CA:FALSE")
        _, value = extension(text, "X509v3 Key Usage")
        self.assertIn("Digital Signature", value)
        self.assertNotIn("Certificate Sign", value)
        _, value = extension(text, "X509v3 Extended Key Usage")
        self.assertEqual(value, "TLS Web Server Authentication, TLS Web Client Authentication")
        self.assertIn("ASN1 OID: prime256v1", text)
        not_before, not_after = validity_seconds(cert)
        self.assertAlmostEqual(not_before, before - 60, delta=5)  # backdated one minute
        self.assertEqual(not_after - not_before, LEAF_TTL + 60)

        # Another CA's verification refuses it.
        other = Agent(data_dir=self.path("other")).start()
        try:
            self.assertTrue(wait_until(
                lambda: other.get_json("/v1/agent/connect/ca/roots")[0]["ActiveRootID"], timeout=10))
            _, _, pem = other.request("GET", "/v1/connect/ca/roots?pem=true")
            ok, _ = verify(write(self.path("other.pem"), pem), cert)
            self.assertFalse(ok)
        finally:
            other.stop()

    def test_leaf_is_cached_then_renewed_through_a_blocking_query(self):
        first, idx = self.leaf("web")
        again, idx2 = self.leaf("web")
        self.assertEqual(again["SerialNumber"], first["SerialNumber"])
        self.assertEqual(idx2, idx)
        # Blocks until half of the leaf's life (15 s of 30) is over, then
        # returns the renewed one.
        start = time.monotonic()
        renewed, idx3 = self.leaf("web", "?index=%d&wait=80s" % idx)
        waited = time.monotonic() - start
        self.assertNotEqual(renewed["SerialNumber"], first["SerialNumber"])
        self.assertGreater(idx3, idx)
        self.assertGreater(waited, 5)
        self.assertLess(waited, 40)
        ok, out = verify(self.roots_pem(), write(self.path("renewed.pem"), renewed["CertPEM"]))
        self.assertTrue(ok, out)

    def test_rotation_keeps_old_leaves_valid_and_cross_signs(self):
        old_root = self.roots()["Roots"][0]
        old_leaf, idx = self.leaf("web")
        write(self.path("old-root.pem"), old_root["RootCert"])
        status, _, body = self.agent.request("POST", "/v1/connect/ca/rotate")
        self.assertEqual(status, 200, body)
        roots = self.roots()
        self.assertEqual(len(roots["Roots"]), 2)
        self.assertNotEqual(roots["ActiveRootID"], old_root["ID"])
        new_root = next(r for r in roots["Roots"] if r["Active"])
        # A blocking leaf query returns at once with a leaf of the new root.
        new_leaf, idx2 = self.leaf("web", "?index=%d&wait=30s" % idx)
        self.assertNotEqual(new_leaf["SerialNumber"], old_leaf["SerialNumber"])
        bundle = self.roots_pem()
        with open(bundle) as f:
            self.assertEqual(len(pem_certs(f.read())), 2)
        old_cert = write(self.path("old-leaf.pem"), old_leaf["CertPEM"])
        new_cert = write(self.path("new-leaf.pem"), new_leaf["CertPEM"])
        for cert in (old_cert, new_cert):
            ok, out = verify(bundle, cert)
            self.assertTrue(ok, out)
        # A peer that still trusts only the old root: the new leaf needs the
        # cross-signed certificate, and verifies with it.
        ok, _ = verify(self.path("old-root.pem"), new_cert)
        self.assertFalse(ok)
        cross = write(self.path("cross.pem"), "".join(new_root["IntermediateCerts"]))
        ok, out = verify(self.path("old-root.pem"), new_cert, untrusted=cross)
        self.assertTrue(ok, out)

    def test_intentions_and_authorize_survive_a_restart(self):
        td = self.roots()["TrustDomain"]
        web = "spiffe://%s/ns/default/dc/dc1/svc/web" % td

        def authorized(target, uri):
            status, _, body = self.agent.request("POST", "/v1/agent/connect/authorize",
                                                 {"Target": target, "ClientCertURI": uri})
            self.assertEqual(status, 200, body)
            return json.loads(body)["Authorized"]

        self.assertFalse(authorized("db", web))  # default_intention_policy = deny
        status, _, body = self.agent.request("PUT", "/v1/connect/intentions/exact?source=web&destination=db",
                                             {"Action": "allow"})
        self.assertEqual(status, 200, body)
        self.assertTrue(authorized("db", web))
        status, _, body = self.agent.request("POST", "/v1/connect/intentions",
                                             {"SourceName": "web", "DestinationName": "*", "Action": "deny"})
        self.assertEqual(status, 200, body)
        self.assertTrue(authorized("db", web))  # exact beats the wildcard
        self.assertFalse(authorized("cache", web))
        root_id = self.roots()["ActiveRootID"]

        self.agent.stop()
        self.agent.start()
        self.assertEqual(self.roots()["ActiveRootID"], root_id)
        self.assertTrue(authorized("db", web))
        self.assertFalse(authorized("cache", web))
        intentions, _ = self.agent.get_json("/v1/connect/intentions")
        self.assertEqual([i["Precedence"] for i in intentions], [9, 6])


if __name__ == "__main__":
    unittest.main()
