"""`cairn snapshot save` / `restore` with the real binary: a copy of one
agent's catalog restored into a fresh agent and into a three-server cluster
(through a follower) gives the same nodes, services and checks everywhere,
plus each server's own node, which every server registers again within
seconds, without a restart; a corrupt, truncated or newer-format file is
refused and changes nothing; blocking queries on the target wake when the
restore lands."""
import json
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from cairn_agent import CAIRN, Agent, wait_until
from test_cluster import start_three

N = int(os.environ.get("CAIRN_E2E_SNAPSHOT_SERVICES", "60"))


def cli(*args, addr=None):
    env = dict(os.environ)
    if addr:
        env["CAIRN_HTTP_ADDR"] = addr
    return subprocess.run([CAIRN] + list(args), capture_output=True, text=True, env=env, timeout=600)


def strip_indexes(v):
    if isinstance(v, dict):
        return {k: strip_indexes(x) for k, x in v.items() if k not in ("CreateIndex", "ModifyIndex")}
    if isinstance(v, list):
        return [strip_indexes(x) for x in v]
    return v


def catalog(get, exclude_nodes=()):
    """Nodes, every instance of every service, every check; without indexes.
    `get(path)` returns the decoded JSON of a GET."""
    nodes = {n["Node"]: strip_indexes(n) for n in get("/v1/catalog/nodes")
             if n["Node"] not in exclude_nodes}
    services = {}
    for name in get("/v1/catalog/services"):
        instances = [strip_indexes(i) for i in get("/v1/catalog/service/" + urllib.parse.quote(name))
                     if i["Node"] not in exclude_nodes]
        if instances:
            services[name] = sorted(instances, key=lambda i: (i["Node"], i["ServiceID"]))
    checks = sorted((strip_indexes(c) for c in get("/v1/health/state/any")
                     if c["Node"] not in exclude_nodes), key=lambda c: (c["Node"], c["CheckID"]))
    return {"nodes": nodes, "services": services, "checks": checks}


def agent_catalog(agent, exclude_nodes=()):
    return catalog(lambda p: agent.get_json(p)[0], exclude_nodes)


def server_catalog(server, exclude_nodes=()):
    def get(path):
        status, _, body = server.request("GET", path + ("&" if "?" in path else "?") + "stale")
        assert status == 200, (path, status, body)
        return json.loads(body)
    return catalog(get, exclude_nodes)


def node_names(get):
    return {n["Node"] for n in get("/v1/catalog/nodes")}


def populate(agent, n):
    """n instances of 6 services with TTL checks in all three states, on the
    agent's node, plus external nodes with node checks and service checks."""
    for i in range(n):
        body = {"Name": "svc-%d" % (i % 6), "ID": "svc-%d-%d" % (i % 6, i), "Port": 2000 + i,
                "Tags": ["v%d" % (i % 3), "e2e"], "Meta": {"build": str(i)},
                "Check": {"TTL": "300s", "Notes": "ttl %d" % i}}
        status, _, text = agent.request("PUT", "/v1/agent/service/register", body)
        assert status == 200, text
        verb = ("pass", "warn", "fail")[i % 3]
        status, _, text = agent.request("PUT", "/v1/agent/check/%s/service:svc-%d-%d?note=n%d"
                                        % (verb, i % 6, i, i))
        assert status == 200, text
    for k in range(3):
        body = {"Node": "ext-%d" % k, "Address": "10.9.0.%d" % k, "NodeMeta": {"rack": "r%d" % k},
                "Service": {"Service": "db", "ID": "db-%d" % k, "Port": 5432,
                            "Address": "10.9.1.%d" % k},
                "Checks": [{"CheckID": "ext-alive", "Name": "alive", "Status": "passing"},
                           {"CheckID": "db-%d-ok" % k, "Name": "db ok", "Status": "warning",
                            "ServiceID": "db-%d" % k, "Output": "replica lag"}]}
        status, _, text = agent.request("PUT", "/v1/catalog/register", body)
        assert status == 200, text


def current_index(get_headers):
    return int(get_headers("/v1/catalog/services")["X-Consul-Index"])


class BlockingQuery(threading.Thread):
    """GET path?index=I&wait=60s on its own connection; records the answer."""

    def __init__(self, request, path, index):
        super().__init__(daemon=True)
        self.request, self.path, self.index = request, path, index
        self.result = None

    def run(self):
        sep = "&" if "?" in self.path else "?"
        self.result = self.request("GET", "%s%sindex=%d&wait=60s" % (self.path, sep, self.index))

    def answered_index(self, timeout):
        self.join(timeout)
        if self.is_alive() or self.result is None:
            return None
        status, headers, _ = self.result
        return int(headers["X-Consul-Index"]) if status == 200 else -status


class SnapshotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cairn-snap-e2e-")
        cls.source = Agent(node="source").start()
        populate(cls.source, N)
        cls.file = os.path.join(cls.tmp, "catalog.snap")
        r = cli("snapshot", "save", cls.file, addr=cls.source.addr)
        assert r.returncode == 0, r.stderr
        cls.saved_stdout = r.stdout
        cls.want = agent_catalog(cls.source)
        with open(cls.file, "rb") as f:
            cls.data = f.read()

    @classmethod
    def tearDownClass(cls):
        cls.source.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_save_prints_the_index_and_writes_a_file_that_inspects(self):
        index = current_index(lambda p: self.source.request("GET", p)[1])
        self.assertEqual(self.saved_stdout, "Saved and verified snapshot to index %d\n" % index)
        self.assertEqual(os.listdir(self.tmp), ["catalog.snap"])  # no temporary file left
        r = cli("snapshot", "inspect", self.file)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Services  %d\n" % (N + 3), r.stdout)
        # The same bytes over HTTP, with the header's index.
        status, headers, _ = self.source.request("GET", "/v1/snapshot")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/octet-stream")
        self.assertEqual(int(headers["X-Consul-Index"]), index)
        r = cli("snapshot", "save", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("cairn snapshot restore <file>", r.stdout)

    def test_restore_into_a_fresh_agent(self):
        data_dir = tempfile.mkdtemp(prefix="cairn-snap-target-")
        target = Agent(data_dir=data_dir, node="target").start()
        try:
            target.request("PUT", "/v1/agent/service/register", {"Name": "legacy", "Port": 1})
            self.assertNotEqual(agent_catalog(target), self.want)
            index = current_index(lambda p: target.request("GET", p)[1])
            watchers = [BlockingQuery(target.request, path, index)
                        for path in ("/v1/catalog/services", "/v1/health/service/svc-1",
                                     "/v1/health/service/legacy")]
            parked = target.metric("cairn_watch_waiting")
            for w in watchers:
                w.start()
            # The watchers are parked before the restore is sent.
            self.assertTrue(wait_until(lambda: target.metric("cairn_watch_waiting") >= parked + 3),
                            "watchers did not park")

            restored_at = time.monotonic()
            r = cli("snapshot", "restore", self.file, addr=target.addr)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertRegex(r.stdout, r"^Restored snapshot taken at index \d+ \(4 nodes, %d services, "
                                       r"\d+ checks\); the catalog is now at index \d+\n$" % (N + 3))
            now_at = int(r.stdout.rsplit(" ", 1)[1])
            self.assertGreater(now_at, index)

            for w in watchers:
                self.assertEqual(w.answered_index(10), now_at, w.path)
            self.assertLess(time.monotonic() - restored_at, 15)
            # Exactly the source's catalog, and the target's own node, which
            # it registers again within seconds (no restart), with the
            # "legacy" service registered through its agent API before.
            self.assertEqual(agent_catalog(target, exclude_nodes={"target"}), self.want)
            self.assertTrue(wait_until(lambda: "target" in node_names(lambda p: target.get_json(p)[0]),
                                       timeout=5), "the agent's own node did not come back")
            self.assertLess(time.monotonic() - restored_at, 20)
            self.assertEqual(agent_catalog(target, exclude_nodes={"target"}), self.want)
            self.assertTrue(wait_until(lambda: "legacy" in target.get_json(
                "/v1/catalog/node/target")[0]["Services"], timeout=5), "legacy did not come back")
            node = target.get_json("/v1/catalog/node/target")[0]
            self.assertEqual(node["Node"]["Address"], "127.0.0.1")
            self.assertEqual(set(node["Services"]), {"legacy"})
            checks = target.get_json("/v1/health/node/target")[0]
            self.assertEqual([c["CheckID"] for c in checks], ["serfHealth"])

            # Durable: a restart serves the same (plus its own node, which the
            # agent registers again when it starts).
            target.stop()
            target.start()
            self.assertEqual(agent_catalog(target, exclude_nodes={"target"}), self.want)
        finally:
            target.cleanup()
            shutil.rmtree(data_dir, ignore_errors=True)
            if os.path.exists(target.log_path):
                os.remove(target.log_path)

    def test_bad_files_are_refused_and_change_nothing(self):
        target = Agent(node="target2").start()
        try:
            populate(target, 5)
            before = agent_catalog(target)
            index = current_index(lambda p: target.request("GET", p)[1])
            corrupt = bytearray(self.data)
            corrupt[len(corrupt) // 2] ^= 0x04
            newer = bytearray(self.data)
            newer[8:12] = struct.pack(">I", 2)
            cases = {
                "corrupt": (bytes(corrupt), "checksum mismatch"),
                "truncated": (self.data[:-100], "truncated"),
                "garbage": (b"this is not a snapshot\n" * 10, "not a Cairn snapshot"),
                "newer": (bytes(newer), "format version 2 is newer than this binary understands"),
                "empty": (b"", "not a Cairn snapshot"),
            }
            for name, (data, reason) in cases.items():
                path = os.path.join(self.tmp, name + ".snap")
                with open(path, "wb") as f:
                    f.write(data)
                try:
                    r = cli("snapshot", "restore", path, addr=target.addr)
                finally:
                    os.unlink(path)
                self.assertEqual(r.returncode, 1, name)
                self.assertEqual(r.stdout, "", name)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn(reason, r.stderr, name)
                # The server refuses them too when they come straight over HTTP.
                status, _, body = target.request("PUT", "/v1/snapshot", data)
                self.assertEqual(status, 400, (name, body))
                self.assertIn("nothing was changed", body)
            self.assertEqual(agent_catalog(target), before)
            self.assertEqual(current_index(lambda p: target.request("GET", p)[1]), index)
            # An unreachable server is one line too.
            r = cli("snapshot", "restore", self.file, addr="127.0.0.1:1")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        finally:
            target.cleanup()


class ClusterSnapshotTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-snap-cluster-")
        self.source = Agent(node="source").start()
        populate(self.source, N)
        self.file = os.path.join(self.root, "catalog.snap")
        r = cli("snapshot", "save", self.file, addr=self.source.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.want = agent_catalog(self.source)
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader")

    def tearDown(self):
        self.source.cleanup()

    def test_restore_through_a_follower_reaches_every_server(self):
        leader_addr = self.s[0].leader()
        leader = next(x for x in self.s if x.server_addr == leader_addr)
        follower = next(x for x in self.s if x is not leader)
        other = next(x for x in self.s if x is not leader and x is not follower)
        # Every server has registered its own node (else one could appear
        # after the restore), and the cluster has a history of its own.
        self.assertTrue(wait_until(lambda: {"s1", "s2", "s3"} <= set(server_catalog(leader)["nodes"]),
                                   timeout=20))
        status, _, body = leader.request("PUT", "/v1/agent/service/register", {"Name": "old", "Port": 1})
        self.assertEqual(status, 200, body)
        _, headers, _ = other.request("GET", "/v1/catalog/services")
        watcher = BlockingQuery(lambda m, p: other.request(m, p, timeout=70), "/v1/catalog/services",
                                int(headers["X-Consul-Index"]))
        watcher.start()

        r = cli("snapshot", "restore", self.file, addr=follower.http)
        self.assertEqual(r.returncode, 0, r.stderr)
        restored_at = time.monotonic()
        now_at = int(r.stdout.rsplit(" ", 1)[1])
        servers = {"s1", "s2", "s3"}
        # Read-your-writes on the follower that took it, then everywhere.
        self.assertEqual(server_catalog(follower, servers), self.want)
        for x in self.s:
            self.assertTrue(wait_until(lambda: server_catalog(x, servers) == self.want, timeout=20),
                            "%s does not serve the restored catalog" % x.name)
        self.assertGreaterEqual(watcher.answered_index(20), now_at)
        # The restore replaced the servers' own nodes too (the source had
        # none of them): each server registers its node again, leader and
        # followers, within seconds and without a restart.
        for x in self.s:
            self.assertTrue(wait_until(lambda: servers <= node_names(
                lambda p: json.loads(x.request("GET", p + "?stale")[2])), timeout=5),
                "%s lacks server nodes" % x.name)
        self.assertLess(time.monotonic() - restored_at, 10)
        # "old", registered through the leader's agent API, comes back too.
        self.assertTrue(wait_until(lambda: "old" in json.loads(
            follower.request("GET", "/v1/catalog/services?stale")[2]), timeout=5))
        self.want = server_catalog(follower)
        self.assertEqual(set(self.want["nodes"]), servers | {"source", "ext-0", "ext-1", "ext-2"})

        # A consistent save through the other follower holds the same catalog.
        copy = os.path.join(self.root, "copy.snap")
        r = cli("snapshot", "save", copy, addr=other.http)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(int(r.stdout.rsplit(" ", 1)[1]), now_at)
        fresh = Agent(node="fresh").start()
        try:
            r = cli("snapshot", "restore", copy, addr=fresh.addr)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(agent_catalog(fresh, exclude_nodes={"fresh"}), self.want)
        finally:
            fresh.cleanup()


if __name__ == "__main__":
    unittest.main()
