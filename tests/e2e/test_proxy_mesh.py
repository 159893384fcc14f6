"""End-to-end tests of `cairn proxy` in mesh mode: the leaf and the roots come
from a real `cairn agent -dev` (leaf TTL 10 s, the agent's minimum, so the
proxies renew every few seconds), follow its rotations, and the proxies are
configured from registered services of Kind connect-proxy:
client -> proxy(web, upstream api) -> proxy(api, inbound) -> backend."""
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import unittest

from cairn_agent import CAIRN, Agent, wait_until
from connect_util import write
from proxy_support import Backend, Proxy, ProxyCleanup, exchange

LEAF_TTL = 10  # seconds (connect.leaf_cert_ttl's minimum)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def norm_serial(s):
    return s.replace(":", "").upper().lstrip("0")


class ProxyMeshTest(ProxyCleanup, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-proxy-mesh-")
        os.makedirs(os.path.join(cls.dir, "data"))
        cfg = write(os.path.join(cls.dir, "connect.json"),
                    json.dumps({"connect": {"leaf_cert_ttl": "%ds" % LEAF_TTL}}))
        cls.agent = Agent(data_dir=os.path.join(cls.dir, "data"),
                          extra_args=["-config-file", cfg]).start()
        assert wait_until(lambda: cls.roots()["ActiveRootID"], timeout=10), cls.agent.read_log()

    @classmethod
    def tearDownClass(cls):
        cls.agent.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def roots(cls):
        return cls.agent.get_json("/v1/agent/connect/ca/roots")[0]

    def register(self, body):
        status, _, text = self.agent.request("PUT", "/v1/agent/service/register", body)
        self.assertEqual(status, 200, text)
        self.registered.append(body.get("ID", body["Name"]))

    def backend(self, name, mode="echo"):
        b = Backend(name, mode=mode)
        self.backends.append(b)
        return b

    def proxy(self, args):
        p = Proxy(["-http-addr", self.agent.addr] + args)
        self.proxies.append(p)
        return p

    def register_sidecar(self, service, port, proxy_id=None, local_port=0, upstreams=()):
        self.register({"Name": service + "-sidecar-proxy", "ID": proxy_id or service + "-sidecar-proxy",
                       "Kind": "connect-proxy", "Address": "127.0.0.1", "Port": port,
                       "Proxy": {"DestinationServiceName": service, "DestinationServiceID": service,
                                 "LocalServiceAddress": "127.0.0.1", "LocalServicePort": local_port,
                                 "Upstreams": list(upstreams)}})

    def pair(self, mode="echo"):
        """api's backend behind proxy B (mesh, inbound), registered as api's
        connect-proxy; proxy A (mesh, service web) with an upstream to api."""
        backend = self.backend("api", mode)
        b = self.proxy(["-connect", "-service", "api", "-listen", "127.0.0.1:0",
                        "-local-app", "127.0.0.1:%d" % backend.port])
        self.register_sidecar("api", b.inbound, local_port=backend.port)
        a = self.proxy(["-connect", "-service", "web", "-upstream", "api:0"])
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_upstream_instances") == 1,
                                   timeout=15), a.read_log())
        return a, b, backend

    # --- A client holding an agent-issued leaf, to look at what a proxy presents.

    def leaf_files(self, service):
        status, _, body = self.agent.request("GET", "/v1/agent/connect/ca/leaf/" + service)
        self.assertEqual(status, 200, body)
        leaf = json.loads(body)
        crt = write(os.path.join(self.dir, service + "-client.crt"), leaf["CertPEM"])
        key = write(os.path.join(self.dir, service + "-client.key"), leaf["PrivateKeyPEM"])
        status, _, pem = self.agent.request("GET", "/v1/connect/ca/roots?pem=true")
        self.assertEqual(status, 200)
        roots = write(os.path.join(self.dir, "roots.pem"), pem)
        return crt, key, roots

    def presented(self, port):
        """(serial, issuer CN) of the certificate the mesh listener at `port`
        presents to a client with a valid leaf (web's) that trusts the roots."""
        crt, key, roots = self.leaf_files("web")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(roots)
        ctx.load_cert_chain(crt, key)
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
            cert = s.getpeercert()
        issuer = dict(x[0] for x in cert["issuer"])
        return norm_serial(cert["serialNumber"]), issuer.get("commonName")

    def leaf_info(self, proxy):
        for (name, labels), _ in proxy.metrics().items():
            if name == "cairn_proxy_leaf_info":
                return dict(labels)
        return {}

    # --- The tests.

    def test_bytes_intact_both_ways_through_a_mesh_pair(self):
        a, b, _ = self.pair()
        port = a.upstreams["api"]
        for size in (1, 1000, 4 << 20):
            data = os.urandom(size)
            self.assertEqual(exchange(port, data), data, size)
        self.assertEqual(b.metric("cairn_proxy_handshake_failures_total"), 0)
        self.assertEqual(b.metric("cairn_proxy_bytes_total", listener="inbound", direction="up"),
                         1 + 1000 + (4 << 20))
        self.assertEqual(b.metric("cairn_proxy_bytes_total", listener="inbound", direction="down"),
                         1 + 1000 + (4 << 20))
        # Each side runs on the identity the agent issued it.
        td = self.roots()["TrustDomain"]
        self.assertEqual(self.leaf_info(a)["uri"], "spiffe://%s/ns/default/dc/dc1/svc/web" % td)
        self.assertEqual(self.leaf_info(b)["uri"], "spiffe://%s/ns/default/dc/dc1/svc/api" % td)
        # The backend answers first and half-closes: that crosses the mesh too.
        greeter = self.backend("api-greet", "greet")
        g = self.proxy(["-connect", "-service", "api", "-listen", "127.0.0.1:0",
                        "-local-app", "127.0.0.1:%d" % greeter.port])
        self.agent.request("PUT", "/v1/agent/service/deregister/api-sidecar-proxy")
        self.register_sidecar("api", g.inbound, proxy_id="api-greet-proxy", local_port=greeter.port)
        self.assertTrue(wait_until(
            lambda: a.metric("cairn_proxy_upstream_instances") == 1 and
            exchange(port, b"x" * 5000) == b"hello from api-greet", timeout=15))
        self.assertTrue(wait_until(lambda: 5000 in greeter.received), greeter.received)

    def test_a_deny_intention_refuses_mesh_connections_and_close_denied_closes_one(self):
        backend = self.backend("api")
        b = self.proxy(["-connect", "-close-denied", "-service", "api", "-listen", "127.0.0.1:0",
                        "-local-app", "127.0.0.1:%d" % backend.port])
        self.register_sidecar("api", b.inbound, local_port=backend.port)
        a = self.proxy(["-connect", "-service", "web", "-upstream", "api:0"])
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_upstream_instances") == 1,
                                   timeout=15), a.read_log())
        port = a.upstreams["api"]
        self.assertTrue(wait_until(lambda: b.metric("cairn_proxy_intentions_index") > 0))
        self.assertEqual(exchange(port, b"before"), b"before")
        # An established stream, then web -> api denied: new connections are
        # refused and (close_denied) the stream is closed.
        stream = socket.create_connection(("127.0.0.1", port), timeout=10)
        stream.sendall(b"one")
        self.assertEqual(stream.recv(10), b"one")
        status, _, text = self.agent.request(
            "PUT", "/v1/connect/intentions/exact?source=web&destination=api", {"Action": "deny"})
        self.assertEqual(status, 200, text)
        self.assertTrue(wait_until(lambda: exchange(port, b"x") == b"", timeout=15))
        self.assertGreater(b.metric("cairn_proxy_denied_total"), 0)
        stream.settimeout(15)
        try:
            self.assertEqual(stream.recv(10), b"")  # closed by the proxy
        except ConnectionResetError:
            pass
        stream.close()
        self.assertEqual(b.metric("cairn_proxy_denied_closed_total"), 1)
        # Deleted: allowed again.
        self.agent.request("DELETE", "/v1/connect/intentions/exact?source=web&destination=api")
        self.assertTrue(wait_until(lambda: exchange(port, b"after") == b"after", timeout=15))

    def test_stream_survives_leaf_and_ca_rotation_and_new_connections_get_the_new_leaf(self):
        a, b, _ = self.pair()
        port = a.upstreams["api"]
        first_serial, first_issuer = self.presented(b.inbound)
        self.assertTrue(wait_until(lambda: norm_serial(self.leaf_info(b)["serial"]) == first_serial))

        # A long-lived stream: 8 bytes every 100 ms, each echoed back.
        stream = socket.create_connection(("127.0.0.1", port), timeout=10)
        stop = threading.Event()
        state = {"sent": 0, "error": None}

        def pump():
            try:
                while not stop.is_set():
                    msg = struct.pack(">Q", state["sent"])
                    stream.sendall(msg)
                    got = b""
                    while len(got) < 8:
                        d = stream.recv(8 - len(got))
                        if not d:
                            raise IOError("stream closed after %d messages" % state["sent"])
                        got += d
                    if got != msg:
                        raise IOError("message %d came back as %r" % (state["sent"], got))
                    state["sent"] += 1
                    time.sleep(0.1)
            except Exception as e:  # noqa: BLE001 - reported by the test
                state["error"] = repr(e)

        t = threading.Thread(target=pump)
        t.start()
        started = time.monotonic()
        try:
            # Leaf rotation: both proxies renew (10 s TTL, renewed at half life).
            self.assertTrue(wait_until(
                lambda: a.metric("cairn_proxy_leaf_rotations_total") >= 1 and
                b.metric("cairn_proxy_leaf_rotations_total") >= 1, timeout=20), b.read_log())
            self.assertIsNone(state["error"])
            self.assertTrue(wait_until(lambda: self.presented(b.inbound)[0] != first_serial,
                                       timeout=10))
            self.assertTrue(wait_until(
                lambda: self.presented(b.inbound)[0] == norm_serial(self.leaf_info(b)["serial"]),
                timeout=10))
            self.assertEqual(exchange(port, b"after the leaf rotation"), b"after the leaf rotation")

            # CA rotation: a new root; both proxies trust both, then get leaves of the new one.
            old_root = self.roots()["ActiveRootID"]
            status, _, text = self.agent.request("POST", "/v1/connect/ca/rotate")
            self.assertEqual(status, 200, text)
            new_root = self.roots()["ActiveRootID"]
            self.assertNotEqual(new_root, old_root)
            for p in (a, b):
                self.assertTrue(wait_until(
                    lambda: self.leaf_info(p).get("active_root") == new_root and
                    p.metric("cairn_proxy_roots") == 2, timeout=15), p.read_log())
            self.assertTrue(wait_until(lambda: self.presented(b.inbound)[1] != first_issuer,
                                       timeout=15))
            self.assertEqual(exchange(port, b"after the CA rotation"), b"after the CA rotation")
            # And past the first leaf's expiry the stream still goes on.
            self.assertTrue(wait_until(lambda: time.monotonic() - started > LEAF_TTL + 2 or
                                       state["error"], timeout=LEAF_TTL + 5))
            self.assertIsNone(state["error"])
        finally:
            stop.set()
            t.join(10)
            stream.close()
        self.assertIsNone(state["error"])
        self.assertGreater(state["sent"], (LEAF_TTL + 2) * 5)  # >= half the 100 ms ticks
        self.assertGreater(b.metric("cairn_proxy_leaf_expiry_timestamp_seconds"), time.time())
        self.assertGreaterEqual(b.metric("cairn_proxy_roots_changes_total"), 1)
        self.assertEqual(b.metric("cairn_proxy_handshake_failures_total"), 0)
        self.assertEqual(a.metric("cairn_proxy_handshake_failures_total"), 0)

    def test_proxies_configured_from_registered_connect_proxy_services(self):
        api_backend = self.backend("api")
        web_app = self.backend("web")
        api_port, web_port, bind_port = free_port(), free_port(), free_port()
        self.register({"Name": "api", "ID": "api", "Port": api_backend.port})
        self.register_sidecar("api", api_port, local_port=api_backend.port)
        self.register({"Name": "web", "ID": "web", "Port": web_app.port})
        self.register_sidecar("web", web_port, local_port=web_app.port, upstreams=[
            {"DestinationType": "service", "DestinationName": "api", "LocalBindPort": bind_port}])
        b = self.proxy(["-sidecar-for", "api"])
        a = self.proxy(["-proxy-id", "web-sidecar-proxy"])
        self.assertEqual(b.inbound, api_port)
        self.assertEqual(a.inbound, web_port)
        self.assertEqual(a.upstreams, {"api": bind_port})
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_upstream_instances") == 1,
                                   timeout=15), a.read_log())
        data = os.urandom(300_000)
        self.assertEqual(exchange(bind_port, data), data)
        self.assertEqual(b.metric("cairn_proxy_bytes_total", listener="inbound", direction="up"),
                         len(data))
        # Mesh mode is implied: web's inbound listener wants a client certificate.
        self.assertEqual(exchange(web_port, b"plaintext"), b"")
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_handshake_failures_total",
                                                    listener="inbound") == 1))
        # No such sidecar: a clear error and exit code 1.
        r = subprocess.run([CAIRN, "proxy", "-http-addr", self.agent.addr, "-sidecar-for", "nope"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no connect-proxy service", r.stderr)

    def test_outbound_refuses_an_instance_with_another_services_identity(self):
        a_backend = self.backend("api")
        b = self.proxy(["-connect", "-service", "api", "-listen", "127.0.0.1:0",
                        "-local-app", "127.0.0.1:%d" % a_backend.port])
        self.register_sidecar("api", b.inbound, local_port=a_backend.port)
        # An impostor: a mesh proxy with db's leaf, registered as billing's proxy.
        impostor_backend = self.backend("db")
        x = self.proxy(["-connect", "-service", "db", "-listen", "127.0.0.1:0",
                        "-local-app", "127.0.0.1:%d" % impostor_backend.port])
        self.register_sidecar("billing", x.inbound, local_port=impostor_backend.port)
        a = self.proxy(["-connect", "-service", "web", "-upstream", "api:0",
                        "-upstream", "billing:0"])
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_upstream_instances") == 2,
                                   timeout=15))
        self.assertEqual(exchange(a.upstreams["api"], b"ping"), b"ping")  # positive control
        self.assertEqual(exchange(a.upstreams["billing"], b"ping"), b"")
        self.assertGreaterEqual(a.metric("cairn_proxy_handshake_failures_total",
                                         upstream="billing"), 1)
        self.assertEqual(a.metric("cairn_proxy_bytes_total", upstream="billing"), 0)

    def test_start_up_fails_clearly_without_an_agent(self):
        r = subprocess.run([CAIRN, "proxy", "-connect", "-service", "web", "-upstream", "api:0",
                            "-http-addr", "127.0.0.1:%d" % free_port(), "-mesh-wait", "1s"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no mesh certificate from the agent", r.stderr)
        self.assertEqual(r.stdout, "")  # never said it was listening
        started = time.monotonic()
        r = subprocess.run([CAIRN, "proxy", "-sidecar-for", "web", "-mesh-wait", "2s",
                            "-http-addr", "127.0.0.1:%d" % free_port()],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot reach", r.stderr)
        self.assertGreater(time.monotonic() - started, 1.0)  # it waited for the agent


class ProxyMeshAclTest(unittest.TestCase):
    """With ACLs on (default deny), the proxy's -token is what gets it a leaf."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-proxy-mesh-acl-")
        cfg = write(os.path.join(self.dir, "acl.json"),
                    json.dumps({"acl": {"enabled": True, "default_policy": "deny"}}))
        self.agent = Agent(extra_args=["-config-file", cfg]).start()
        self.proxies = []

    def tearDown(self):
        for p in self.proxies:
            p.stop()
        self.agent.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def acl(self, *args, token=None):
        cmd = [CAIRN, "acl"] + list(args) + ["-http-addr", self.agent.addr, "-format", "json"]
        if token:
            cmd += ["-token", token]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_the_token_gets_the_leaf_and_no_token_fails_start_up(self):
        mgmt = self.acl("bootstrap")["SecretID"]
        rules = write(os.path.join(self.dir, "web.hcl"),
                      'service "web" { policy = "write" }\nservice "api" { policy = "read" }\n'
                      'node_prefix "" { policy = "read" }\n')
        self.acl("policy", "create", "-name", "web-proxy", "-rules", "@" + rules, token=mgmt)
        tok = self.acl("token", "create", "-policy-name", "web-proxy", token=mgmt)["SecretID"]
        base = ["-http-addr", self.agent.addr, "-connect", "-service", "web", "-upstream", "api:0"]
        r = subprocess.run([CAIRN, "proxy"] + base + ["-mesh-wait", "1s"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no mesh certificate from the agent", r.stderr)
        self.assertIn("403", r.stderr)
        p = Proxy(base + ["-token", tok])
        self.proxies.append(p)
        self.assertIn("/svc/web", [dict(l) for (n, l), _ in p.metrics().items()
                                   if n == "cairn_proxy_leaf_info"][0]["uri"])
        self.assertEqual(p.metric("cairn_proxy_mesh_fetch_failures_total"), 0)


if __name__ == "__main__":
    unittest.main()
