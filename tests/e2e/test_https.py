"""The HTTPS API with a real agent, checked with curl and openssl: the API
over TLS with the plain port off, a wrong CA refused, client certificates
demanded when verify_incoming is on (and another CA's refused), TLS 1.0
refused (with a positive control: the same client reaching a TLS 1.0
server), and a renewed certificate picked up on SIGHUP without a restart."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, wait_until
from pki import Pki


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpsAgent:
    def __init__(self, root, config):
        self.root = root
        self.data = tempfile.mkdtemp(dir=root)
        self.cfg = os.path.join(root, "agent-%d.json" % len(os.listdir(root)))
        with open(self.cfg, "w") as f:
            json.dump(config, f)
        self.log = open(os.path.join(root, "agent.log"), "ab")
        self.proc = subprocess.Popen(
            [CAIRN, "agent", "-dev", "-data-dir", self.data, "-http-port", "-1",
             "-https-port", "0", "-dns-port", "-1", "-config-file", self.cfg],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + 15
        self.port = None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening.* https=[\d.]+:(\d+)", line)
            if m:
                self.assert_no_plain(line)
                self.port = int(m.group(1))
                return
        raise RuntimeError("agent did not start: %s" % open(self.log.name).read()[-2000:])

    @staticmethod
    def assert_no_plain(line):
        if " http=" in line:
            raise AssertionError("plain HTTP is on: " + line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True,
                          text=True, timeout=30)


def s_client(port, *args):
    return subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args],
                          input="Q\n", capture_output=True, text=True, timeout=30)


class HttpsTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-https-")
        self.pki = Pki(self.root)
        self.ca = self.pki.make_ca("ca")
        self.rogue = self.pki.make_ca("rogue")
        self.cert, self.key = self.pki.issue("ca", "server")
        self.client_cert, self.client_key = self.pki.issue("ca", "client")
        self.rogue_cert, self.rogue_key = self.pki.issue("rogue", "intruder")
        self.agents = []

    def tearDown(self):
        for a in self.agents:
            a.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def agent(self, verify_incoming):
        a = HttpsAgent(self.root, {"tls": {"https": {
            "ca_file": self.ca, "cert_file": self.cert, "key_file": self.key,
            "verify_incoming": verify_incoming}}})
        self.agents.append(a)
        return a

    def url(self, a, path="/v1/agent/self"):
        return "https://127.0.0.1:%d%s" % (a.port, path)

    def test_api_over_tls_and_a_wrong_ca_refused(self):
        a = self.agent(False)
        r = curl("--cacert", self.ca, self.url(a))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["Config"]["Datacenter"], "dc1")
        r = curl("--cacert", self.ca, "-X", "PUT", "--data", '{"Name": "web"}',
                 self.url(a, "/v1/agent/service/register"))
        self.assertEqual(r.returncode, 0, r.stderr)
        r = curl("--cacert", self.ca, self.url(a, "/v1/catalog/service/web"))
        self.assertEqual(len(json.loads(r.stdout)), 1)
        # A client trusting another CA refuses the server (curl: 60).
        r = curl("--cacert", self.rogue, self.url(a))
        self.assertEqual(r.returncode, 60, r.stderr)
        # Plain HTTP to the TLS port gets no HTTP answer.
        r = curl("http://127.0.0.1:%d/v1/agent/self" % a.port)
        self.assertNotEqual(r.returncode, 0)

    def test_client_certificates_when_verify_incoming(self):
        a = self.agent(True)
        ok = curl("--cacert", self.ca, "--cert", self.client_cert, "--key", self.client_key,
                  self.url(a))
        self.assertEqual(ok.returncode, 0, ok.stderr)
        none = curl("--cacert", self.ca, self.url(a))
        self.assertNotEqual(none.returncode, 0, "served without a client certificate")
        rogue = curl("--cacert", self.ca, "--cert", self.rogue_cert, "--key", self.rogue_key,
                     self.url(a))
        self.assertNotEqual(rogue.returncode, 0, "served a client of another CA")

    def test_tls_1_0_refused_with_a_positive_control(self):
        a = self.agent(False)
        legacy = ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]
        r = s_client(a.port, *legacy)
        self.assertNotIn("New, TLSv1.0, Cipher is", r.stdout)
        self.assertIn("Cipher is (NONE)", r.stdout)
        self.assertNotEqual(r.returncode, 0, r.stdout[-500:])
        # Control: the same client does reach a TLS 1.0 server, so the refusal above is Cairn's.
        port = free_port()
        server = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
                                   "-cert", self.cert, "-key", self.key, "-www", *legacy],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def reached():
                c = s_client(port, *legacy)
                return "New, TLSv1.0, Cipher is" in c.stdout
            self.assertTrue(wait_until(reached, timeout=10, interval=0.2),
                            "the control TLS 1.0 server was not reached")
        finally:
            server.kill()
            server.wait()
        # TLS 1.2 works.
        r = s_client(a.port, "-tls1_2", "-CAfile", self.ca)
        self.assertIn("Verify return code: 0 (ok)", r.stdout)

    def serial(self, port):
        r = s_client(port, "-CAfile", self.ca)
        cert = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=r.stdout,
                              capture_output=True, text=True, timeout=30)
        return cert.stdout.strip()

    def test_sighup_reloads_the_certificate(self):
        a = self.agent(False)
        before = self.serial(a.port)
        self.assertTrue(before.startswith("serial="), before)
        # Renew in place: a new certificate and key at the same paths.
        new_cert, new_key = self.pki.issue("ca", "server-renewed")
        shutil.copy(new_cert, self.cert)
        shutil.copy(new_key, self.key)
        self.assertEqual(self.serial(a.port), before)  # not before the signal
        a.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.serial(a.port) != before, timeout=10),
                        "the renewed certificate was not picked up")
        r = curl("--cacert", self.ca, self.url(a))
        self.assertEqual(r.returncode, 0, r.stderr)
        # A broken file on reload keeps the working certificate.
        with open(self.key, "w") as f:
            f.write("garbage\n")
        renewed = self.serial(a.port)
        a.proc.send_signal(signal.SIGHUP)
        time.sleep(1)
        self.assertEqual(self.serial(a.port), renewed)
        self.assertIsNone(a.proc.poll())


if __name__ == "__main__":
    unittest.main()
