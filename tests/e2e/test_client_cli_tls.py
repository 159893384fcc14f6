"""The `cairn` client subcommands over HTTPS against a real agent with the
plain port off and verify_incoming on: -ca-file/-ca-path/-client-cert/
-client-key/-tls-server-name and -http-addr https://..., the same from
$CAIRN_* and Consul's $CONSUL_* variables, a watch that sees a change, and
clear one-line failures (wrong CA, no client certificate, wrong server name,
plain HTTP to the TLS port), each well within its timeout."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, wait_until
from pki import Pki
from test_https import HttpsAgent

ENV_NAMES = ("HTTP_ADDR", "HTTP_TOKEN", "CACERT", "CAPATH", "CLIENT_CERT", "CLIENT_KEY",
             "TLS_SERVER_NAME", "HTTP_SSL", "HTTP_SSL_VERIFY")


def clean_env(extra=None):
    e = dict(os.environ)
    for prefix in ("CAIRN_", "CONSUL_"):
        for n in ENV_NAMES:
            e.pop(prefix + n, None)
    e.update(extra or {})
    return e


def cli(*args, env=None, stdin=None, timeout=30):
    return subprocess.run([CAIRN] + list(args), input=stdin, capture_output=True, text=True,
                          env=clean_env(env), timeout=timeout)


class ClientCliTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="cairn-cli-tls-")
        pki = Pki(cls.root)
        cls.ca = pki.make_ca("ca")
        cls.rogue = pki.make_ca("rogue")
        cert, key = pki.issue("ca", "server")
        cls.cert, cls.key = pki.issue("ca", "client")
        cls.agent = HttpsAgent(cls.root, {"tls": {"https": {
            "ca_file": cls.ca, "cert_file": cert, "key_file": key, "verify_incoming": True}}})
        cls.addr = "https://127.0.0.1:%d" % cls.agent.port

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def tls_flags(self):
        return ["-http-addr", self.addr, "-ca-file", self.ca, "-client-cert", self.cert,
                "-client-key", self.key]

    def run_ok(self, *args, **kw):
        r = cli(*args, **kw)
        self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.stderr))
        return r.stdout

    def fails(self, *args, env=None):
        start = time.monotonic()
        r = cli(*args, env=env)
        self.assertLess(time.monotonic() - start, 10, "slow failure")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("127.0.0.1:%d" % self.agent.port, r.stderr)
        return r.stderr

    def test_flags(self):
        self.assertIn("alive", self.run_ok("members", *self.tls_flags()))
        self.run_ok("services", "register", "-", *self.tls_flags(), stdin=json.dumps(
            {"Name": "tlsweb", "ID": "tlsweb-1", "Port": 8080}))
        self.assertIn("tlsweb", self.run_ok("catalog", "services", *self.tls_flags()))
        out = self.run_ok("catalog", "service", "tlsweb", "-format", "json", *self.tls_flags())
        self.assertEqual(json.loads(out)[0]["ServiceID"], "tlsweb-1")
        # Flags with two dashes and -flag=value; a name the certificate holds.
        out = self.run_ok("members", "--http-addr=" + self.addr, "--ca-file=" + self.ca,
                          "-client-cert=" + self.cert, "-client-key=" + self.key,
                          "-tls-server-name", "server.dc1.cairn")
        self.assertIn("alive", out)
        # A CA directory.
        d = os.path.join(self.root, "ca-dir")
        os.makedirs(d, exist_ok=True)
        shutil.copy(self.ca, os.path.join(d, "ca.pem"))
        self.assertIn("alive", self.run_ok("members", "-http-addr", self.addr, "-ca-path", d,
                                           "-client-cert", self.cert, "-client-key", self.key))
        self.run_ok("services", "deregister", "tlsweb-1", *self.tls_flags())

    def test_environment_variables(self):
        for prefix in ("CAIRN_", "CONSUL_"):
            env = {prefix + "HTTP_ADDR": self.addr, prefix + "CACERT": self.ca,
                   prefix + "CLIENT_CERT": self.cert, prefix + "CLIENT_KEY": self.key}
            self.assertIn("alive", self.run_ok("members", env=env))
            self.run_ok("services", "register", "-", env=env,
                        stdin='{"Name":"env-%s","ID":"env-%s"}' % (prefix, prefix))
            self.assertIn("env-" + prefix, self.run_ok("catalog", "services", env=env))
            err = self.fails("members", env=dict(env, **{prefix + "TLS_SERVER_NAME": "x.cairn"}))
            self.assertIn("certificate verify failed", err)
            self.assertIn("x.cairn", err)
            # A flag wins over the variable.
            self.assertIn("alive", self.run_ok("members", "-ca-file", self.ca,
                                               env=dict(env, **{prefix + "CACERT": self.rogue})))
            # $..._HTTP_SSL=true: host:port is HTTPS.
            env[prefix + "HTTP_ADDR"] = "127.0.0.1:%d" % self.agent.port
            env[prefix + "HTTP_SSL"] = "true"
            self.assertIn("alive", self.run_ok("members", env=env))

    def test_clear_failures(self):
        flags = self.tls_flags()
        err = self.fails("members", *flags[:2], "-ca-file", self.rogue, *flags[4:])
        self.assertIn("certificate verify failed", err)
        err = self.fails("members", *flags[:4])
        self.assertIn("client certificate", err)
        err = self.fails("catalog", "services", *flags, "-tls-server-name", "other.dc1.cairn")
        self.assertIn("certificate verify failed", err)
        self.assertIn("other.dc1.cairn", err)
        err = self.fails("members", "-http-addr", "http://127.0.0.1:%d" % self.agent.port)
        self.assertIn("https://", err)
        r = cli("members", *flags[:2], "-ca-file", os.path.join(self.root, "nope.pem"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.pem", r.stderr)
        # The acl command takes the same flags.
        r = cli("acl", "policy", "list", *flags)
        self.assertNotIn("unknown flag", r.stderr)
        self.assertNotIn("certificate", r.stderr)

    def test_watch_sees_a_change(self):
        self.run_ok("services", "register", "-", *self.tls_flags(), stdin='{"Name":"seen"}')
        out = self.run_ok("watch", "-type", "services", *self.tls_flags())
        self.assertIn("seen", json.loads(out))
        log = os.path.join(self.root, "events")
        handler = "python3 -c \"import json,sys; d=json.load(sys.stdin); " \
                  "open('%s','a').write(','.join(sorted(e['Service']['ID'] for e in d))+'\\n')\"" \
                  % log
        watch = subprocess.Popen([CAIRN, "watch", "-type", "service", "-service", "tw",
                                  *self.tls_flags(), "--", "sh", "-c", handler],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                 env=clean_env())

        def events():
            try:
                with open(log) as f:
                    return [line.strip() for line in f]
            except OSError:
                return []
        try:
            self.assertTrue(wait_until(lambda: events() == [""], timeout=15), events())
            self.run_ok("services", "register", "-", *self.tls_flags(),
                        stdin='{"Name":"tw","ID":"tw-1"}')
            self.assertTrue(wait_until(lambda: events() == ["", "tw-1"], timeout=15), events())
        finally:
            watch.send_signal(signal.SIGTERM)
            try:
                watch.wait(timeout=15)
            except subprocess.TimeoutExpired:
                watch.kill()
                watch.wait()
            watch.stderr.close()
        self.run_ok("services", "deregister", "tw-1", *self.tls_flags())

    def test_help_lists_the_tls_flags(self):
        out = cli("--help")
        text = out.stdout + out.stderr
        for flag in ("-ca-file", "-ca-path", "-client-cert", "-client-key", "-tls-server-name",
                     "https://", "CAIRN_CACERT", "CONSUL_"):
            self.assertIn(flag, text)


if __name__ == "__main__":
    unittest.main()
