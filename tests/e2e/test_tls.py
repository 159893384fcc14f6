"""Mutual TLS between real `cairn agent -server` processes: three servers with
certificates from one CA form a cluster and replicate, and a fourth of that
CA joins; a server whose certificate comes from another CA is refused and
never becomes a member; bad TLS files stop the agent at start with the file
named. The CAs and
certificates are made at test time with the `openssl` command."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, wait_until
from pki import Pki
from test_cluster import Server


def tls_config(ca_file, cert, key):
    return {"tls": {"defaults": {"ca_file": ca_file, "cert_file": cert, "key_file": key,
                                 "verify_incoming": True, "verify_outgoing": True},
                    "internal_rpc": {"verify_server_hostname": True}}}


class MutualTlsTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-tls-")
        self.pki = Pki(self.root)
        self.ca_a = self.pki.make_ca("ca-a")
        self.ca_b = self.pki.make_ca("ca-b")
        self.servers = []

    def tearDown(self):
        for x in self.servers:
            x.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def server(self, name, ca):
        ca_file = self.ca_a if ca == "ca-a" else self.ca_b
        x = Server(name, self.root, tls_config(ca_file, *self.pki.issue(ca, name)))
        self.servers.append(x)
        return x

    def logs(self):
        out = []
        for x in self.servers:
            with open(x.log_path, errors="replace") as f:
                out += ["%s: %s" % (x.name, l.rstrip()) for l in f if "transport" in l][-5:]
        return "\n".join(out)

    def peers(self, x):
        status, _, body = x.request("GET", "/v1/status/peers?stale")
        self.assertEqual(status, 200, body)
        return sorted(json.loads(body))

    def configuration(self, x):
        status, _, body = x.request("GET", "/v1/operator/raft/configuration")
        self.assertEqual(status, 200, body)
        return sorted(s["Node"] for s in json.loads(body)["Servers"])

    def test_servers_of_one_ca_form_a_cluster_and_refuse_another_ca(self):
        s1 = self.server("s1", "ca-a").start()
        s2 = self.server("s2", "ca-a").start([s1.server_addr])
        # The rogue asks to be the third founding server. Were its connections
        # taken (plain TCP, or a certificate from ca-a), s1, s2 and it would
        # elect a leader within about two seconds.
        rogue = self.server("rogue", "ca-b").start([s1.server_addr, s2.server_addr])
        self.assertFalse(wait_until(lambda: s1.leader() or s2.leader() or rogue.leader(), timeout=4),
                         "a cluster formed with the rogue server\n" + self.logs())

        s3 = self.server("s3", "ca-a").start([s1.server_addr, s2.server_addr])
        cluster = [s1, s2, s3]
        self.assertTrue(wait_until(lambda: all(x.leader() for x in cluster), timeout=20),
                        "no leader over mutual TLS\n" + self.logs())
        for _ in range(100):
            status, _, _ = s3.request("PUT", "/v1/agent/service/register",
                                      {"Name": "web", "ID": "web-1", "Port": 80})
            if status == 200:
                break
            time.sleep(0.1)
        self.assertEqual(status, 200)
        for x in cluster:
            self.assertTrue(wait_until(lambda: "web-1" in x.instances("web"), timeout=10),
                            "%s lacks the registration" % x.name)
        self.assertEqual(self.configuration(s1), ["s1", "s2", "s3"])

        # A server of the cluster's CA, started after the rogue, is added as
        # servers that say hello are; the rogue, still retrying, never is.
        s4 = self.server("s4", "ca-a").start([s1.server_addr])
        cluster.append(s4)
        self.assertTrue(wait_until(lambda: self.configuration(s1) == ["s1", "s2", "s3", "s4"],
                                   timeout=20),
                        "s4 did not join: %s\n%s" % (self.configuration(s1), self.logs()))
        members = sorted(x.server_addr for x in cluster)
        for x in cluster:
            self.assertTrue(wait_until(lambda: self.peers(x) == members, timeout=10),
                            "%s: peers %s" % (x.name, self.peers(x)))
            self.assertNotIn("rogue", self.configuration(x))
        self.assertEqual(rogue.leader(), "")
        self.assertEqual(self.peers(rogue), [])
        self.assertEqual(rogue.instances("web"), set())

    def test_bad_tls_files_stop_the_agent_naming_the_file(self):
        crt, key = self.pki.issue("ca-a", "s1")
        missing = os.path.join(self.root, "missing.pem")
        other_crt, _ = self.pki.issue("ca-a", "other")
        cases = [
            (tls_config(missing, crt, key), missing),
            (tls_config(self.ca_a, crt, other_crt), other_crt),   # a certificate, not a key
            (tls_config(self.ca_b, crt, key), crt),               # not signed by ca_file
        ]
        for i, (config, named) in enumerate(cases):
            path = os.path.join(self.root, "bad%d.json" % i)
            with open(path, "w") as f:
                json.dump(config, f)
            r = subprocess.run([CAIRN, "agent", "-server", "-data-dir", os.path.join(self.root, "d%d" % i),
                                "-bind", "127.0.0.1", "-http-port", "0", "-dns-port", "-1",
                                "-server-port", "0", "-config-file", path],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(named, r.stderr)
            self.assertNotIn("listening", r.stdout)


if __name__ == "__main__":
    unittest.main()
