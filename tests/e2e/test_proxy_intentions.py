"""End-to-end tests of the proxy's inbound intention check, with the mesh's
own certificates (leaves and roots fetched from the agent, handed to the
proxies as files):
client -> proxy(web, upstream api) -> proxy(api, inbound) -> backend."""
import datetime
import json
import os
import shutil
import socket
import ssl
import tempfile
import time
import unittest

from cairn_agent import Agent, wait_until
from connect_util import write
from pki import DatedPki, utc_now
from proxy_support import Backend, Proxy, ProxyCleanup, exchange


def mesh_files(agent, directory, services):
    """Writes the agent's roots and a leaf per service; returns
    (ca_file, {service: (cert, key)}, trust_domain)."""
    roots, _ = agent.get_json("/v1/agent/connect/ca/roots")
    ca = write(os.path.join(directory, "roots.pem"),
               "".join(r["RootCert"] for r in roots["Roots"]))
    leaves = {}
    for svc in services:
        leaf, _ = agent.get_json("/v1/agent/connect/ca/leaf/" + svc)
        leaves[svc] = (write(os.path.join(directory, svc + ".crt"), leaf["CertPEM"]),
                       write(os.path.join(directory, svc + ".key"), leaf["PrivateKeyPEM"]))
    return ca, leaves, roots["TrustDomain"]


class MeshCase(ProxyCleanup, unittest.TestCase):
    agent_config = None  # {"connect": {...}} for the agent, or None

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cairn-proxy-intent-")
        args = []
        if cls.agent_config:
            args = ["-config-file", write(os.path.join(cls.dir, "agent.json"),
                                          json.dumps(cls.agent_config))]
        cls.agent = Agent(extra_args=args).start()
        assert wait_until(lambda: cls.agent.get_json("/v1/agent/connect/ca/roots")[0]["Roots"],
                          timeout=10), cls.agent.read_log()
        cls.ca, cls.leaves, cls.td = mesh_files(cls.agent, cls.dir, ["web", "api", "other"])

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tearDown(self):
        super().tearDown()
        intentions, _ = self.agent.get_json("/v1/connect/intentions")
        for i in intentions:
            self.agent.request("DELETE", "/v1/connect/intentions/" + i["ID"])

    def tls(self, service):
        cert, key = self.leaves[service]
        return ["-tls-cert", cert, "-tls-key", key, "-tls-ca", self.ca]

    def inbound(self, extra=()):
        """Backend "api" behind proxy B (inbound, api's leaf), registered as api."""
        backend = Backend("api")
        self.backends.append(backend)
        b = Proxy(["-service", "api", "-http-addr", self.agent.addr, "-listen", "127.0.0.1:0",
                   "-local-app", "127.0.0.1:%d" % backend.port] + self.tls("api") + list(extra))
        self.proxies.append(b)
        status, _, text = self.agent.request("PUT", "/v1/agent/service/register", {
            "Name": "api", "ID": "api-proxy", "Address": "127.0.0.1", "Port": b.inbound})
        self.registered.append("api-proxy")
        self.assertEqual(status, 200, text)
        self.assertTrue(wait_until(lambda: b.metric("cairn_proxy_intentions_index") > 0),
                        b.read_log())
        return b, backend

    def outbound(self, service):
        """Proxy A for `service` (its leaf), with an upstream to api."""
        a = Proxy(["-service", service, "-http-addr", self.agent.addr, "-upstream", "api:0"] +
                  self.tls(service))
        self.proxies.append(a)
        self.assertTrue(wait_until(lambda: a.metric("cairn_proxy_upstream_instances") == 1))
        return a

    def intention(self, source, destination, action):
        status, _, text = self.agent.request(
            "PUT", "/v1/connect/intentions/exact?source=%s&destination=%s" % (source, destination),
            {"Action": action})
        self.assertEqual(status, 200, text)
        return self.intentions_index()

    def delete_intention(self, source, destination):
        status, _, text = self.agent.request(
            "DELETE", "/v1/connect/intentions/exact?source=%s&destination=%s" % (source, destination))
        self.assertEqual(status, 200, text)
        return self.intentions_index()

    def intentions_index(self):
        return self.agent.get_json("/v1/connect/intentions")[1]

    def applied(self, proxy, index):
        """Waits until `proxy` has the intentions of `index` (or later) in force."""
        self.assertTrue(
            # Milliseconds: the agent answers the proxy's blocking query at once.
            # (A woken query once went unanswered until its wait ran out: an HTTP
            # server bug, fixed; this bound is far below the watch's 60 s wait.)
            wait_until(lambda: proxy.metric("cairn_proxy_intentions_index") >= index, timeout=5),
            proxy.read_log())

    def denied(self, b):
        return b.metric("cairn_proxy_denied_total", listener="inbound")

    def allowed(self, b):
        return b.metric("cairn_proxy_allowed_total", listener="inbound")


class ProxyIntentionsTest(MeshCase):
    """The agent's default policy: allow."""

    def test_default_allow_and_an_allow_intention_let_bytes_through(self):
        b, backend = self.inbound()
        a = self.outbound("web")
        data = os.urandom(200_000)
        self.assertEqual(exchange(a.upstreams["api"], data), data)
        self.assertEqual(self.allowed(b), 1)
        self.applied(b, self.intention("web", "api", "allow"))
        self.assertEqual(exchange(a.upstreams["api"], b"again"), b"again")
        self.assertEqual(self.allowed(b), 2)
        self.assertEqual(self.denied(b), 0)
        self.assertEqual(backend.accepted, 2)

    def test_deny_intention_refuses_new_connections_until_deleted(self):
        b, backend = self.inbound()
        a = self.outbound("web")
        self.assertEqual(exchange(a.upstreams["api"], b"before"), b"before")  # positive control
        self.applied(b, self.intention("web", "api", "deny"))
        self.assertEqual(exchange(a.upstreams["api"], b"denied"), b"")
        self.assertEqual(self.denied(b), 1)
        # Nothing reached the local app: B never connected to it.
        self.assertEqual(backend.accepted, 1)
        self.assertEqual(b.metric("cairn_proxy_bytes_total", listener="inbound", direction="up"),
                         len(b"before"))
        self.applied(b, self.delete_intention("web", "api"))
        self.assertEqual(exchange(a.upstreams["api"], b"after"), b"after")
        self.assertEqual(self.denied(b), 1)
        self.assertEqual(backend.accepted, 2)

    def stream(self, a):
        s = socket.create_connection(("127.0.0.1", a.upstreams["api"]), timeout=10)
        s.sendall(b"one")
        self.assertEqual(s.recv(10), b"one")
        return s

    def test_close_denied_closes_an_established_stream(self):
        b, backend = self.inbound(["-close-denied"])
        a = self.outbound("web")
        s = self.stream(a)
        self.assertEqual(backend.active, 1)
        index = self.intention("web", "api", "deny")
        s.settimeout(15)  # normally milliseconds; see applied()
        try:
            got = s.recv(10)
        except socket.timeout:
            self.fail("the stream is still open 15 s after the deny")
        except OSError:  # reset: closed too
            got = b""
        self.assertEqual(got, b"")
        s.close()
        self.applied(b, index)
        self.assertEqual(b.metric("cairn_proxy_denied_closed_total", listener="inbound"), 1)
        # Both legs closed and counted once.
        self.assertTrue(wait_until(lambda: backend.active == 0))
        self.assertTrue(wait_until(
            lambda: b.metric("cairn_proxy_connections_active", listener="inbound") == 0))
        self.assertTrue(wait_until(
            lambda: a.metric("cairn_proxy_connections_active", upstream="api") == 0))

    def test_without_close_denied_an_established_stream_stays_open(self):
        b, backend = self.inbound()
        a = self.outbound("web")
        s = self.stream(a)
        self.applied(b, self.intention("web", "api", "deny"))
        # The change is in force (new connections are refused) ...
        self.assertEqual(exchange(a.upstreams["api"], b"new"), b"")
        self.assertEqual(self.denied(b), 1)
        # ... and the established stream goes on.
        s.sendall(b"two")
        self.assertEqual(s.recv(10), b"two")
        self.assertEqual(b.metric("cairn_proxy_denied_closed_total", listener="inbound"), 0)
        self.assertEqual(backend.active, 1)
        s.close()

    def test_exact_allow_beats_a_wildcard_deny(self):
        b, backend = self.inbound()
        self.intention("*", "api", "deny")
        self.applied(b, self.intention("web", "api", "allow"))
        web = self.outbound("web")
        other = self.outbound("other")
        self.assertEqual(exchange(web.upstreams["api"], b"from web"), b"from web")
        self.assertEqual(exchange(other.upstreams["api"], b"from other"), b"")
        self.assertEqual(self.allowed(b), 1)
        self.assertEqual(self.denied(b), 1)
        self.assertEqual(backend.accepted, 1)
        # Without the wildcard deny, the default (allow) lets "other" in.
        self.applied(b, self.delete_intention("*", "api"))
        self.assertEqual(exchange(other.upstreams["api"], b"from other"), b"from other")

    def test_fail_closed_while_the_agent_is_unreachable(self):
        backend = Backend("api")
        self.backends.append(backend)
        # An address nothing listens on: the proxy starts, but has no
        # intentions; the agent's default (allow) does not apply.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = "127.0.0.1:%d" % s.getsockname()[1]
        s.close()
        b = Proxy(["-service", "api", "-http-addr", dead, "-listen", "127.0.0.1:0",
                   "-local-app", "127.0.0.1:%d" % backend.port] + self.tls("api"))
        self.proxies.append(b)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(self.ca)
        ctx.load_cert_chain(*self.leaves["web"])
        self.assertEqual(tls_ping(ctx, b.inbound), b"")
        self.assertEqual(self.denied(b), 1)
        self.assertEqual(b.metric("cairn_proxy_intentions_index"), 0)
        self.assertEqual(backend.accepted, 0)


class ProxyDefaultDenyTest(MeshCase):
    """The agent's default policy: deny. The proxy learns it from the agent."""
    agent_config = {"connect": {"default_intention_policy": "deny"}}

    def test_default_deny_refuses_until_an_allow(self):
        b, backend = self.inbound()
        a = self.outbound("web")
        self.assertEqual(exchange(a.upstreams["api"], b"x"), b"")
        self.assertEqual(self.denied(b), 1)
        self.assertEqual(backend.accepted, 0)
        self.applied(b, self.intention("web", "api", "allow"))
        self.assertEqual(exchange(a.upstreams["api"], b"x"), b"x")
        self.assertEqual(self.allowed(b), 1)


def tls_ping(ctx, port):
    """Connects with `ctx`, sends "ping" and returns what comes back (b"" when
    the server closes or the handshake fails)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = None
    try:
        s = ctx.wrap_socket(raw)
        s.sendall(b"ping")
        return s.recv(10)
    except (ssl.SSLError, OSError):
        return b""
    finally:
        (s or raw).close()


def connect_ping(ctx, port, session=None):
    """Connects with `ctx` (offering `session`), sends "ping" once the
    server's session tickets are in, and returns (reply, session, resumed);
    the reply is b"" when the server closes or the handshake fails."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = None
    try:
        s = ctx.wrap_socket(raw, session=session)
        # Nothing sent yet: a refusal then closes with a FIN, not a reset
        # that could discard the tickets. An admitted client times out here.
        s.settimeout(0.5)
        try:
            if s.recv(10) == b"":
                return b"", s.session, s.session_reused
        except socket.timeout:
            pass
        s.settimeout(10)
        s.sendall(b"ping")
        return s.recv(10), s.session, s.session_reused
    except (ssl.SSLError, OSError):
        return b"", s.session if s else None, s.session_reused if s else False
    finally:
        (s or raw).close()


class ExpiredCertificateTest(MeshCase):
    """A CA the test controls, so that it can issue a leaf that has expired."""

    def make_pki(self):
        now, day = utc_now(), datetime.timedelta(days=1)
        pki = DatedPki(self.dir, "test-ca", "spiffe://" + self.td)

        def leaf(name, service, before, after, td=self.td):
            uri = "spiffe://%s/ns/default/dc/dc1/svc/%s" % (td, service)
            return pki.leaf(name, service, uri, before, after)

        return (pki.ca_file, leaf("t-api", "api", now - day, now + day),
                leaf("t-web", "web", now - day, now + day),
                leaf("t-web-expired", "web", now - 3 * day, now - day),
                leaf("t-web-foreign", "web", now - day, now + day, td="other.consul"))

    def start(self):
        """The test PKI and an inbound proxy B that trusts only its CA."""
        ca_file, api, web, expired, foreign = self.make_pki()
        backend = Backend("api")
        self.backends.append(backend)
        b = Proxy(["-service", "api", "-http-addr", self.agent.addr, "-listen", "127.0.0.1:0",
                   "-local-app", "127.0.0.1:%d" % backend.port, "-tls-cert", api[0], "-tls-key",
                   api[1], "-tls-ca", ca_file])
        self.proxies.append(b)
        self.assertTrue(wait_until(lambda: b.metric("cairn_proxy_intentions_index") > 0))

        def client(leaf):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.load_verify_locations(ca_file)
            ctx.load_cert_chain(*leaf)
            return ctx

        return b, backend, client, web, expired, foreign

    def test_resumed_session_keeps_the_trust_domain_check(self):
        b, backend, client, web, _, foreign = self.start()

        # Positive control: a valid client resumes and is let in again.
        ok = client(web)
        ok.maximum_version = ssl.TLSVersion.TLSv1_3
        first = connect_ping(ok, b.inbound)
        self.assertEqual(first[0], b"ping")
        again = connect_ping(ok, b.inbound, first[1])
        self.assertEqual(again[0], b"ping")
        self.assertTrue(again[2], "the session was not resumed")
        # The foreign trust domain: refused, then refused again on resumption
        # (the resumed handshake verifies no chain).
        bad = client(foreign)
        first = connect_ping(bad, b.inbound)
        self.assertEqual(first[0], b"")
        self.assertIsNotNone(first[1], "no session ticket came with the refused handshake")
        again = connect_ping(bad, b.inbound, first[1])
        self.assertEqual(again[0], b"")
        self.assertTrue(again[2], "the session was not resumed")
        self.assertEqual(self.denied(b), 2)
        self.assertEqual(backend.accepted, 2)

    def test_expired_client_certificate_is_refused(self):
        b, backend, client, web, expired, foreign = self.start()

        self.assertEqual(tls_ping(client(web), b.inbound), b"ping")  # positive control
        self.assertEqual(self.allowed(b), 1)
        self.assertEqual(tls_ping(client(expired), b.inbound), b"")
        self.assertTrue(wait_until(
            lambda: b.metric("cairn_proxy_handshake_failures_total", listener="inbound") == 1))
        self.assertEqual(self.denied(b), 0)  # refused by the verification, not an intention
        self.assertEqual(backend.accepted, 1)
        # The test CA names its trust domain: a valid leaf it signed for
        # another trust domain passes the handshake but is refused.
        self.assertEqual(tls_ping(client(foreign), b.inbound), b"")
        self.assertEqual(self.denied(b), 1)
        self.assertEqual(backend.accepted, 1)


if __name__ == "__main__":
    unittest.main()
