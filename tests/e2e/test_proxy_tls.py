"""End-to-end tests of mutual TLS between two `cairn proxy` processes, with
certificates from files (the mesh CA will hand them out later):
client -> proxy A (upstream, TLS out) -> proxy B (inbound, TLS in) -> backend."""
import os
import shutil
import signal
import socket
import ssl
import tempfile
import time
import unittest

from cairn_agent import Agent, wait_until
from pki import Pki
from proxy_support import Backend, Proxy, ProxyCleanup, exchange

TD = "spiffe://11111111-2222-3333-4444-555555555555.cairn/ns/default/dc/dc1/svc/"


def mesh_leaf(pki, ca, name, service):
    """A leaf as the mesh makes them: one URI SAN, both client and server auth."""
    return pki.leaf(ca, name, "URI:" + TD + service, cn=service)


class ProxyTlsTest(ProxyCleanup, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-proxy-tls-")
        cls.pki = Pki(cls.dir)
        cls.ca = cls.pki.make_ca("ca")
        cls.other_ca = cls.pki.make_ca("other")
        cls.web = mesh_leaf(cls.pki, "ca", "web", "web")
        cls.api = mesh_leaf(cls.pki, "ca", "api", "api")
        cls.db = mesh_leaf(cls.pki, "ca", "db", "db")
        cls.stranger = mesh_leaf(cls.pki, "other", "stranger", "web")
        cls.agent = Agent().start()

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def intentions_in_force(self, proxy):
        """An inbound TLS proxy refuses everything until the agent's intentions arrive."""
        self.assertTrue(wait_until(lambda: proxy.metric("cairn_proxy_intentions_index") > 0))

    def tls_args(self, leaf, peer):
        return ["-tls-cert", leaf[0], "-tls-key", leaf[1], "-tls-ca", self.ca,
                "-tls-peer-id", TD + peer]

    def pair(self, mode="echo", a_args=(), b_leaf=None):
        """Backend "api" behind proxy B (presenting b_leaf, api's own leaf by
        default); proxy A in front with an upstream to api."""
        backend = Backend("api", mode=mode)
        self.backends.append(backend)
        b = Proxy(["-service", "api", "-http-addr", self.agent.addr, "-listen", "127.0.0.1:0",
                   "-local-app", "127.0.0.1:%d" % backend.port] +
                  self.tls_args(b_leaf or self.api, "web"))
        self.proxies.append(b)
        self.intentions_in_force(b)
        status, _, text = self.agent.request("PUT", "/v1/agent/service/register", {
            "Name": "api", "ID": "api-proxy", "Address": "127.0.0.1", "Port": b.inbound})
        self.registered.append("api-proxy")
        self.assertEqual(status, 200, text)
        a = Proxy(["-service", "web", "-http-addr", self.agent.addr, "-upstream", "api:0"] +
                  self.tls_args(self.web, "api") + list(a_args))
        self.proxies.append(a)
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_upstream_instances") == 1))
        return a, b, backend

    def test_bytes_intact_through_a_mutual_tls_pair(self):
        a, b, _ = self.pair()
        port = a.upstreams["api"]
        for size in (1, 1000, 6 << 20):
            data = os.urandom(size)
            self.assertEqual(exchange(port, data), data, size)
        self.assertEqual(b.metric("cairn_proxy_handshake_failures_total"), 0)
        self.assertEqual(b.metric("cairn_proxy_bytes_total", listener="inbound", direction="up"),
                         1 + 1000 + (6 << 20))

    def test_sessions_resume_and_a_reloaded_server_starts_over(self):
        a, b, _ = self.pair()
        port = a.upstreams["api"]
        for i in range(5):
            self.assertEqual(exchange(port, b"r%d" % i), b"r%d" % i)
        # One full handshake; the ticket it left lets the next four resume
        # (B still checked web's identity, from the session, and let them in).
        self.assertEqual(a.metric("cairn_proxy_handshakes_total", upstream="api", kind="full"), 1)
        self.assertEqual(a.metric("cairn_proxy_handshakes_total", upstream="api", kind="resumed"), 4)
        self.assertEqual(b.metric("cairn_proxy_handshakes_total", listener="inbound",
                                  kind="resumed"), 4)
        # B reloads its files: its tickets were sealed by the old context, so
        # the next connections need a full handshake again.
        b.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(
            lambda: exchange(port, b"z") == b"z" and
            a.metric("cairn_proxy_handshakes_total", upstream="api", kind="full") == 2))
        self.assertEqual(b.metric("cairn_proxy_handshake_failures_total"), 0)

    def test_without_resumption_every_connection_is_a_full_handshake(self):
        a, b, _ = self.pair(a_args=["-tls-resumption=false"])
        port = a.upstreams["api"]
        for i in range(3):
            self.assertEqual(exchange(port, b"f%d" % i), b"f%d" % i)
        self.assertEqual(a.metric("cairn_proxy_handshakes_total", upstream="api", kind="full"), 3)
        self.assertEqual(a.metric("cairn_proxy_handshakes_total", upstream="api", kind="resumed"), 0)

    def test_half_close_from_the_backend_crosses_the_tls_leg(self):
        a, _, backend = self.pair(mode="greet")
        s = socket.create_connection(("127.0.0.1", a.upstreams["api"]), timeout=10)
        got = b""
        while True:
            d = s.recv(1024)
            if not d:
                break
            got += d
        self.assertEqual(got, b"hello from api")
        s.sendall(b"y" * 200_000)
        s.shutdown(socket.SHUT_WR)
        self.assertTrue(wait_until(lambda: backend.received == [200_000]), backend.received)
        s.close()

    def client(self, leaf, port):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(self.ca)
        ctx.load_cert_chain(*leaf)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw)
        try:
            # TLS 1.3: the client's handshake ends before the server has
            # checked the client's certificate, so a refusal may show as
            # soon as the first write.
            s.sendall(b"ping")
            return s.recv(10)
        except (ssl.SSLError, OSError):
            return b""
        finally:
            s.close()

    def test_inbound_refuses_a_wrong_identity_or_another_ca(self):
        _, b, _ = self.pair()
        self.assertEqual(self.client(self.web, b.inbound), b"ping")  # positive control
        self.assertEqual(self.client(self.db, b.inbound), b"")  # wrong SPIFFE ID
        self.assertEqual(b.metric("cairn_proxy_handshake_failures_total"), 1)
        self.assertEqual(self.client(self.stranger, b.inbound), b"")  # another CA
        self.assertEqual(b.metric("cairn_proxy_handshake_failures_total"), 2)
        # A plaintext client is refused too.
        self.assertEqual(exchange(b.inbound, b"GET / HTTP/1.0\r\n\r\n"), b"")
        self.assertTrue(wait_until(
            lambda: b.metric("cairn_proxy_handshake_failures_total") == 3))

    def presented(self, port):
        """The DER of the certificate the inbound listener at `port` presents."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(self.ca)
        ctx.load_cert_chain(*self.web)
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as s:
            return s.getpeercert(binary_form=True)

    def test_leaf_rotation_on_sighup_keeps_established_streams(self):
        crt, key = mesh_leaf(self.pki, "ca", "api-rot", "api")
        a, b, _ = self.pair(b_leaf=(crt, key))
        old = self.presented(b.inbound)
        stream = socket.create_connection(("127.0.0.1", a.upstreams["api"]), timeout=10)
        stream.sendall(b"one")
        self.assertEqual(stream.recv(10), b"one")
        # A new leaf in the same files, then SIGHUP: new connections get it.
        mesh_leaf(self.pki, "ca", "api-rot", "api")
        b.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.presented(b.inbound) != old))
        stream.sendall(b"two")
        self.assertEqual(stream.recv(10), b"two")  # the established stream goes on
        self.assertEqual(exchange(a.upstreams["api"], b"new"), b"new")
        # A broken file on reload keeps the last good context.
        with open(crt, "w") as f:
            f.write("not a certificate")
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertIsNone(b.proc.poll())
        self.assertEqual(exchange(a.upstreams["api"], b"still"), b"still")
        stream.close()

    def test_outbound_refuses_a_server_with_the_wrong_identity(self):
        # B presents db's certificate where A expects api.
        a, b, _ = self.pair(b_leaf=self.db)
        self.assertEqual(exchange(a.upstreams["api"], b"x"), b"")
        self.assertEqual(a.metric("cairn_proxy_handshake_failures_total", upstream="api"), 1)
        # A closed before sending a byte (B may have connected to its app already:
        # the identity is checked once A's side of the handshake is done).
        self.assertEqual(b.metric("cairn_proxy_bytes_total", listener="inbound", direction="up"), 0)


if __name__ == "__main__":
    unittest.main()
