"""The DNS interface of the real binary, checked with three independent
clients: dig (bind9-dnsutils), kdig (knot-dnsutils) and dnspython. Every name
form, record type, flag, TTL and rcode; health filtering; weights; TC and TCP
fallback with 200 instances; EDNS sizes; forwarding to a local test resolver;
and ordering (weighted, statistically; least-loaded, following reports)."""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import dns.flags  # noqa: E402  (Debian's python3-dnspython)
import dns.message  # noqa: E402
import dns.query  # noqa: E402
import dns.rcode  # noqa: E402
import dns.rdatatype  # noqa: E402
import dns.rrset  # noqa: E402

from cairn_agent import Agent, wait_until  # noqa: E402

NODE = "e2e-node"


class TestResolver:
    """A recursor stand-in on 127.0.0.1:0 (UDP): answers A 192.0.2.1 (TTL 60)
    for every name, except names starting with "silent", which it ignores."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.seen = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            try:
                q = dns.message.from_wire(data)
            except Exception:
                continue
            self.seen += 1
            name = q.question[0].name
            if name.to_text().startswith("silent"):
                continue
            r = dns.message.make_response(q)
            r.flags |= dns.flags.RA
            r.answer.append(dns.rrset.from_text(name, 60, "IN", "A", "192.0.2.1"))
            self.sock.sendto(r.to_wire(), peer)

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def write_config(obj):
    d = tempfile.mkdtemp(prefix="cairn-e2e-dns-")
    path = os.path.join(d, "dns.json")
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


class DnsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.resolver = TestResolver()
        cfg = write_config({"dns_config": {"node_ttl": "10s",
                                           "service_ttl": {"*": "5s", "db": "7s"}}})
        cls.agent = Agent(extra_args=["-config-file", cfg, "-recursor",
                                      "127.0.0.1:%d" % cls.resolver.port]).start(
            env={"CAIRN_DNS_SEED": "42"})
        cfg2 = write_config({"dns_config": {"only_passing": True,
                                            "enable_additional_node_meta_txt": False}})
        cls.strict = Agent(extra_args=["-config-file", cfg2], node="strict-node").start(
            env={"CAIRN_DNS_ORDER": "least-loaded"})
        a = cls.agent
        cls.put(a, "/v1/agent/service/register",
                {"Name": "web", "ID": "web-1", "Port": 8080, "Address": "10.0.0.1",
                 "Tags": ["v1", "primary"], "Weights": {"Passing": 3, "Warning": 1}})
        cls.put(a, "/v1/agent/service/register",
                {"Name": "web", "ID": "web-2", "Port": 8081, "Address": "10.0.0.2", "Tags": ["v2"]})
        cls.put(a, "/v1/agent/service/register",
                {"Name": "web", "ID": "web-3", "Port": 8082, "Address": "2001:db8::3"})
        cls.put(a, "/v1/agent/service/register", {"Name": "db", "ID": "db-1", "Port": 5432})
        cls.put(a, "/v1/catalog/register",
                {"Node": "n2", "Address": "10.0.1.2", "NodeMeta": {"rack": "r7"},
                 "Service": {"Service": "cache", "ID": "cache-1", "Port": 6379}})
        # The agent's own node carries meta (cairn-version), so services on it
        # get that as TXT in SRV answers, as Consul's do with consul-version.
        meta = a.get_json("/v1/catalog/node/" + NODE)[0]["Node"]["Meta"]
        cls.own_txt = sorted('"%s=%s"' % kv for kv in meta.items())
        assert cls.own_txt, meta
        for agent in (cls.agent, cls.strict):
            cls.put(agent, "/v1/catalog/register",
                    {"Node": "metanode", "Address": "10.0.2.1",
                     "NodeMeta": {"rack": "r9", "a=b": "c"},
                     "Service": {"Service": "metasvc", "ID": "metasvc-1", "Port": 7000}})
        cls.put(a, "/v1/catalog/register",
                {"Node": "bigmeta", "Address": "10.0.2.2",
                 "NodeMeta": {k: k * 200 for k in "abc"},
                 "Service": {"Service": "bigmeta", "ID": "bigmeta-1", "Port": 7001}})
        cls.put(a, "/v1/agent/service/register",
                {"Name": "ext", "ID": "ext-1", "Port": 443, "Address": "DB.Example.COM"})
        cls.put(a, "/v1/catalog/register",
                {"Node": "extnode", "Address": "ext.example.org", "NodeMeta": {"k": "v"},
                 "Service": {"Service": "extn", "ID": "extn-1", "Port": 80}})
        for agent in (cls.agent, cls.strict):
            for i, status in enumerate(["passing", "warning", "critical"]):
                cls.put(agent, "/v1/agent/service/register",
                        {"Name": "hf", "ID": "hf-%d" % i, "Port": 1, "Address": "10.9.0.%d" % (i + 1),
                         "Check": {"TTL": "1h"}})
                verb = {"passing": "pass", "warning": "warn", "critical": "fail"}[status]
                cls.put(agent, "/v1/agent/check/%s/service:hf-%d" % (verb, i), None)

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        cls.strict.cleanup()
        cls.resolver.stop()

    @staticmethod
    def put(agent, path, body):
        status, _, text = agent.request("PUT", path, body if body is not None else b"")
        assert status == 200, (path, status, text)

    # -- helpers --------------------------------------------------------------------------------
    def q(self, name, rdtype, agent=None, tcp=False, edns=-1, payload=1232):
        agent = agent or self.agent
        msg = dns.message.make_query(name, rdtype, use_edns=edns, payload=payload)
        if tcp:
            return dns.query.tcp(msg, "127.0.0.1", port=agent.dns_port, timeout=5)
        return dns.query.udp(msg, "127.0.0.1", port=agent.dns_port, timeout=5)

    @staticmethod
    def texts(section):
        return sorted(rd.to_text() for rrset in section for rd in rrset)

    @staticmethod
    def ttls(section):
        return {rrset.ttl for rrset in section}

    def dig(self, *args, agent=None):
        agent = agent or self.agent
        return subprocess.run(["dig", "@127.0.0.1", "-p", str(agent.dns_port), "+time=3",
                               "+tries=1"] + list(args), capture_output=True, text=True,
                              timeout=30).stdout

    def kdig(self, *args):
        return subprocess.run(["kdig", "@127.0.0.1", "-p", str(self.agent.dns_port), "+time=3",
                               "+retry=0"] + list(args), capture_output=True, text=True,
                              timeout=30).stdout

    def assert_soa_authority(self, r, domain="cairn."):
        self.assertEqual(len(r.authority), 1)
        soa = r.authority[0]
        self.assertEqual(soa.rdtype, dns.rdatatype.SOA)
        self.assertEqual(soa.name.to_text(), domain)
        self.assertEqual(soa[0].mname.to_text(), "ns." + domain)
        self.assertEqual(soa[0].rname.to_text(), "hostmaster." + domain)
        self.assertEqual((soa[0].refresh, soa[0].retry, soa[0].expire, soa[0].minimum),
                         (3600, 600, 86400, 0))

    # -- name forms --------------------------------------------------------------------------
    def test_service_a_in_every_domain_and_case(self):
        for name in ["web.service.cairn.", "web.service.dc1.cairn.", "WEB.Service.CONSUL.",
                     "web.service.dc1.consul."]:
            r = self.q(name, "A")
            self.assertEqual(r.rcode(), dns.rcode.NOERROR, name)
            self.assertTrue(r.flags & dns.flags.AA)
            self.assertTrue(r.flags & dns.flags.QR)
            self.assertTrue(r.flags & dns.flags.RA)  # recursors configured on this agent
            self.assertFalse(r.flags & dns.flags.TC)
            self.assertEqual(self.texts(r.answer), ["10.0.0.1", "10.0.0.2"], name)
            self.assertEqual(self.ttls(r.answer), {5})
            self.assertEqual(r.answer[0].name.to_text().lower(), name.lower())
            self.assertEqual(r.authority, [])

    def test_service_aaaa_and_any(self):
        r = self.q("web.service.cairn.", "AAAA")
        self.assertEqual(self.texts(r.answer), ["2001:db8::3"])
        r = self.q("web.service.cairn.", "ANY")
        self.assertEqual(self.texts(r.answer), ["10.0.0.1", "10.0.0.2", "2001:db8::3"])

    def test_tag_and_rfc2782_forms(self):
        r = self.q("v1.web.service.cairn.", "A")
        self.assertEqual(self.texts(r.answer), ["10.0.0.1"])
        r = self.q("PRIMARY.web.service.dc1.consul.", "SRV")
        self.assertEqual(self.texts(r.answer), ["1 3 8080 0a000001.addr.dc1.consul."])
        self.assertEqual(self.texts(r.additional), self.own_txt + ["10.0.0.1"])
        self.assertEqual([rr.name.to_text() for rr in r.additional],
                         ["0a000001.addr.dc1.consul.", "%s.node.dc1.consul." % NODE])
        r = self.q("_web._v2.service.cairn.", "SRV")
        self.assertEqual(self.texts(r.answer), ["1 1 8081 0a000002.addr.dc1.cairn."])
        r = self.q("_web._tcp.service.cairn.", "SRV")
        self.assertEqual(self.texts(r.answer),
                         ["1 1 8081 0a000002.addr.dc1.cairn.",
                          "1 1 8082 20010db8000000000000000000000003.addr.dc1.cairn.",
                          "1 3 8080 0a000001.addr.dc1.cairn."])
        self.assertEqual(self.texts(r.additional),
                         self.own_txt + ["10.0.0.1", "10.0.0.2", "2001:db8::3"])
        self.assertEqual(self.ttls(r.answer) | self.ttls(r.additional), {5})
        self.assertEqual(self.q("_web._udp.service.cairn.", "SRV").rcode(), dns.rcode.NOERROR)
        self.assertEqual(self.q("v9.web.service.cairn.", "A").rcode(), dns.rcode.NXDOMAIN)

    def test_srv_to_node_target_and_per_service_ttl(self):
        r = self.q("db.service.cairn.", "SRV")
        self.assertEqual(self.texts(r.answer), ["1 1 5432 %s.node.dc1.cairn." % NODE])
        self.assertEqual(self.ttls(r.answer), {7})
        self.assertEqual([(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype))
                          for rr in r.additional],
                         [("%s.node.dc1.cairn." % NODE, "A"), ("%s.node.dc1.cairn." % NODE, "TXT")])
        self.assertEqual(self.texts(r.additional), self.own_txt + ["127.0.0.1"])

    def test_node_addr_apex_and_ptr(self):
        r = self.q("%s.node.cairn." % NODE, "A")
        self.assertEqual(self.texts(r.answer), ["127.0.0.1"])
        self.assertEqual(self.ttls(r.answer), {10})
        r = self.q("N2.node.dc1.consul.", "TXT")
        self.assertEqual(self.texts(r.answer), ['"rack=r7"'])
        r = self.q("n2.node.cairn.", "AAAA")  # exists, no AAAA: NODATA
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.answer, [])
        self.assert_soa_authority(r)
        self.assertEqual(self.q("nobody.node.cairn.", "A").rcode(), dns.rcode.NXDOMAIN)
        r = self.q("0a000001.addr.cairn.", "A")
        self.assertEqual(self.texts(r.answer), ["10.0.0.1"])
        r = self.q("20010db8000000000000000000000003.addr.dc1.consul.", "AAAA")
        self.assertEqual(self.texts(r.answer), ["2001:db8::3"])
        r = self.q("cairn.", "SOA")
        self.assertEqual(len(r.answer), 1)
        self.assertEqual(self.texts(r.authority), ["%s.node.dc1.cairn." % NODE])
        r = self.q("consul.", "NS")
        self.assertEqual(self.texts(r.answer), ["%s.node.dc1.consul." % NODE])
        self.assertEqual(self.texts(r.additional), ["127.0.0.1"])
        r = self.q("2.1.0.10.in-addr.arpa.", "PTR")
        self.assertEqual(self.texts(r.answer), ["n2.node.dc1.cairn."])
        r = self.q("1.0.0.10.in-addr.arpa.", "PTR")
        self.assertEqual(self.texts(r.answer), ["web.service.dc1.cairn."])

    def test_nxdomain_vs_nodata(self):
        r = self.q("nope.service.cairn.", "A")
        self.assertEqual(r.rcode(), dns.rcode.NXDOMAIN)
        self.assertTrue(r.flags & dns.flags.AA)
        self.assertEqual(r.answer, [])
        self.assert_soa_authority(r)
        r = self.q("web.service.cairn.", "TXT")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(r.answer, [])
        self.assert_soa_authority(r)
        r = self.q("web.service.consul.", "MX")
        self.assert_soa_authority(r, "consul.")
        self.assertEqual(self.q("service.cairn.", "A").rcode(), dns.rcode.NOERROR)
        self.assertEqual(self.q("web.service.dc9.cairn.", "A").rcode(), dns.rcode.NXDOMAIN)
        out = self.dig("nope.service.cairn", "A")
        self.assertIn("status: NXDOMAIN", out)
        self.assertRegex(out, r"flags: qr aa rd ra;")
        self.assertRegex(out, r"AUTHORITY SECTION:\ncairn\.\s+0\s+IN\s+SOA\s+ns\.cairn\. hostmaster\.cairn\.")

    # -- node meta TXT in SRV answers, host-name addresses ---------------------------------------
    def test_srv_additional_has_node_meta_txt_after_the_address(self):
        r = self.q("metasvc.service.cairn.", "SRV")
        self.assertEqual(self.texts(r.answer), ["1 1 7000 metanode.node.dc1.cairn."])
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual([(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), rr.ttl)
                          for rr in r.additional],
                         [("metanode.node.dc1.cairn.", "A", 5),
                          ("metanode.node.dc1.cairn.", "TXT", 5)])
        self.assertEqual(self.texts(r.additional), ['"a`=b=c"', '"rack=r9"', "10.0.2.1"])
        out = self.dig("+noall", "+additional", "metasvc.service.dc1.consul", "SRV")
        self.assertRegex(out, r"metanode\.node\.dc1\.consul\.\s+5\s+IN\s+A\s+10\.0\.2\.1\n"
                              r"metanode\.node\.dc1\.consul\.\s+5\s+IN\s+TXT\s+\"a`=b=c\"\n"
                              r"metanode\.node\.dc1\.consul\.\s+5\s+IN\s+TXT\s+\"rack=r9\"")
        # Off with dns_config.enable_additional_node_meta_txt = false.
        r = self.q("metasvc.service.cairn.", "SRV", agent=self.strict)
        self.assertEqual(self.texts(r.additional), ["10.0.2.1"])

    def test_node_meta_txt_is_dropped_first_and_never_truncates(self):
        # 512 bytes hold the SRV and its glue but not the node's 645 bytes of TXT.
        r = self.q("bigmeta.service.cairn.", "SRV", edns=-1)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(self.texts(r.answer), ["1 1 7001 bigmeta.node.dc1.cairn."])
        self.assertEqual(self.texts(r.additional), ["10.0.2.2"])
        for tcp, edns in ((False, 0), (True, -1)):
            r = self.q("bigmeta.service.cairn.", "SRV", tcp=tcp, edns=edns)
            self.assertFalse(r.flags & dns.flags.TC)
            self.assertEqual(self.texts(r.additional),
                             ['"%s=%s"' % (k, k * 200) for k in "abc"] + ["10.0.2.2"])
        out = self.kdig("+notcp", "+noedns", "bigmeta.service.cairn", "SRV")
        self.assertRegex(out[:400], r"Flags: qr aa rd ra; QUERY: 1; ANSWER: 1; AUTHORITY: 0; "
                                    r"ADDITIONAL: 1")

    def test_host_name_addresses_give_cname_and_srv_target(self):
        for rdtype in ("A", "AAAA", "ANY"):
            r = self.q("ext.service.cairn.", rdtype)
            self.assertEqual(r.rcode(), dns.rcode.NOERROR)
            self.assertEqual(len(r.answer), 1, rdtype)
            self.assertEqual(r.answer[0].rdtype, dns.rdatatype.CNAME)
            self.assertEqual(self.texts(r.answer), ["db.example.com."])
            self.assertEqual(self.ttls(r.answer), {5})
            self.assertEqual(r.additional, [])
        r = self.q("ext.service.cairn.", "SRV")
        self.assertEqual(self.texts(r.answer), ["1 1 443 db.example.com."])
        # No address for the host name; the TXT of the node the service is on.
        self.assertEqual([(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype))
                          for rr in r.additional], [("%s.node.dc1.cairn." % NODE, "TXT")])
        self.assertEqual(self.dig("+short", "ext.service.consul", "A").strip(), "db.example.com.")
        # A node whose address is a host name: the SRV target, a CNAME for A
        # and for the node's own name; its meta TXT still comes, under its name.
        r = self.q("extn.service.cairn.", "SRV")
        self.assertEqual(self.texts(r.answer), ["1 1 80 ext.example.org."])
        self.assertEqual([(rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype))
                          for rr in r.additional], [("extnode.node.dc1.cairn.", "TXT")])
        self.assertEqual(self.texts(self.q("extn.service.cairn.", "A").answer),
                         ["ext.example.org."])
        r = self.q("extnode.node.cairn.", "A")
        self.assertEqual(r.answer[0].rdtype, dns.rdatatype.CNAME)
        self.assertEqual(self.texts(r.answer), ["ext.example.org."])
        self.assertEqual(self.ttls(r.answer), {10})
        out = self.kdig("extn.service.cairn", "A")
        self.assertRegex(out, r"extn\.service\.cairn\.\s+5\s+IN\s+CNAME\s+ext\.example\.org\.")

    # -- /metrics --------------------------------------------------------------------------------
    DNS_SERIES = ['queries_total{transport="udp"}', 'queries_total{transport="tcp"}',
                  'query_types_total{qtype="A"}', 'query_types_total{qtype="AAAA"}',
                  'query_types_total{qtype="SRV"}', 'query_types_total{qtype="other"}',
                  'responses_total{rcode="NOERROR"}', 'responses_total{rcode="NXDOMAIN"}',
                  'responses_total{rcode="FORMERR"}', 'responses_total{rcode="SERVFAIL"}',
                  "truncated_total", "forwarded_total", "forward_failures_total",
                  "dropped_total", "malformed_total"]

    def dns_counters(self):
        return {n: self.agent.metric("cairn_dns_" + n) for n in self.DNS_SERIES}

    def test_metrics_count_dns_queries(self):
        for i in range(30):
            self.put(self.agent, "/v1/catalog/register",
                     {"Node": "mt-%d" % i, "Address": "10.21.0.%d" % (i + 1),
                      "Service": {"Service": "mtrunc", "ID": "mt-%d" % i, "Port": 1}})
        before = self.dns_counters()
        self.q("web.service.cairn.", "A")
        self.q("web.service.consul.", "A")
        self.q("nope.service.cairn.", "SRV", tcp=True)
        self.q("www.example.org.", "A")  # forwarded
        self.assertEqual(self.q("silent.example.org.", "A").rcode(), dns.rcode.SERVFAIL)
        self.assertTrue(self.q("mtrunc.service.cairn.", "SRV").flags & dns.flags.TC)
        good = dns.message.make_query("web.service.cairn.", "A").to_wire()
        r = self.raw_udp(good[:4] + b"\x00\x02" + good[6:])
        self.assertEqual(r[3] & 0xF, dns.rcode.FORMERR)
        # A packet too short to answer, then a query from the same socket: one
        # worker takes both in order, so the drop is counted once this answer is back.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.settimeout(5)
        s.sendto(b"\x01\x02\x03", ("127.0.0.1", self.agent.dns_port))
        s.sendto(dns.message.make_query("web.service.cairn.", "AAAA").to_wire(),
                 ("127.0.0.1", self.agent.dns_port))
        self.assertEqual(dns.message.from_wire(s.recv(4096)).rcode(), dns.rcode.NOERROR)
        after = self.dns_counters()
        delta = {n: after[n] - before[n] for n in self.DNS_SERIES}
        self.assertEqual(delta, {
            'queries_total{transport="udp"}': 8, 'queries_total{transport="tcp"}': 1,
            'query_types_total{qtype="A"}': 4, 'query_types_total{qtype="AAAA"}': 1,
            'query_types_total{qtype="SRV"}': 2, 'query_types_total{qtype="other"}': 0,
            'responses_total{rcode="NOERROR"}': 4, 'responses_total{rcode="NXDOMAIN"}': 1,
            'responses_total{rcode="FORMERR"}': 1, 'responses_total{rcode="SERVFAIL"}': 0,
            "truncated_total": 1, "forwarded_total": 2, "forward_failures_total": 1,
            "dropped_total": 1, "malformed_total": 2})
        _, headers, body = self.agent.request("GET", "/metrics")
        self.assertIn("# TYPE cairn_dns_queries_total counter\n", body)
        self.assertIn("cairn_http_requests_total", body)  # the same page as the HTTP metrics

    # -- health and weights -------------------------------------------------------------------
    def test_health_filtering(self):
        r = self.q("hf.service.cairn.", "A")
        self.assertEqual(self.texts(r.answer), ["10.9.0.1", "10.9.0.2"])  # critical never
        r = self.q("hf.service.cairn.", "A", agent=self.strict)
        self.assertEqual(self.texts(r.answer), ["10.9.0.1"])  # only_passing drops warning
        self.assertFalse(r.flags & dns.flags.RA)  # no recursors there

    def test_srv_weights_follow_status(self):
        self.put(self.agent, "/v1/agent/service/register",
                 {"Name": "wst", "ID": "wst-1", "Port": 9, "Weights": {"Passing": 10, "Warning": 2},
                  "Check": {"TTL": "1h"}})
        self.put(self.agent, "/v1/agent/check/pass/service:wst-1", None)
        self.assertEqual(self.texts(self.q("wst.service.cairn.", "SRV").answer),
                         ["1 10 9 %s.node.dc1.cairn." % NODE])
        self.put(self.agent, "/v1/agent/check/warn/service:wst-1", None)
        self.assertEqual(self.texts(self.q("wst.service.cairn.", "SRV").answer),
                         ["1 2 9 %s.node.dc1.cairn." % NODE])
        self.put(self.agent, "/v1/agent/check/fail/service:wst-1", None)
        self.assertEqual(self.q("wst.service.cairn.", "SRV").rcode(), dns.rcode.NXDOMAIN)

    # -- size: TC, TCP fallback, EDNS ---------------------------------------------------------
    def test_200_instances_truncate_over_udp_and_come_whole_over_tcp(self):
        for i in range(200):
            self.put(self.agent, "/v1/catalog/register",
                     {"Node": "big-%d" % i, "Address": "10.20.%d.%d" % (i // 250, i % 250 + 1),
                      "Service": {"Service": "big", "ID": "big-%d" % i, "Port": 7000 + i}})
        # No EDNS: at most 512 bytes, TC set, never empty.
        r = self.q("big.service.cairn.", "SRV", edns=-1)
        self.assertTrue(r.flags & dns.flags.TC)
        self.assertGreater(len(r.answer[0]), 0)
        self.assertLessEqual(len(r.to_wire()), 512)
        for payload in (1232, 4096):
            msg = dns.message.make_query("big.service.cairn.", "SRV", use_edns=0, payload=payload)
            wire = self.raw_udp(msg.to_wire())
            self.assertLessEqual(len(wire), payload)
            r = dns.message.from_wire(wire)
            self.assertTrue(r.flags & dns.flags.TC)
            self.assertEqual(r.edns, 0)
            self.assertEqual(r.payload, 4096)
            self.assertEqual(sum(len(rr) for rr in r.additional), len(r.answer[0]))
        r = self.q("big.service.cairn.", "SRV", tcp=True)
        self.assertFalse(r.flags & dns.flags.TC)
        self.assertEqual(len(r.answer[0]), 200)
        self.assertEqual(sum(len(rr) for rr in r.additional), 200)
        self.assertEqual(len(self.q("big.service.cairn.", "A", tcp=True).answer[0]), 200)
        # dig retries over TCP by itself after TC; +ignore shows the truncated UDP answer.
        out = self.dig("+noedns", "+ignore", "big.service.cairn", "SRV")
        self.assertRegex(out[:600], r"flags: qr aa tc rd ra;")
        out = self.dig("+noedns", "big.service.cairn", "SRV")
        self.assertIn("ANSWER: 200, AUTHORITY: 0, ADDITIONAL: 200", out[:600])
        self.assertIn("(TCP)", out[-300:])
        head = self.kdig("+tcp", "big.service.cairn", "SRV")[:300]
        self.assertRegex(head, r"Flags: qr aa rd ra; QUERY: 1; ANSWER: 200; AUTHORITY: 0; ADDITIONAL: 200")
        out = self.kdig("+notcp", "+bufsize=1232", "+ignore", "big.service.cairn", "A")
        self.assertRegex(out[:300], r"Flags: qr aa tc rd ra; QUERY: 1; ANSWER: \d+;")

    def test_edns_is_echoed_with_our_size(self):
        r = self.q("web.service.cairn.", "A", edns=0, payload=1400)
        self.assertEqual(r.edns, 0)
        self.assertEqual(r.payload, 4096)
        r = self.q("web.service.cairn.", "A", edns=-1)
        self.assertEqual(r.edns, -1)
        wire = bytearray(dns.message.make_query("web.service.cairn.", "A", use_edns=0).to_wire())
        wire[-5] = 1  # EDNS version 1
        r = dns.message.from_wire(self.raw_udp(bytes(wire)))
        self.assertEqual(r.rcode(), dns.rcode.BADVERS)
        self.assertEqual(r.answer, [])

    # -- forwarding ----------------------------------------------------------------------------
    def test_forwarding_to_recursor(self):
        r = self.q("www.example.org.", "A")
        self.assertEqual(r.rcode(), dns.rcode.NOERROR)
        self.assertEqual(self.texts(r.answer), ["192.0.2.1"])
        self.assertEqual(self.ttls(r.answer), {60})
        self.assertTrue(r.flags & dns.flags.RA)
        out = self.kdig("www.example.net", "A")
        self.assertRegex(out, r"www\.example\.net\.\s+60\s+IN\s+A\s+192\.0\.2\.1")
        start = time.monotonic()
        r = self.q("silent.example.org.", "A")
        self.assertEqual(r.rcode(), dns.rcode.SERVFAIL)
        self.assertLess(time.monotonic() - start, 4.5)
        # Without recursors: REFUSED, no RA, no AA.
        r = self.q("www.example.org.", "A", agent=self.strict)
        self.assertEqual(r.rcode(), dns.rcode.REFUSED)
        self.assertFalse(r.flags & (dns.flags.RA | dns.flags.AA))

    # -- bad input and TCP pipelining -------------------------------------------------------
    def raw_udp(self, data):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1)
        try:
            s.sendto(data, ("127.0.0.1", self.agent.dns_port))
            return s.recv(65535)
        except socket.timeout:
            return None
        finally:
            s.close()

    def test_bad_packets_get_formerr_notimp_or_nothing(self):
        good = dns.message.make_query("web.service.cairn.", "A").to_wire()
        self.assertIsNone(self.raw_udp(b"\x01\x02\x03"))  # too short: dropped
        two = good[:4] + b"\x00\x02" + good[6:]
        r = self.raw_udp(two)
        self.assertEqual(r[3] & 0xF, dns.rcode.FORMERR)
        self.assertLessEqual(len(r), len(two))
        update = good[:2] + bytes([good[2] | (5 << 3)]) + good[3:]
        r = self.raw_udp(update)
        self.assertEqual(r[3] & 0xF, dns.rcode.NOTIMP)
        loop = good[:12] + b"\x01a\xc0\x0c\x00\x01\x00\x01"
        self.assertEqual(self.raw_udp(loop)[3] & 0xF, dns.rcode.FORMERR)
        for cut in range(12, len(good)):
            self.raw_udp(good[:cut])
        self.raw_udp(os.urandom(300))
        self.assertEqual(self.texts(self.q("v1.web.service.cairn.", "A").answer), ["10.0.0.1"])

    def test_tcp_pipelined_queries_on_one_connection(self):
        s = socket.create_connection(("127.0.0.1", self.agent.dns_port), timeout=5)
        self.addCleanup(s.close)
        wires = []
        for i, name in enumerate(["web.service.cairn.", "db.service.cairn.", "nope.service.cairn."]):
            m = dns.message.make_query(name, "A")
            m.id = 100 + i
            w = m.to_wire()
            wires.append(struct.pack("!H", len(w)) + w)
        s.sendall(b"".join(wires))
        got = {}
        for _ in range(3):
            n = struct.unpack("!H", self.recv_exact(s, 2))[0]
            r = dns.message.from_wire(self.recv_exact(s, n))
            got[r.id] = r.rcode()
        self.assertEqual(got, {100: dns.rcode.NOERROR, 101: dns.rcode.NOERROR,
                               102: dns.rcode.NXDOMAIN})

    @staticmethod
    def recv_exact(s, n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    # -- ordering --------------------------------------------------------------------------------
    def test_weighted_first_record_follows_weights(self):
        self.put(self.agent, "/v1/agent/service/register",
                 {"Name": "wt", "ID": "wt-1", "Port": 1, "Address": "10.7.0.1",
                  "Weights": {"Passing": 1, "Warning": 1}})
        self.put(self.agent, "/v1/agent/service/register",
                 {"Name": "wt", "ID": "wt-2", "Port": 1, "Address": "10.7.0.2",
                  "Weights": {"Passing": 3, "Warning": 1}})
        n, first2 = 2000, 0
        for _ in range(n):
            r = self.q("wt.service.cairn.", "A")
            if r.answer[0][0].to_text() == "10.7.0.2":
                first2 += 1
        # Expect 3/4; 5 sigma = 0.048 (the seed is fixed, so this is deterministic per build).
        self.assertAlmostEqual(first2 / n, 0.75, delta=0.048)

    def test_least_loaded_follows_reports_without_moving_the_index(self):
        a = self.strict
        for i in (1, 2):
            self.put(a, "/v1/agent/service/register",
                     {"Name": "ll", "ID": "ll-%d" % i, "Port": 1, "Address": "10.8.0.%d" % i})
        _, index = a.get_json("/v1/health/service/ll")
        self.put(a, "/v1/agent/service/load/ll-1", {"Load": 5})
        self.put(a, "/v1/agent/service/load/ll-2", {"Load": 1})
        for _ in range(20):
            self.assertEqual(self.q("ll.service.cairn.", "A", agent=a).answer[0][0].to_text(),
                             "10.8.0.2")
        self.put(a, "/v1/agent/service/load/ll-2", {"Load": 9})
        changed_at = time.monotonic()
        self.assertTrue(wait_until(lambda: self.q("ll.service.cairn.", "A", agent=a)
                                   .answer[0][0].to_text() == "10.8.0.1", timeout=1.0))
        self.assertLess(time.monotonic() - changed_at, 1.0)
        body, index_after = a.get_json("/v1/health/service/ll?order=least-loaded")
        self.assertEqual(index_after, index)  # load reports are not catalog writes
        self.assertEqual([e["Service"]["ID"] for e in body], ["ll-1", "ll-2"])
        status, _, _ = a.request("PUT", "/v1/agent/service/load/nope", {"Load": 1})
        self.assertEqual(status, 404)


if __name__ == "__main__":
    unittest.main()
