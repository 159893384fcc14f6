"""Fault tests: 3 and 5 real `cairn agent -server` processes whose
server-to-server traffic runs through a fault-injecting relay (faultnet.py),
while a workload registers, deregisters and reads through random servers
(workload.py). Faults: kill -9 of the leader and of followers, restart on the
same data dir, SIGSTOP/SIGCONT, partitions (isolated leader, 2|3 split,
one-way, blackholed links), a rolling restart, and (its own test) a server
that loses its whole data dir and rejoins.

After healing: every acknowledged unique registration is on every server,
no failed one is on any, the servers agree, and the register history passes
cairn_lincheck.

CI runs a short fixed schedule in which every fault kind occurs once. By hand:
  CAIRN_FAULT_CYCLES=100 python3 -m unittest -v test_faults.FiveServers
runs 100 random faults; CAIRN_FAULT_SEED=N replays the choices of a seed
(thread timing still varies); CAIRN_FAULT_KEEP=1 keeps the data dirs, logs
and history. A failing run keeps them anyway and prints where.
WipedServerRejoins loses a server's whole data dir and brings it back
(remove-peer of the old identity, an empty restart, added and promoted).
"""
import contextlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest

from cairn_agent import CAIRN, wait_until
from fault_cluster import Cluster, LeaderMonitor
from workload import NODE, UNIQ, ABSENT, Workload, dump_ops, http_call, lincheck

LINCHECK = os.environ.get("CAIRN_LINCHECK",
                          os.path.join(os.path.dirname(__file__), "../../build/tests/lincheck/cairn_lincheck"))
CYCLES = int(os.environ.get("CAIRN_FAULT_CYCLES", "0"))
HOLD = float(os.environ.get("CAIRN_FAULT_HOLD", "3"))
# Elections take 1-2 s here (100 ms ticks, 10-20 ticks): a new leader within
# this bound, and a rolling restart never leaderless for longer.
NEW_LEADER_S = 15
MAX_LEADERLESS_S = 10
WRITE_AFTER_RECOVERY_S = 8
GRACEFUL_STOP_S = 4


class FaultTest:
    """Mixin: a cluster of N servers, a workload, the faults and the final checks."""
    N = 3
    WORKERS = 4

    def setUp(self):
        self.seed = int(os.environ.get("CAIRN_FAULT_SEED") or random.SystemRandom().randrange(1, 1 << 30))
        self.rng = random.Random(self.seed)
        self.root = tempfile.mkdtemp(prefix="cairn-faults-")
        print("\n%s: seed %d, dir %s" % (self.id(), self.seed, self.root), flush=True)
        self.passed = False
        self.started = time.monotonic()
        self.cluster = Cluster(self.N, self.root)
        self.workload = None
        self.max_gap = None
        self.addCleanup(self.cleanup)  # runs even when setUp fails below
        self.cluster.start()
        self.assert_relayed()

    def cleanup(self):
        try:
            if self.workload:
                self.workload.stop()
        finally:
            self.cluster.close()
        if self.passed and not os.environ.get("CAIRN_FAULT_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)
        else:
            print("%s: kept %s (seed %d)" % (self.id(), self.root, self.seed), flush=True)
            if not self.passed:
                for s in self.cluster.servers:
                    print("--- %s log tail ---\n%s" % (s.name, s.log_tail(1500)), flush=True)

    def assert_relayed(self):
        """Every ordered pair of servers talks through the relay (or the
        partitions below would partition nothing)."""
        n = len(self.cluster.servers)
        links = [(a, b) for a in range(n) for b in range(n) if a != b]
        ok = wait_until(lambda: all(self.cluster.net.forwarded.get(l, 0) > 0 for l in links), timeout=10)
        self.assertTrue(ok, "links never relayed: %s (forwarded %s, unidentified %d)" % (
            [l for l in links if not self.cluster.net.forwarded.get(l)], self.cluster.net.forwarded,
            self.cluster.net.unidentified))

    # --- faults ------------------------------------------------------------
    # Each injects, holds while the workload runs, heals and waits until every
    # server agrees on a leader and takes a write.

    def hold(self):
        time.sleep(HOLD if not CYCLES else self.rng.uniform(0.5, 2 * HOLD))

    def leader(self):
        return self.cluster.wait_stable_leader(timeout=NEW_LEADER_S)

    def followers(self, leader):
        return [s for s in self.cluster.servers if s is not leader]

    def expect_new_leader(self, among, old):
        """A leader other than `old` emerges among `among` (the fault took hold)."""
        new = self.cluster.wait_stable_leader(among, timeout=NEW_LEADER_S)
        self.assertIsNot(new, old)
        return new

    def recovered(self):
        self.assertEqual(self.cluster.crashes(), {})
        t0 = time.monotonic()
        leader = self.cluster.wait_stable_leader(timeout=30)
        t1 = time.monotonic()
        for s in self.cluster.servers:
            self.cluster.barrier(s)
        took = time.monotonic() - t1
        self.cluster.log("recovered: leader %s after %.1fs, every server took a write after %.1fs more" % (
            leader.name, t1 - t0, took))
        # Healthy writes take milliseconds; one that waits out the server's
        # 10 s proposal timeout was lost on the way (cf. the transport fix).
        self.assertLess(took, WRITE_AFTER_RECOVERY_S, "writes stalled after the cluster recovered")

    @contextlib.contextmanager
    def partitioned(self, message, cut):
        """Logs `message` and cuts links with `cut()`; leaving the block heals
        every link and, unless the block failed, waits for the recovery."""
        self.cluster.log(message)
        cut()
        try:
            yield
        finally:
            self.cluster.log("heal")
            self.cluster.net.heal()
        self.recovered()

    def split(self, minority, mode="drop"):
        """partitioned() into `minority` | every other server."""
        majority = [s for s in self.cluster.servers if s not in minority]
        return self.partitioned(
            "partition: %s | %s" % (" ".join(s.name for s in minority), " ".join(s.name for s in majority)),
            lambda: self.cluster.net.partition([s.index for s in minority], [s.index for s in majority],
                                               mode=mode))

    @contextlib.contextmanager
    def paused(self, server, role):
        """SIGSTOP `server` for the block, then SIGCONT; then, unless the block
        failed, waits for the recovery."""
        self.cluster.log("SIGSTOP %s %s" % (role, server.name))
        server.pause()
        try:
            yield
        finally:
            self.cluster.log("SIGCONT %s" % server.name)
            server.resume()
        self.recovered()

    def fault_kill9_leader(self):
        old = self.leader()
        self.cluster.log("kill -9 leader %s" % old.name)
        old.kill9()
        self.expect_new_leader(self.followers(old), old)
        self.hold()
        self.cluster.log("restart %s on its data dir" % old.name)
        self.cluster.restart(old)
        self.recovered()

    def fault_kill9_follower(self):
        f = self.rng.choice(self.followers(self.leader()))
        self.cluster.log("kill -9 follower %s" % f.name)
        f.kill9()
        self.hold()
        self.cluster.log("restart %s on its data dir" % f.name)
        self.cluster.restart(f)
        self.recovered()

    def fault_kill9_two_followers(self):
        fs = self.rng.sample(self.followers(self.leader()), 2)
        self.cluster.log("kill -9 followers %s" % " ".join(f.name for f in fs))
        for f in fs:
            f.kill9()
        self.hold()
        for f in fs:
            self.cluster.restart(f)
        self.recovered()

    def fault_lose_quorum(self):
        """A majority down for longer than the server's bounds (10 s for a
        proposal in flight, then 5 s for a new one to find a leader): writes
        must fail ("No cluster leader", never proposed) or stay unknown, and
        the failed ones must never show up later."""
        fs = self.rng.sample(self.followers(self.leader()), len(self.cluster.servers) // 2 + 1)
        self.cluster.log("kill -9 a majority: %s" % " ".join(f.name for f in fs))
        for f in fs:
            f.kill9()
        time.sleep(17 if not CYCLES else self.rng.uniform(HOLD, 17))
        for f in fs:
            self.cluster.restart(f)
        self.recovered()

    def fault_pause_leader(self):
        old = self.leader()
        with self.paused(old, "leader"):
            self.expect_new_leader(self.followers(old), old)
            self.hold()

    def fault_pause_follower(self):
        with self.paused(self.rng.choice(self.followers(self.leader())), "follower"):
            self.hold()

    def fault_isolate_leader(self, mode="drop"):
        old = self.leader()
        with self.partitioned("partition: leader %s isolated (%s)" % (old.name, mode),
                              lambda: self.cluster.net.isolate(old.index, mode)):
            self.expect_new_leader(self.followers(old), old)
            self.hold()

    def fault_blackhole_leader(self):
        self.fault_isolate_leader("blackhole")

    def fault_isolate_follower(self):
        f = self.rng.choice(self.followers(self.leader()))
        with self.partitioned("partition: follower %s blackholed" % f.name,
                              lambda: self.cluster.net.isolate(f.index, "blackhole")):
            self.hold()

    def fault_one_way(self):
        """The leader's frames stop reaching one follower; the follower's
        still reach the leader (pre-vote must keep it from disrupting)."""
        leader = self.leader()
        f = self.rng.choice(self.followers(leader))
        with self.partitioned("one-way: %s -> %s cut" % (leader.name, f.name),
                              lambda: self.cluster.net.cut(leader.index, f.index)):
            self.hold()

    def fault_split_leader_in_minority(self):
        """5 servers: 2 | 3, the old leader on the minority side."""
        old = self.leader()
        minority = [old] + self.rng.sample(self.followers(old), len(self.cluster.servers) // 2 - 1)
        with self.split(minority):
            self.expect_new_leader([s for s in self.cluster.servers if s not in minority], old)
            self.hold()

    def fault_split_leader_in_majority(self):
        leader = self.leader()
        minority = self.rng.sample(self.followers(leader), len(self.cluster.servers) // 2)
        with self.split(minority, mode="blackhole"):
            self.hold()

    def fault_rolling_restart(self):
        """Every server in turn: SIGTERM, start on the same data dir, wait
        until it has applied a write of its own, next. The cluster must never
        be without a leader for long."""
        with LeaderMonitor(self.cluster) as mon:
            for s in list(self.cluster.servers):
                t0 = time.monotonic()
                s.stop()
                t1 = time.monotonic()
                self.cluster.restart(s)
                t2 = time.monotonic()
                self.cluster.wait_stable_leader(timeout=30)
                self.cluster.barrier(s)
                self.cluster.log("rolling restart: %s stopped in %.1fs, started in %.1fs, caught up in %.1fs" % (
                    s.name, t1 - t0, t2 - t1, time.monotonic() - t2))
                # The agent drains accepted requests for at most 5 s: reaching
                # that limit means some were dropped without an answer.
                self.assertLess(t1 - t0, GRACEFUL_STOP_S, "%s took %.1fs to stop on SIGTERM" % (s.name, t1 - t0))
        self.cluster.log("rolling restart done: longest leaderless stretch %.2fs" % mon.max_gap)
        self.max_gap = max(self.max_gap or 0, mon.max_gap)
        self.assertLess(mon.max_gap, MAX_LEADERLESS_S, "leaderless for %.1fs in a rolling restart" % mon.max_gap)

    def all_faults(self):
        return [getattr(self, name) for name in sorted(dir(self)) if name.startswith("fault_")]

    # --- the run -----------------------------------------------------------

    def run_schedule(self, schedule):
        self.workload = Workload(self.cluster.http_targets, self.seed, workers=self.WORKERS)
        self.workload.start()
        time.sleep(1)
        if CYCLES:
            kinds = self.all_faults()
            only = os.environ.get("CAIRN_FAULT_KINDS")
            if only:
                kinds = [getattr(self, "fault_" + k) for k in only.split(",")]
            schedule = [self.rng.choice(kinds) for _ in range(CYCLES)]
        for i, fault in enumerate(schedule):
            self.cluster.log("fault %d/%d: %s" % (i + 1, len(schedule), fault.__name__))
            fault()
        time.sleep(1)
        self.workload.stop()
        self.verify()
        self.passed = True

    def final_state(self, s, mode):
        """{service ID: value} of the workload's node on server s, or None."""
        status, body = http_call(s.http, "GET", "/v1/catalog/node/%s?%s" % (NODE, mode), timeout=15)
        if status != 200:
            return None
        services = (json.loads(body) or {}).get("Services", {})
        return {sid: (svc["Service"], svc["Meta"].get("w")) for sid, svc in services.items()
                if svc["Service"] != "barrier"}

    def verify(self):
        c, w = self.cluster, self.workload
        self.assertEqual(c.crashes(), {})
        c.net.heal()
        for s in c.servers:
            if s.paused:
                s.resume()
            if not s.up:
                c.restart(s)
        self.recovered()
        # One linearizable read of everything, then every server's own view
        # must match it (a write still in flight would change both: retry).
        final = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            leader = c.stable_leader()
            if leader is None:
                time.sleep(0.2)
                continue
            call = time.monotonic_ns()
            state = self.final_state(leader, "consistent")
            ret = time.monotonic_ns()
            if state is not None and all(self.final_state(s, "stale") == state for s in c.servers):
                final = (state, call, ret)
                break
            time.sleep(0.5)
        self.assertIsNotNone(final, "servers never agreed on the final state: %s" % {
            s.name: len(self.final_state(s, "stale") or {}) for s in c.servers})
        state, call, ret = final

        present = {sid for sid, (svc, _) in state.items() if svc == UNIQ}
        acked, failed = w.unique_ids("ok"), w.unique_ids("failed")
        lost = sorted(acked - present)
        resurrected = sorted(failed & present)

        keys = w.reg_keys()
        finals = []
        for key in keys:
            svc_value = state.get(key)
            finals.append((key, svc_value[1] if svc_value else ABSENT, call, ret))
        dump_ops(w, os.path.join(self.root, "ops.txt"))
        history = os.path.join(self.root, "history.txt")
        with open(history, "w") as f:
            f.write("\n".join(w.history_lines(finals)) + "\n")
        code, out = lincheck(LINCHECK, history)

        # The checker is not vacuous on this history: a final read of a value
        # nobody wrote must be refused.
        tampered = os.path.join(self.root, "history-tampered.txt")
        with open(tampered, "w") as f:
            f.write("\n".join(w.history_lines(finals + [(keys[0], "never-written", ret + 1, ret + 2)])) + "\n")
        tcode, tout = lincheck(LINCHECK, tampered, expect_violation=True)

        acked_writes = w.count("uw", "ok")
        report = {
            "test": self.id(), "seed": self.seed, "servers": self.N,
            "faults": sum(1 for _, e in c.events if e.startswith("fault ")),
            "seconds": round(time.monotonic() - self.started, 1),
            "acknowledged_writes": acked_writes,
            "acknowledged_unique_registrations": len(acked),
            "lost": len(lost), "failed_but_present": len(resurrected),
            "ops": w.summary(), "max_leaderless_s": self.max_gap,
            "lincheck": out.splitlines()[0] if out else "",
        }
        print("REPORT " + json.dumps(report), flush=True)
        with open(os.path.join(self.root, "report.json"), "w") as f:
            json.dump(report, f, indent=1)

        self.assertEqual(c.crashes(), {})
        self.assertEqual(lost, [], "acknowledged registrations lost (history %s)" % history)
        self.assertEqual(resurrected, [], "failed registrations present")
        self.assertEqual(w.anomalies, [])
        self.assertEqual(code, 0, "history %s: %s" % (history, out))
        self.assertEqual(tcode, 0, "the checker accepted a tampered history: %s" % tout)
        # The workload made progress through the faults.
        self.assertGreater(acked_writes, 100, w.summary())


class WipedServerRejoins(FaultTest, unittest.TestCase):
    """A server loses its whole data dir and rejoins, the way an operator
    recovers a Consul server that lost its disk: remove the dead server from
    the Raft configuration, start it again empty (it comes back with a new
    node ID, so a new Raft ID: it must never vote with a log it forgot),
    join it; the cluster adds it as a learner, catches it up by snapshot and
    promotes it. Then the others must be able to lose a server again."""
    N = 3

    def raft_servers(self, via):
        status, body = http_call(via.http, "GET", "/v1/operator/raft/configuration", timeout=5)
        return json.loads(body)["Servers"] if status == 200 else []

    def cli(self, *args):
        r = subprocess.run([CAIRN] + list(args), capture_output=True, text=True, timeout=60)
        self.cluster.log("%s -> exit %d %s" % (" ".join(args), r.returncode, (r.stdout + r.stderr).strip()[:200]))
        return r

    def fault_wipe_and_rejoin(self):
        c = self.cluster
        victim = self.leader() if not CYCLES else self.rng.choice(c.servers)
        old_id = next(x["ID"] for x in self.raft_servers(victim) if x["Node"] == victim.name)
        c.log("kill -9 %s and delete its data dir (raft id %s)" % (victim.name, old_id))
        victim.kill9()
        victim.wipe()
        others = [s for s in c.servers if s is not victim]
        leader = self.expect_new_leader(others, victim)
        self.hold()
        r = self.cli("operator", "raft", "remove-peer", "-id", old_id, "-http-addr", leader.http)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_until(lambda: old_id not in {x["ID"] for x in self.raft_servers(leader)}, timeout=15),
                        "the dead server's old id is still in the configuration: %s" % self.raft_servers(leader))
        c.log("start %s with an empty data dir" % victim.name)
        c.restart(victim)

        def member():
            servers = self.raft_servers(c.stable_leader() or leader)
            me = [x for x in servers if x["Node"] == victim.name]
            return len(servers) == self.N and me and me[0]["Voter"] and me[0]["ID"] != old_id

        if not wait_until(member, timeout=10, interval=0.2):
            r = self.cli("join", "-http-addr", victim.http, *[s.advertise for s in others])
            self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_until(member, timeout=30, interval=0.2),
                        "%s never became a voter again: %s" % (victim.name, self.raft_servers(leader)))
        self.recovered()

    def test_wiped_server_rejoins(self):
        self.run_schedule([self.fault_wipe_and_rejoin, self.fault_kill9_leader])


class ThreeServers(FaultTest, unittest.TestCase):
    N = 3

    def test_faults(self):
        self.run_schedule([
            self.fault_kill9_leader,
            self.fault_kill9_follower,
            self.fault_lose_quorum,
            self.fault_pause_leader,
            self.fault_pause_follower,
            self.fault_isolate_leader,
            self.fault_isolate_follower,
            self.fault_one_way,
            self.fault_rolling_restart,
        ])
        # Losing quorum made some writes fail: "no failed one is present" was tested.
        if not CYCLES:
            self.assertGreater(self.workload.count("uw", "failed"), 0, self.workload.summary())


class FiveServers(FaultTest, unittest.TestCase):
    N = 5
    WORKERS = 5

    def test_faults(self):
        self.run_schedule([
            self.fault_split_leader_in_minority,
            self.fault_kill9_two_followers,
            self.fault_blackhole_leader,
            self.fault_split_leader_in_majority,
            self.fault_pause_follower,
            self.fault_kill9_leader,
        ])


if __name__ == "__main__":
    unittest.main()
