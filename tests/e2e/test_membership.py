"""Cluster membership with real `cairn agent -server` processes: a new server
joins a running cluster (added as a learner, promoted once caught up), a
server that lost its data dir comes back under a new identity and replaces
the old one, `cairn leave`, `cairn operator raft remove-peer` and
`transfer-leader`, and the liveness view the leader publishes."""
import json
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, wait_until
from test_cluster import Server, start_three


def cli(server, *args):
    return subprocess.run([CAIRN, *args, "-http-addr", server.http], capture_output=True,
                          text=True, timeout=60)


class MembershipTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-members-")
        config = {"raft_snapshot_threshold": 40, "raft_trailing_logs": 10}
        self.config = config
        self.s, led = start_three(self.root, config, test=self)
        self.assertTrue(led, "no leader elected")

    def live(self):
        return [x for x in self.s if x.proc and x.proc.poll() is None]

    def leader_server(self):
        for x in self.live():
            addr = x.leader()
            if addr:
                return next(y for y in self.s if y.server_addr == addr)
        return None

    def configuration(self, server):
        status, _, body = server.request("GET", "/v1/operator/raft/configuration")
        self.assertEqual(status, 200, body)
        return json.loads(body)["Servers"]

    def voters(self, server):
        try:
            return sorted(x["Node"] for x in self.configuration(server) if x["Voter"])
        except OSError:
            return []

    def register(self, server, sid):
        for _ in range(50):
            try:
                status, _, _ = server.request("PUT", "/v1/agent/service/register",
                                              {"Name": "web", "ID": sid, "Port": 80})
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.fail("could not register %s through %s" % (sid, server.name))

    def has(self, server, sid):
        try:
            return sid in server.instances("web")
        except (OSError, AssertionError):
            return False

    def test_new_server_joins_and_becomes_voter_then_leaves(self):
        for k in range(60):  # enough for a snapshot: the newcomer needs one
            self.register(self.s[k % 3], "pre-%d" % k)
        follower = next(x for x in self.s if x is not self.leader_server())
        s4 = Server("s4", self.root, self.config)
        self.s.append(s4)
        # It knows only one follower; hellos lead it to the others.
        s4.start([follower.server_addr])
        self.assertTrue(wait_until(lambda: self.voters(self.s[0]) == ["s1", "s2", "s3", "s4"],
                                   timeout=30),
                        "s4 not promoted: %s" % self.configuration(self.s[0]))
        self.assertTrue(wait_until(lambda: all(self.has(s4, "pre-%d" % k) for k in range(60)),
                                   timeout=20))
        self.register(s4, "via-s4")
        for x in self.s:
            self.assertTrue(wait_until(lambda: self.has(x, "via-s4"), timeout=20), x.name)
        members = json.loads(self.s[1].request("GET", "/v1/agent/members")[2])
        self.assertEqual(sorted(m["Name"] for m in members), ["s1", "s2", "s3", "s4"])
        # Graceful leave: removed from the configuration, then the process stops.
        r = cli(s4, "leave")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(wait_until(lambda: s4.proc.poll() is not None, timeout=20),
                        "s4 still running after leave")
        self.assertTrue(wait_until(lambda: self.voters(self.s[0]) == ["s1", "s2", "s3"],
                                   timeout=20))
        # ...and it stays out (it said it was leaving), while writes go on.
        time.sleep(2)
        self.assertEqual(self.voters(self.s[0]), ["s1", "s2", "s3"])
        self.register(self.s[0], "after-leave")

    def test_cairn_join_adds_a_server_started_alone(self):
        s4 = Server("s4", self.root, self.config)
        self.s.append(s4)
        s4.start()  # no -retry-join: it waits for the expected servers
        time.sleep(1)
        self.assertEqual(self.voters(self.s[0]), ["s1", "s2", "s3"])
        r = cli(s4, "join", self.s[2].server_addr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(wait_until(lambda: self.voters(self.s[0]) == ["s1", "s2", "s3", "s4"],
                                   timeout=30))
        r = cli(s4, "join", "not-an-address")
        self.assertEqual(r.returncode, 1)
        # Its view comes from the leader's next published liveness.
        def four_alive():
            r = cli(s4, "members")
            self.assertEqual(r.returncode, 0, r.stderr)
            return sum(1 for line in r.stdout.splitlines() if " alive " in line) == 4
        self.assertTrue(wait_until(four_alive, timeout=10), cli(s4, "members").stdout)

    def test_leader_leaves_gracefully(self):
        leader = self.leader_server()
        r = cli(leader, "leave")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        others = [x for x in self.s if x is not leader]
        self.assertTrue(wait_until(lambda: leader.proc.poll() is not None, timeout=20))
        self.assertTrue(wait_until(
            lambda: sorted(self.voters(others[0])) == sorted(x.name for x in others), timeout=20))
        self.assertTrue(wait_until(lambda: others[0].leader() not in ("", leader.server_addr),
                                   timeout=20))
        self.register(others[1], "two-left")

    def test_transfer_leader_to_a_chosen_server(self):
        leader = self.leader_server()
        target = next(x for x in self.s if x is not leader)
        target_id = next(c["ID"] for c in self.configuration(leader) if c["Node"] == target.name)
        # Asked on a follower that is not the target: forwarded to the leader.
        asker = next(x for x in self.s if x is not leader and x is not target)
        r = cli(asker, "operator", "raft", "transfer-leader", "-id", target_id)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(wait_until(lambda: all(x.leader() == target.server_addr for x in self.s),
                                   timeout=10))
        r = cli(asker, "operator", "raft", "transfer-leader", "-id", "ffffffffffffffff")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no server", r.stderr)

    def test_remove_failed_peer_then_it_comes_back(self):
        leader = self.leader_server()
        victim = next(x for x in self.s if x is not leader)
        victim.stop(signal.SIGKILL)
        # The leader sees it fail.
        def failed():
            members = json.loads(leader.request("GET", "/v1/agent/members")[2])
            return any(m["Name"] == victim.name and m["Status"] == 4 for m in members)
        self.assertTrue(wait_until(failed, timeout=10), "leader does not see the kill")
        status, _, body = leader.request("GET", "/v1/operator/autopilot/health")
        self.assertEqual(status, 429, body)
        self.assertEqual(json.loads(body)["FailureTolerance"], 0)
        other = next(x for x in self.s if x is not leader and x is not victim)
        r = cli(other, "operator", "raft", "remove-peer", "-address", victim.server_addr)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        want = sorted(x.name for x in self.s if x is not victim)
        self.assertTrue(wait_until(lambda: self.voters(leader) == want, timeout=10))
        r = cli(other, "operator", "raft", "remove-peer", "-address", victim.server_addr)
        self.assertEqual(r.returncode, 1, "removing twice must fail")
        self.register(other, "two-voters")
        # Restarted on its data dir, it is added back (a new incarnation).
        victim.restart([leader.server_addr])
        self.assertTrue(wait_until(lambda: self.voters(leader) == ["s1", "s2", "s3"], timeout=30))
        self.assertTrue(wait_until(lambda: self.has(victim, "two-voters"), timeout=20))
        status, _, body = leader.request("GET", "/v1/operator/autopilot/health")
        self.assertTrue(wait_until(
            lambda: leader.request("GET", "/v1/operator/autopilot/health")[0] == 200, timeout=10),
            body)

    def test_server_that_lost_its_data_dir_rejoins(self):
        for k in range(60):
            self.register(self.s[k % 3], "keep-%d" % k)
        leader = self.leader_server()
        victim = next(x for x in self.s if x is not leader)
        old_id = next(c["ID"] for c in self.configuration(leader) if c["Node"] == victim.name)
        victim.stop(signal.SIGKILL)
        shutil.rmtree(victim.data_dir)
        victim.restart([leader.server_addr])
        def replaced():
            conf = self.configuration(leader)
            ids = {c["Node"]: c["ID"] for c in conf if c["Voter"]}
            return sorted(ids) == ["s1", "s2", "s3"] and ids[victim.name] != old_id
        self.assertTrue(wait_until(replaced, timeout=30),
                        "old identity not replaced: %s" % self.configuration(leader))
        self.assertTrue(wait_until(lambda: all(self.has(victim, "keep-%d" % k) for k in range(60)),
                                   timeout=20))
        # The rebuilt server counts for quorum again: stop another one.
        other = next(x for x in self.s if x is not leader and x is not victim)
        other.stop(signal.SIGKILL)
        self.register(leader if leader.leader() else victim, "after-rejoin")

    def test_liveness_epoch_and_stale_minority(self):
        leader = self.leader_server()
        # The new leader publishes its view once its first entry commits.
        epoch_of = lambda x: int(x.request("GET", "/v1/agent/members")[1]["X-Cairn-Liveness-Epoch"])
        self.assertTrue(wait_until(lambda: epoch_of(leader) > 0, timeout=10))
        epoch = epoch_of(leader)
        followers = [x for x in self.s if x is not leader]
        # Every server has the same view, with the same epoch.
        for x in followers:
            self.assertTrue(wait_until(
                lambda: x.request("GET", "/v1/agent/members")[1].get("X-Cairn-Liveness-Epoch")
                == str(epoch), timeout=10))
        # Pause a follower: the leader publishes a new view without it...
        followers[0].proc.send_signal(signal.SIGSTOP)
        try:
            def newer():
                h = followers[1].request("GET", "/v1/agent/members")
                ms = {m["Name"]: m["Status"] for m in json.loads(h[2])}
                return int(h[1]["X-Cairn-Liveness-Epoch"]) > epoch and ms[followers[0].name] == 4
            self.assertTrue(wait_until(newer, timeout=10))
        finally:
            followers[0].proc.send_signal(signal.SIGCONT)
        # ...and once back, it is alive again everywhere.
        def alive_again():
            ms = json.loads(followers[1].request("GET", "/v1/agent/members")[2])
            return all(m["Status"] == 1 for m in ms)
        self.assertTrue(wait_until(alive_again, timeout=10))
        # A server cut off from the others says its view is stale.
        leader.stop(signal.SIGKILL)
        followers[1].stop(signal.SIGKILL)
        self.assertTrue(wait_until(
            lambda: followers[0].request("GET", "/v1/agent/members")[1].get(
                "X-Cairn-Liveness-Stale") == "true", timeout=10))


if __name__ == "__main__":
    unittest.main()
