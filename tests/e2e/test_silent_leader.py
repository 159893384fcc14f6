"""A leader that goes silent without closing its connections, while clients
write and read through a follower: SIGSTOP (its sockets stay open and the
kernel keeps taking bytes for it), or a partition that drops its packets
(the FaultNet relay's blackhole). Once the follower sees the old leader is
gone (its election timeout, or a new leader or term), the writes it had
forwarded fail at once ("outcome unknown"), the reads are asked again of the
new leader, and new requests go to the new leader: every request is
answered within a few seconds, none waits out the 10 s forwarding timeout.
Nothing answered 200 is lost, and the old leader, resumed (SIGCONT) or
healed, rejoins as a follower with the same data. Behind a partition, the
old leader itself steps down (check-quorum) and fails its own pending
writes just as soon."""
import json
import shutil
import signal
import sys
import tempfile
import time
import unittest

from cairn_agent import wait_until
from fault_cluster import Cluster
from test_cluster import start_three
from test_lost_forward import ForwardLoad
from workload import http_call

AFTER_STOP_S = 6.0  # the load keeps going this long after the freeze
ANSWER_WITHIN_S = 5.0  # every request answered this soon after the freeze (or its own start)


class SilentLeaderTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-silent-")
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader")

    def tearDown(self):
        for x in self.s:
            if x.proc and x.proc.poll() is None:
                x.proc.send_signal(signal.SIGCONT)
            x.stop(signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)

    def test_requests_through_a_follower_are_answered_soon_after_the_leader_freezes(self):
        addr = self.s[0].leader()
        leader = next(x for x in self.s if x.server_addr == addr)
        follower = next(x for x in self.s if x is not leader)
        other = next(x for x in self.s if x is not leader and x is not follower)
        status, _, body = follower.request("PUT", "/v1/agent/service/register",
                                           {"Name": "web", "ID": "warm", "Port": 80})
        self.assertEqual(status, 200, body)

        load = ForwardLoad(follower)
        load.start()
        try:
            self.assertTrue(load.first_ack.wait(10), "no write went through before the freeze")
            time.sleep(0.3)
            stopped_at = time.monotonic()
            leader.proc.send_signal(signal.SIGSTOP)
            load.stop_after(stopped_at + AFTER_STOP_S)
            joined = load.join(60)
            new_addr = [""]

            def new_leader():
                new_addr[0] = follower.leader()
                return new_addr[0] not in ("", addr)

            elected = wait_until(new_leader, timeout=10)
        finally:
            # Never leave a stopped process behind, whatever failed above.
            leader.proc.send_signal(signal.SIGCONT)
            resumed_at = time.monotonic()
        self.assertTrue(joined, "a writer or reader is still waiting")
        self.assertTrue(elected, "no new leader while the old one was frozen")
        # The old leader, resumed, follows the new leader.
        self.assertTrue(wait_until(lambda: leader.leader() == new_addr[0], timeout=15),
                        "the old leader does not follow the new one (it says %r)" % leader.leader())
        follows_after = time.monotonic() - resumed_at
        results = load.results

        after = [r for r in results if r[3] > stopped_at]
        reads_after = [r for r in load.reads if r[1] > stopped_at]
        print("\nsilent leader: %d writes answered after the freeze (%d ok, %d failed), slowest "
              "%.2f s after it; %d reads, slowest %.2f s" % (
                  len(after), sum(r[4] == 200 for r in after), sum(r[4] != 200 for r in after),
                  max((r[3] - max(r[2], stopped_at) for r in after), default=0), len(reads_after),
                  max((r[1] - max(r[0], stopped_at) for r in reads_after), default=0)) +
              "; resumed, the old leader followed the new one within %.2f s" % follows_after,
              file=sys.stderr)
        in_flight = [r for r in results if r[2] < stopped_at < r[3]]
        self.assertTrue(in_flight, "no write was in flight at the freeze")
        self.assertEqual(load.late_writes(stopped_at, ANSWER_WITHIN_S), [],
                         "writes answered late (id, start, end after the freeze)")
        for w, sid, started, ended, status, body in results:
            self.assertIn(status, (200, 500), (sid, body))
            if status == 500:
                self.assertRegex(body, "unknown|No cluster leader", sid)
        for w, sid, started, ended, status, body in in_flight:
            if status == 500 and "No cluster leader" not in body:
                self.assertIn("outcome is unknown", body)
        # The new leader takes writes through the follower before the load ends.
        self.assertTrue([r for r in results if r[2] > stopped_at + 0.5 and r[4] == 200],
                        "no write started after the freeze succeeded")

        # Reads through the follower: answered, well and soon.
        self.assertTrue(any(r[1] > stopped_at for r in load.reads), "no read after the freeze")
        self.assertEqual(load.bad_reads(stopped_at, ANSWER_WITHIN_S), [],
                         "reads that failed or were late (start, end after the freeze)")

        # Every acknowledged write is on the new leader and the other survivor.
        acked = {r[1] for r in results if r[4] == 200}
        survivors = [follower, other]
        for x in survivors:
            self.assertTrue(wait_until(lambda: acked <= x.instances("web"), timeout=20),
                            "%s lacks %s" % (x.name, sorted(acked - x.instances("web"))[:5]))

        # The old leader has the same data as the new one.
        new_leader_server = next(x for x in self.s if x.server_addr == new_addr[0])
        want = new_leader_server.instances("web")
        self.assertTrue(acked <= want)
        self.assertTrue(wait_until(lambda: leader.instances("web") == want, timeout=15),
                        "the old leader's data differs: missing %s, extra %s" % (
                            sorted(want - leader.instances("web"))[:5],
                            sorted(leader.instances("web") - want)[:5]))
        # And forwards writes to the new leader.
        status, _, body = leader.request("PUT", "/v1/agent/service/register",
                                         {"Name": "web", "ID": "after", "Port": 80}, timeout=30)
        self.assertEqual(status, 200, body)


class Http:
    """request()/instances() as test_cluster.Server's, for a fault_cluster server."""

    def __init__(self, addr):
        self.addr = addr

    def request(self, method, path, body=None, timeout=15):
        status, text = http_call(self.addr, method, path, body, timeout=timeout)
        if status is None or status == -1:
            raise OSError(text)
        return status, {}, text

    def instances(self, service):
        status, _, body = self.request("GET", "/v1/catalog/service/%s?stale" % service)
        assert status == 200, body
        return {e["ServiceID"] for e in json.loads(body)}


class BlackholedLeaderTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-blackhole-")
        self.c = Cluster(3, self.root)
        try:
            self.c.start()
        except BaseException:
            self.c.close()
            raise

    def tearDown(self):
        self.c.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def test_requests_are_answered_soon_after_the_leader_is_cut_off_silently(self):
        leader = self.c.wait_stable_leader()
        follower = next(s for s in self.c.servers if s is not leader)
        other = next(s for s in self.c.servers if s is not leader and s is not follower)
        via_follower, via_leader = Http(follower.http), Http(leader.http)
        status, _, body = via_follower.request("PUT", "/v1/agent/service/register",
                                               {"Name": "web", "ID": "warm", "Port": 80})
        self.assertEqual(status, 200, body)

        load = ForwardLoad(via_follower, id_prefix="f")
        at_leader = ForwardLoad(via_leader, writers=2, readers=0, id_prefix="l")
        load.start()
        at_leader.start()
        try:
            self.assertTrue(load.first_ack.wait(10) and at_leader.first_ack.wait(10),
                            "no write went through before the cut")
            time.sleep(0.3)
            cut_at = time.monotonic()
            self.c.net.isolate(leader.index, mode="blackhole")
            load.stop_after(cut_at + AFTER_STOP_S)
            at_leader.stop_after(cut_at + AFTER_STOP_S)
            joined = load.join(60) and at_leader.join(60)
            elected = wait_until(lambda: follower.leader() not in ("", leader.advertise),
                                 timeout=10)
        finally:
            self.c.net.heal()
        self.assertTrue(joined, "a writer or reader is still waiting")
        self.assertTrue(elected, "no new leader while the old one was cut off")

        slowest = lambda res, since: max((r[3] - max(r[2], since) for r in res if r[3] > since),
                                         default=0)
        print("\nblackholed leader: writes through the follower slowest %.2f s after the cut, "
              "reads %.2f s; writes through the old leader slowest %.2f s" % (
                  slowest(load.results, cut_at),
                  max((r[1] - max(r[0], cut_at) for r in load.reads if r[1] > cut_at), default=0),
                  slowest(at_leader.results, cut_at)), file=sys.stderr)
        # Through the follower: as with a frozen leader.
        self.assertEqual(load.late_writes(cut_at, ANSWER_WITHIN_S), [],
                         "writes through the follower answered late (id, start, end after the cut)")
        self.assertEqual(load.bad_reads(cut_at, ANSWER_WITHIN_S), [],
                         "reads through the follower that failed or were late")
        self.assertTrue([r for r in load.results if r[2] > cut_at + 0.5 and r[4] == 200],
                        "no write through the follower started after the cut succeeded")
        # Through the old leader: the writes it held when cut off fail once it
        # steps down; later ones wait for a leader (5 s) and fail.
        in_flight = [r for r in at_leader.results if r[2] < cut_at < r[3]]
        self.assertTrue(in_flight, "no write was in flight at the old leader at the cut")
        self.assertEqual([r[1] for r in in_flight if r[3] - cut_at > ANSWER_WITHIN_S], [],
                         "writes held by the old leader answered late")
        self.assertEqual(at_leader.late_writes(cut_at, 5.0 + 1.5), [],
                         "writes through the old leader answered late")
        for res in (load.results, at_leader.results):
            for w, sid, started, ended, status, body in res:
                self.assertIn(status, (200, 500), (sid, body))
                if status == 500:
                    self.assertRegex(body, "unknown|No cluster leader", sid)
        for w, sid, started, ended, status, body in in_flight:
            if status == 500 and "No cluster leader" not in body:
                self.assertIn("outcome is unknown", body)

        # Nothing acknowledged is lost; healed, the old leader follows and has the same data.
        acked = {r[1] for res in (load.results, at_leader.results) for r in res if r[4] == 200}
        new_leader = self.c.wait_stable_leader(timeout=30)
        self.assertIsNot(new_leader, leader)
        want = Http(new_leader.http).instances("web")
        self.assertTrue(acked <= want, sorted(acked - want)[:5])
        old = Http(leader.http)
        self.assertTrue(wait_until(lambda: old.instances("web") == want, timeout=15),
                        "the old leader's data differs: missing %s, extra %s" % (
                            sorted(want - old.instances("web"))[:5],
                            sorted(old.instances("web") - want)[:5]))
        for x in (follower, other):
            self.assertTrue(wait_until(lambda: Http(x.http).instances("web") == want, timeout=15))
        self.assertEqual(self.c.crashes(), {})


if __name__ == "__main__":
    unittest.main()
