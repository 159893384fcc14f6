"""The client library as an installed package: `cmake --install` of the
"client" component into a temporary prefix, then client/examples built
against it twice (find_package(Cairn) with CMAKE_PREFIX_PATH, and plain g++
with pkg-config), and both programs run against a real agent, over HTTP and
over HTTPS with a client certificate (OpenSSL comes through the package's
dependencies)."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from cairn_agent import Agent
from pki import Pki

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("CAIRN_BUILD_DIR", os.path.join(SOURCE, "build"))


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=240, **kw)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (" ".join(args), r.returncode,
                                                          r.stdout[-3000:], r.stderr[-3000:]))
    return r.stdout


class InstalledPackageTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-install-")
        pki = Pki(self.tmp)
        self.ca = pki.make_ca("ca")
        cert, key = pki.issue("ca", "server")
        self.client_cert, self.client_key = pki.issue("ca", "client")
        cfg = os.path.join(self.tmp, "tls.json")
        with open(cfg, "w") as f:
            json.dump({"tls": {"https": {"ca_file": self.ca, "cert_file": cert, "key_file": key,
                                         "verify_incoming": True}}}, f)
        self.agent = Agent(extra_args=["-https-port", "0", "-config-file", cfg]).start()

    def tearDown(self):
        self.agent.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_discover(self, binary):
        out = run([binary, self.agent.addr, "127.0.0.1:%d" % self.agent.dns_port])
        self.assertIn("healthy instances: 1", out)
        self.assertIn("resolved example to 127.0.0.1:9999", out)
        self.assertIn("done after 2 states", out)
        # HTTPS: the CA and client certificate from the environment.
        https = "https://127.0.0.1:%d" % self.agent.https_port
        env = dict(os.environ, CAIRN_CACERT=self.ca, CAIRN_CLIENT_CERT=self.client_cert,
                   CAIRN_CLIENT_KEY=self.client_key)
        out = run([binary, https, "127.0.0.1:%d" % self.agent.dns_port], env=env)
        self.assertIn("done after 2 states", out)
        # And it does check: without the client certificate the server refuses.
        del env["CAIRN_CLIENT_CERT"], env["CAIRN_CLIENT_KEY"]
        r = subprocess.run([binary, https, "127.0.0.1:%d" % self.agent.dns_port], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("client certificate", r.stderr)

    def test_example_builds_against_the_installed_package(self):
        prefix = os.path.join(self.tmp, "prefix")
        run(["cmake", "--install", BUILD, "--prefix", prefix, "--component", "client"])
        for f in ("include/cairn/client/client.hpp", "include/cairn/client/async.hpp",
                  "include/cairn/common/result.hpp", "lib/libcairn_client.a",
                  "lib/cmake/Cairn/CairnConfig.cmake", "lib/pkgconfig/cairn-client.pc"):
            self.assertTrue(os.path.exists(os.path.join(prefix, f)), f)
        # Nothing of the server is installed with the client.
        self.assertFalse(os.path.exists(os.path.join(prefix, "include/cairn/registry")))

        build = os.path.join(self.tmp, "example")
        run(["cmake", "-S", os.path.join(SOURCE, "client/examples"), "-B", build, "-G", "Ninja",
             "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_BUILD_TYPE=Release"])
        run(["cmake", "--build", build])
        self.check_discover(os.path.join(build, "discover"))

        env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(prefix, "lib/pkgconfig"))
        flags = run(["pkg-config", "--cflags", "--libs", "cairn-client"], env=env).split()
        binary = os.path.join(self.tmp, "discover_pc")
        run(["g++", "-std=c++20", "-O1", "-o", binary,
             os.path.join(SOURCE, "client/examples/discover.cpp")] + flags)
        self.check_discover(binary)


if __name__ == "__main__":
    unittest.main()
