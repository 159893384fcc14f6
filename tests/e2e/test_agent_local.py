"""The agent's local state with the real binary: services and checks
registered through a server's /v1/agent endpoints come back, within
seconds and with their checks, when a restore of an older snapshot loses
them (also after the server restarted in between: the record is in its data
dir); one deregistered through the agent API stays gone even when the
restored snapshot has it; what the catalog API put on the node is not
brought back, nor is a service reaped by DeregisterCriticalServiceAfter; a
check that survived the restore keeps its status; and once
repaired the catalog takes no more writes (cairn_catalog_applied_index
stays still)."""
import json
import os
import shutil
import signal
import socket
import tempfile
import time
import unittest

from cairn_agent import Agent, wait_until
from test_cluster import start_three
from test_snapshot import cli

REPAIR_SECONDS = 5  # the keeper polls every 500 ms
QUIET_SECONDS = 2.5  # five polls


def service(sid, port, checks=()):
    return {"Name": sid.rsplit("-", 1)[0], "ID": sid, "Port": port, "Tags": ["t"],
            "Checks": [dict(c) for c in checks]}


TTL = {"TTL": "300s"}


class Api:
    """GET/PUT against one agent (an Agent or a cluster Server)."""

    def __init__(self, agent):
        self.agent = agent

    def put(self, path, body=None):
        status, _, text = self.agent.request("PUT", path, body)
        assert status == 200, (path, status, text)

    def get(self, path):
        status, _, text = self.agent.request("GET", path)
        assert status == 200, (path, status, text)
        return json.loads(text)

    def applied_index(self):
        _, _, body = self.agent.request("GET", "/metrics")
        for line in body.splitlines():
            if line.startswith("cairn_catalog_applied_index "):
                return int(float(line.split()[1]))
        raise KeyError("cairn_catalog_applied_index")

    def node_state(self, node):
        """{service ID: port}, {check ID: (service ID, status)} of node in
        the catalog (this server's view)."""
        n = self.get("/v1/catalog/node/%s?stale" % node)
        services = {sid: s["Port"] for sid, s in (n or {}).get("Services", {}).items()}
        checks = {c["CheckID"]: (c["ServiceID"], c["Status"])
                  for c in self.get("/v1/health/node/%s?stale" % node)}
        return services, checks


class AgentLocalStateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cairn-agent-local-")
        os.mkdir(os.path.join(self.tmp, "data"))
        self.agent = Agent(data_dir=os.path.join(self.tmp, "data"), node="al").start()
        self.api = Api(self.agent)

    def tearDown(self):
        self.agent.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def save(self, name):
        path = os.path.join(self.tmp, name)
        r = cli("snapshot", "save", path, addr=self.agent.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        return path

    def restore(self, path):
        r = cli("snapshot", "restore", path, addr=self.agent.addr)
        self.assertEqual(r.returncode, 0, r.stderr)
        return time.monotonic()

    def assert_quiet(self):
        """No write to the catalog for QUIET_SECONDS."""
        before = self.api.applied_index()
        time.sleep(QUIET_SECONDS)
        self.assertEqual(self.api.applied_index(), before, "writes in the steady state")

    def test_an_older_snapshot_restored_gets_the_agent_registrations_back(self):
        api = self.api
        api.put("/v1/agent/service/register", service("web-1", 8001, [TTL, {"TTL": "301s"}]))
        api.put("/v1/agent/service/register", service("web-2", 8002, [TTL]))
        api.put("/v1/agent/service/register", service("gone-1", 8003, [TTL]))
        api.put("/v1/agent/check/register", {"Name": "disk", "TTL": "300s"})
        api.put("/v1/agent/check/register", {"Name": "web-1-extra", "ServiceID": "web-1", "TTL": "300s"})
        api.put("/v1/agent/check/pass/service:web-1:1?note=ok")
        api.put("/v1/agent/check/warn/disk?note=full")
        old = self.save("old.snap")

        # After the snapshot: a new service, a changed one, a removed one,
        # one registered and removed, a check removed, and one from the
        # catalog API on the same node.
        api.put("/v1/agent/service/register", service("web-3", 8004, [TTL]))
        api.put("/v1/agent/service/register", service("web-2", 9002, [TTL]))
        api.put("/v1/agent/service/deregister/gone-1")
        api.put("/v1/agent/service/register", service("gone-2", 8005, [TTL]))
        api.put("/v1/agent/service/deregister/gone-2")
        api.put("/v1/agent/check/deregister/web-1-extra")
        api.put("/v1/catalog/register", {"Node": "al", "SkipNodeUpdate": True,
                                          "Service": {"Service": "cat", "ID": "cat-1"}})
        want_services = {"web-1": 8001, "web-2": 9002, "web-3": 8004}
        want_checks = {"serfHealth": ("", "passing"),
                       "disk": ("", "warning"),
                       "service:web-1:1": ("web-1", "passing"),
                       "service:web-1:2": ("web-1", "critical"),
                       "service:web-2": ("web-2", "critical"),
                       "service:web-3": ("web-3", "critical")}
        self.assertEqual(api.node_state("al"),
                         (dict(want_services, **{"cat-1": 0}), want_checks))
        self.assert_quiet()

        restored_at = self.restore(old)
        got = []
        self.assertTrue(wait_until(lambda: got.append(api.node_state("al")) or
                                   got[-1] == (want_services, want_checks),
                                   timeout=REPAIR_SECONDS),
                        "not repaired: %s" % (got[-1:],))
        self.assertLess(time.monotonic() - restored_at, REPAIR_SECONDS + 1)
        # The agent endpoints agree, and the changed service has its new port.
        self.assertEqual({sid: s["Port"] for sid, s in api.get("/v1/agent/services").items()},
                         want_services)
        self.assertEqual(set(api.get("/v1/agent/checks")), set(want_checks))
        self.assertEqual(api.get("/v1/agent/checks")["service:web-1:1"]["Output"], "ok")
        self.assert_quiet()
        self.assertEqual(api.node_state("al"), (want_services, want_checks))

    def test_the_record_outlives_a_restart(self):
        api = self.api
        api.put("/v1/agent/service/register", service("web-1", 8001, [TTL]))
        api.put("/v1/agent/service/register", service("gone-1", 8002, [TTL]))
        old = self.save("old.snap")
        api.put("/v1/agent/service/register", service("web-2", 8003, [TTL]))
        api.put("/v1/agent/check/register", {"Name": "disk", "TTL": "300s"})
        api.put("/v1/agent/service/deregister/gone-1")
        self.agent.stop()
        self.agent.start()
        self.api = api = Api(self.agent)

        self.restore(old)
        want = ({"web-1": 8001, "web-2": 8003},
                {"serfHealth": ("", "passing"), "disk": ("", "critical"),
                 "service:web-1": ("web-1", "critical"), "service:web-2": ("web-2", "critical")})
        got = []
        self.assertTrue(wait_until(lambda: got.append(api.node_state("al")) or got[-1] == want,
                                   timeout=REPAIR_SECONDS),
                        "not repaired after a restart: %s" % (got[-1:],))
        self.assert_quiet()

    def test_a_service_reaped_by_deregister_critical_service_after_stays_gone(self):
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        closed.close()
        self.api.put("/v1/agent/service/register", {
            "Name": "reaped", "Port": port,
            "Check": {"TCP": "127.0.0.1:%d" % port, "Interval": "1s",
                      "DeregisterCriticalServiceAfter": "2s"}})
        self.assertTrue(wait_until(lambda: "reaped" not in self.api.node_state("al")[0], 15))
        self.assert_quiet()
        self.assertNotIn("reaped", self.api.node_state("al")[0])


class ClusterAgentLocalStateTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cairn-agent-local-cluster-")
        self.s, led = start_three(self.root, test=self)
        self.assertTrue(led, "no leader")

    def tearDown(self):
        for x in self.s:
            x.stop(signal.SIGKILL)
        if os.environ.get("KEEP"):
            print(self.root)
            return
        shutil.rmtree(self.root, ignore_errors=True)

    def test_every_server_gets_its_own_registrations_back(self):
        leader_addr = self.s[0].leader()
        leader = next(x for x in self.s if x.server_addr == leader_addr)
        followers = [x for x in self.s if x is not leader]
        names = {x.name for x in self.s}
        self.assertTrue(wait_until(lambda: names <= {n["Node"] for n in Api(leader).get(
            "/v1/catalog/nodes")}, timeout=20))
        # The mesh CA is in the snapshot (else the leader makes one after the restore).
        self.assertTrue(wait_until(lambda: Api(leader).get("/v1/agent/connect/ca/roots")["Roots"],
                                   timeout=20))
        for x in self.s:
            Api(x).put("/v1/agent/service/register", service("early-" + x.name, 7000, [TTL]))
            Api(x).put("/v1/agent/service/register", service("gone-" + x.name, 7001, [TTL]))
        path = os.path.join(self.root, "old.snap")
        r = cli("snapshot", "save", path, addr=leader.http)
        self.assertEqual(r.returncode, 0, r.stderr)
        for x in self.s:
            Api(x).put("/v1/agent/service/register", service("late-" + x.name, 7002, [TTL]))
            Api(x).put("/v1/agent/service/deregister/gone-" + x.name)

        r = cli("snapshot", "restore", path, addr=followers[0].http)
        self.assertEqual(r.returncode, 0, r.stderr)

        def repaired(x):
            want = {"early-" + x.name: 7000, "late-" + x.name: 7002}
            return all(Api(y).node_state(x.name)[0] == want for y in self.s)

        for x in self.s:
            self.assertTrue(wait_until(lambda: repaired(x), timeout=REPAIR_SECONDS + 5),
                            "%s: %s" % (x.name, Api(leader).node_state(x.name)))
        # Steady: no server writes.
        before = [Api(x).applied_index() for x in self.s]
        time.sleep(QUIET_SECONDS)
        self.assertEqual([Api(x).applied_index() for x in self.s], before)


if __name__ == "__main__":
    unittest.main()
