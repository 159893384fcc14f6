"""A leader that goes silent without closing its connections (SIGSTOP: its
sockets stay open and the kernel keeps accepting bytes for it, as in a
partition that drops packets) while clients write and read through a
follower. Once the follower sees the old leader is gone (its election
timeout, or a new leader or term), the writes it had forwarded fail at once
("outcome unknown"), the reads are asked again of the new leader, and new
requests go to the new leader: every request is answered within a few
seconds of the freeze, none waits out the 10 s forwarding timeout. Nothing
answered 200 is lost, and the old leader, resumed (SIGCONT), rejoins as a
follower with the same data."""
import shutil
import signal
import tempfile
import time
import unittest

from cairn_agent import wait_until
from test_cluster import start_three
from test_lost_forward import ForwardLoad

AFTER_STOP_S = 6.0  # the load keeps going this long after the freeze
ANSWER_WITHIN_S = 5.0  # every request answered this soon after the freeze (or its own start)


class SilentLeaderTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-silent-")
        self.s, led = start_three(self.root)
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
        self.assertTrue(joined, "a writer or reader is still waiting")
        self.assertTrue(elected, "no new leader while the old one was frozen")
        results = load.results

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

        # The old leader, resumed, follows the new leader and has the same data.
        new_leader_server = next(x for x in self.s if x.server_addr == new_addr[0])
        self.assertTrue(wait_until(lambda: leader.leader() == new_addr[0], timeout=15),
                        "the old leader does not follow the new one (it says %r)" % leader.leader())
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


if __name__ == "__main__":
    unittest.main()
