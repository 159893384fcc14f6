"""DNS abuse resistance with a real agent: a flood of large (ANY, SRV)
queries from one source is rate limited (a truncated answer now and then,
the rest dropped: no amplification) while a client of another prefix is
still answered in full; UDP answers never exceed what the query allows;
outside names are forwarded only for the allowed networks; TCP
connections per client are capped. Clients are told apart by binding
different loopback source addresses (127.0.0.0/8 is all local)."""
import json
import os
import shutil
import socket
import tempfile
import time
import unittest

import dns.flags  # Debian's python3-dnspython
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from cairn_agent import Agent
from test_dns import TestResolver

RATE = 50  # answers per second per prefix in these tests


class DnsAbuseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.resolver = TestResolver()
        cls.cfg_dir = tempfile.mkdtemp(prefix="cairn-e2e-abuse-")
        with open(os.path.join(cls.cfg_dir, "dns.json"), "w") as f:
            json.dump({"recursors": ["127.0.0.1:%d" % cls.resolver.port],
                       "dns_config": {
                           "rate_limit": {"enabled": True, "responses_per_second": RATE,
                                          "slip": 2, "exempt": []},
                           "allow_recursion_from": ["127.0.0.1/32"],
                           "max_tcp_connections_per_client": 4}}, f)
        cls.agent = Agent(extra_args=["-config-dir", cls.cfg_dir]).start()
        # A service with enough instances that its answers are large.
        for i in range(40):
            status, _, text = cls.agent.request("PUT", "/v1/agent/service/register", {
                "Name": "big", "ID": "big%d" % i, "Address": "10.0.%d.%d" % (i // 200, i % 200 + 1),
                "Port": 8000 + i})
            assert status == 200, text

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.resolver.stop()
        shutil.rmtree(cls.cfg_dir, ignore_errors=True)

    def ask(self, name, rdtype, source, use_edns=True):
        q = dns.message.make_query(name, rdtype, use_edns=0 if use_edns else None,
                                   payload=4096 if use_edns else 512)
        return dns.query.udp(q, "127.0.0.1", port=self.agent.dns_port, timeout=2, source=source)

    def flood(self, source, count):
        """Sends `count` ANY and SRV queries for the big service as fast as
        possible from `source`, then collects what comes back for a moment.
        Returns (answers, truncated answers, bytes sent, bytes received in
        truncated answers)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((source, 0))
        wires = [dns.message.make_query("big.service.consul.", t, use_edns=0, payload=4096,
                                        id=i).to_wire()
                 for i, t in enumerate([dns.rdatatype.ANY, dns.rdatatype.SRV] * 8)]
        sent_bytes = 0
        for i in range(count):
            w = wires[i % len(wires)]
            sock.sendto(w, ("127.0.0.1", self.agent.dns_port))
            sent_bytes += len(w)
        full = truncated = received = 0
        sock.settimeout(0.5)
        while True:
            try:
                data = sock.recv(65535)
            except socket.timeout:
                break
            m = dns.message.from_wire(data)
            if m.flags & dns.flags.TC and not m.answer:
                truncated += 1
                received += len(data)
            else:
                full += 1
        sock.close()
        return full, truncated, sent_bytes, received

    def metric(self, name, label=None):
        _, _, body = self.agent.request("GET", "/metrics")
        for line in body.splitlines():
            key = line.split(" ")[0]
            if key == name or (label and key == '%s{%s}' % (name, label)):
                return float(line.split()[1])
        raise KeyError(name)

    def test_a_flood_from_one_prefix_is_limited_while_others_are_served(self):
        count = 2000
        t0 = time.monotonic()
        full, truncated, sent, received = self.flood("127.0.3.1", count)
        elapsed = time.monotonic() - t0
        # At most the burst plus the rate over the flood's duration.
        self.assertLessEqual(full, RATE + RATE * elapsed + 5,
                             "%d full answers in %.1f s" % (full, elapsed))
        self.assertGreater(full, 0)
        # One limited query in two gets a truncated answer (slip 2).
        limited = count - full
        self.assertGreater(truncated, limited * 0.3, (full, truncated))
        self.assertLess(truncated, limited * 0.7, (full, truncated))
        # No amplification beyond the allowed rate: the limited queries get
        # back about half the bytes they sent (a truncated answer is the size
        # of its query, one in two).
        self.assertLess(received, 0.7 * sent, "sent %d bytes, got %d back truncated"
                        % (sent, received))
        self.assertGreaterEqual(self.metric("cairn_dns_rate_limited_total", 'action="dropped"'),
                                limited * 0.3)
        # A client of another prefix is answered in full meanwhile, and a
        # truncated answer to the limited one can be retried over TCP.
        for _ in range(20):
            r = self.ask("big.service.consul.", dns.rdatatype.SRV, "127.0.4.1")
            self.assertEqual(len(r.answer[0]), 40)
        q = dns.message.make_query("big.service.consul.", dns.rdatatype.SRV)
        r = dns.query.tcp(q, "127.0.0.1", port=self.agent.dns_port, timeout=2, source="127.0.3.1")
        self.assertEqual(len(r.answer[0]), 40)

    def test_udp_answers_fit_the_query(self):
        # No EDNS: 512 bytes at most, TC set since 40 SRV records do not fit.
        q = dns.message.make_query("big.service.consul.", dns.rdatatype.SRV)
        wire = dns.query.udp(q, "127.0.0.1", port=self.agent.dns_port, timeout=2,
                             source="127.0.5.1", ignore_trailing=True)
        self.assertTrue(wire.flags & dns.flags.TC)
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.5.2", 0))
        sock.settimeout(2)
        for rdtype in (dns.rdatatype.ANY, dns.rdatatype.SRV, dns.rdatatype.A):
            sock.sendto(dns.message.make_query("big.service.consul.", rdtype).to_wire(),
                        ("127.0.0.1", self.agent.dns_port))
            self.assertLessEqual(len(sock.recv(65535)), 512)
            # EDNS with a 1232-byte buffer: at most 1232.
            sock.sendto(dns.message.make_query("big.service.consul.", rdtype, use_edns=0,
                                               payload=1232).to_wire(),
                        ("127.0.0.1", self.agent.dns_port))
            self.assertLessEqual(len(sock.recv(65535)), 1232)
        sock.close()

    def test_recursion_only_for_allowed_clients(self):
        seen = self.resolver.seen
        r = self.ask("example.org.", dns.rdatatype.A, "127.0.0.1")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.answer[0][0].address, "192.0.2.1")
        self.assertEqual(self.resolver.seen, seen + 1)
        # Any other client is refused, over UDP and TCP, and nothing is forwarded.
        r = self.ask("example.org.", dns.rdatatype.A, "127.0.6.1")
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        q = dns.message.make_query("example.net.", dns.rdatatype.A)
        r = dns.query.tcp(q, "127.0.0.1", port=self.agent.dns_port, timeout=2, source="127.0.6.1")
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        self.assertEqual(self.resolver.seen, seen + 1)
        self.assertGreaterEqual(self.metric("cairn_dns_recursion_refused_total"), 2)
        # Our own names are still answered for everyone.
        r = self.ask("big.service.consul.", dns.rdatatype.SRV, "127.0.6.1")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)

    def test_tcp_connections_per_client_are_capped(self):
        held = []
        try:
            for _ in range(4):
                s = socket.create_connection(("127.0.0.1", self.agent.dns_port), timeout=2,
                                             source_address=("127.0.7.1", 0))
                held.append(s)
            time.sleep(0.2)
            # The fifth from the same client is closed at once...
            s = socket.create_connection(("127.0.0.1", self.agent.dns_port), timeout=2,
                                         source_address=("127.0.7.1", 0))
            held.append(s)
            self.assertEqual(s.recv(1), b"")
            # ...while another client connects and is answered.
            q = dns.message.make_query("big.service.consul.", dns.rdatatype.SRV)
            r = dns.query.tcp(q, "127.0.0.1", port=self.agent.dns_port, timeout=2,
                              source="127.0.7.2")
            self.assertEqual(len(r.answer[0]), 40)
        finally:
            for s in held:
                s.close()
        self.assertGreaterEqual(self.metric("cairn_dns_tcp_refused_total"), 1)


if __name__ == "__main__":
    unittest.main()
