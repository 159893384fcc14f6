"""Writes forwarded by a follower to a leader that dies (kill -9) are answered
within seconds of the kill, not after the 10 s proposal timeout: the
follower notices the lost connection, fails the writes it had sent on it
(their outcome is unknown: the leader may have committed them) and holds new
writes until a leader is reachable again. Nothing answered 200 is lost.
Default (ReadIndex) reads through the follower at the same time are asked
again of the new leader: they succeed, none waits out its 5 s bound."""
import signal
import tempfile
import threading
import time
import unittest

from cairn_agent import wait_until
from test_cluster import start_three

WRITERS = 8
READERS = 2
MAX_WRITES = 2000  # per writer: bounds the loop however fast the cluster is
AFTER_KILL_S = 4.0  # writers keep going this long after the kill
ANSWER_WITHIN_S = 5.0  # every write answered this soon after the kill (or after it started)


class ForwardLoad:
    """WRITERS writers (registrations) and READERS readers (default, ReadIndex
    reads) through one server, each loop bounded in count and in time (until
    stop_after()). results: (writer, id, started, ended, status, body);
    reads: (started, ended, status, body); times from time.monotonic().
    `server` has request(method, path, body, timeout) -> (status, headers, body)."""

    def __init__(self, server, writers=WRITERS, readers=READERS, id_prefix="w"):
        self.server = server
        self.id_prefix = id_prefix
        self.results = []
        self.reads = []
        self.first_ack = threading.Event()
        self._lock = threading.Lock()
        self._stop_at = float("inf")
        self._threads = [threading.Thread(target=self._write, args=(w,), daemon=True)
                         for w in range(writers)]
        self._threads += [threading.Thread(target=self._read, daemon=True) for _ in range(readers)]

    def start(self):
        for t in self._threads:
            t.start()

    def stop_after(self, at):
        self._stop_at = at

    def join(self, timeout):
        """True once every loop has ended."""
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def _write(self, w):
        for i in range(MAX_WRITES):
            if time.monotonic() >= self._stop_at:
                return
            sid = "%s%d-%d" % (self.id_prefix, w, i)
            started = time.monotonic()
            try:
                status, _, body = self.server.request("PUT", "/v1/agent/service/register",
                                                      {"Name": "web", "ID": sid, "Port": 80},
                                                      timeout=30)
            except OSError as e:
                status, body = 0, str(e)
            with self._lock:
                self.results.append((w, sid, started, time.monotonic(), status, body))
            if status == 200:
                self.first_ack.set()

    def _read(self):
        for _ in range(MAX_WRITES):
            if time.monotonic() >= self._stop_at:
                return
            started = time.monotonic()
            try:
                status, _, body = self.server.request("GET", "/v1/catalog/service/web", timeout=30)
            except OSError as e:
                status, body = 0, str(e)
            with self._lock:
                self.reads.append((started, time.monotonic(), status, body[:200]))

    def late_writes(self, since, within):
        """Writes that ended after `since` more than `within` s after it (or
        after their own start, if later): (id, start, end) relative to since."""
        return [(sid, round(started - since, 2), round(ended - since, 2), status, body)
                for w, sid, started, ended, status, body in self.results
                if ended > since and ended - max(started, since) > within]

    def bad_reads(self, since, within):
        """Reads that ended after `since` and failed, or took longer than
        `within` s after it (or after their own start, if later)."""
        return [(round(r[0] - since, 2), round(r[1] - since, 2), r[2], r[3]) for r in self.reads
                if r[1] > since and (r[2] != 200 or r[1] - max(r[0], since) > within)]


class LostForwardTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-lostfwd-")
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader")

    def test_writes_through_a_follower_are_answered_soon_after_the_leader_is_killed(self):
        addr = self.s[0].leader()
        leader = next(x for x in self.s if x.server_addr == addr)
        follower = next(x for x in self.s if x is not leader)
        other = next(x for x in self.s if x is not leader and x is not follower)
        # The follower's forwarding works before the kill.
        status, _, body = follower.request("PUT", "/v1/agent/service/register",
                                           {"Name": "web", "ID": "warm", "Port": 80})
        self.assertEqual(status, 200, body)

        load = ForwardLoad(follower)
        load.start()
        self.assertTrue(load.first_ack.wait(10), "no write went through before the kill")
        time.sleep(0.3)
        killed_at = time.monotonic()
        leader.stop(signal.SIGKILL)
        load.stop_after(killed_at + AFTER_KILL_S)
        self.assertTrue(load.join(60), "a writer is still waiting")
        results = load.results

        in_flight = [r for r in results if r[2] < killed_at < r[3]]
        self.assertTrue(in_flight, "no write was in flight at the kill")
        self.assertEqual(load.late_writes(killed_at, ANSWER_WITHIN_S), [],
                         "writes answered late (id, start, end after the kill)")
        for w, sid, started, ended, status, body in results:
            self.assertIn(status, (200, 500), (sid, body))
            if status == 500:
                self.assertRegex(body, "unknown|No cluster leader", sid)
        # A write that failed because its connection was lost says its
        # outcome is unknown (the leader may have committed it).
        for w, sid, started, ended, status, body in in_flight:
            if status == 500 and "No cluster leader" not in body:
                self.assertIn("outcome is unknown", body)
                self.assertIn("may have committed", body)

        # Reads through the follower: every one answered, and answered well.
        reads = load.reads
        self.assertTrue(any(r[0] < killed_at < r[1] or r[0] > killed_at for r in reads))
        self.assertEqual([r for r in load.bad_reads(killed_at, 30) if r[2] != 200], [],
                         "reads that failed (start, end after the kill)")

        # Every acknowledged write is on both survivors.
        acked = {r[1] for r in results if r[4] == 200}
        self.assertTrue(wait_until(lambda: follower.leader() not in ("", addr), timeout=10),
                        "no new leader")
        for x in (follower, other):
            self.assertTrue(wait_until(lambda: acked <= x.instances("web"), timeout=20),
                            "%s lacks %s" % (x.name, sorted(acked - x.instances("web"))[:5]))
        # Writes through the follower work again.
        status, _, body = follower.request("PUT", "/v1/agent/service/register",
                                           {"Name": "web", "ID": "after", "Port": 80}, timeout=30)
        self.assertEqual(status, 200, body)


if __name__ == "__main__":
    unittest.main()
