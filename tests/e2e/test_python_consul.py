"""The real agent driven by a real third-party client: Debian's python3-consul."""
import sys
import threading
import time
import unittest

sys.path.insert(0, "/usr/lib/python3/dist-packages")
import consul  # noqa: E402  (Debian's python3-consul 0.7.1)

from cairn_agent import Agent, wait_until  # noqa: E402


class PythonConsulTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.agent = Agent().start()
        cls.c = consul.Consul(host="127.0.0.1", port=cls.agent.port)

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()

    def test_register_ttl_pass_fail_list_deregister(self):
        c = self.c
        self.assertTrue(c.agent.service.register("web", service_id="web-1", port=8080,
                                                 tags=["v1"], check=consul.Check.ttl("10s")))
        self.assertIn("web-1", c.agent.services())
        checks = c.agent.checks()
        self.assertEqual(checks["service:web-1"]["Status"], "critical")

        _, nodes = c.health.service("web", passing=True)
        self.assertEqual(nodes, [])
        self.assertTrue(c.agent.check.ttl_pass("service:web-1", notes="all good"))
        _, nodes = c.health.service("web", passing=True)
        self.assertEqual(len(nodes), 1)
        self.assertEqual(nodes[0]["Service"]["ID"], "web-1")
        self.assertEqual(nodes[0]["Service"]["Port"], 8080)
        svc_checks = [ch for ch in nodes[0]["Checks"] if ch["CheckID"] == "service:web-1"]
        self.assertEqual(svc_checks[0]["Output"], "all good")
        self.assertEqual(svc_checks[0]["ServiceTags"], ["v1"])

        self.assertTrue(c.agent.check.ttl_fail("service:web-1", notes="broken"))
        _, nodes = c.health.service("web", passing=True)
        self.assertEqual(nodes, [])
        self.assertTrue(c.agent.check.ttl_warn("service:web-1"))
        _, nodes = c.health.service("web")
        self.assertEqual(len(nodes), 1)

        index, services = c.catalog.services()
        self.assertIn("web", services)
        self.assertEqual(services["web"], ["v1"])
        self.assertGreaterEqual(int(index), 1)
        _, inst = c.catalog.service("web")
        self.assertEqual([i["ServiceID"] for i in inst], ["web-1"])
        _, nodes_list = c.catalog.nodes()
        self.assertIn(self.agent.node, [n["Node"] for n in nodes_list])
        _, state = c.health.state("critical")
        self.assertEqual(state, [])

        self.assertTrue(c.agent.service.deregister("web-1"))
        self.assertNotIn("web-1", c.agent.services())
        _, inst = c.catalog.service("web")
        self.assertEqual(inst, [])

    def test_blocking_query_wakes_on_relevant_change_only(self):
        c = self.c
        c.agent.service.register("watched", service_id="watched-1", port=1)
        index, _ = c.health.service("watched")
        result = {}

        def block():
            start = time.monotonic()
            idx, nodes = c.health.service("watched", index=index, wait="30s")
            result["took_from_start"] = time.monotonic() - start
            result["returned_at"] = time.monotonic()
            result["index"] = idx
            result["nodes"] = nodes

        waiting = self.agent.metric("cairn_watch_waiting")
        t = threading.Thread(target=block)
        t.start()
        self.assertTrue(wait_until(lambda: self.agent.metric("cairn_watch_waiting") == waiting + 1))
        # An irrelevant write: another service. Watchers are woken before a
        # write is acknowledged, so once it returns the count is final.
        c.agent.service.register("unrelated", service_id="unrelated-1", port=2)
        self.assertEqual(self.agent.metric("cairn_watch_waiting"), waiting + 1)
        self.assertTrue(t.is_alive(), "blocking query returned on an unrelated change")
        changed_at = time.monotonic()
        c.agent.service.register("watched", service_id="watched-2", port=3)
        t.join(timeout=5)
        self.assertFalse(t.is_alive())
        self.assertLess(result["returned_at"] - changed_at, 1.0)
        self.assertNotEqual(result["index"], index)
        self.assertEqual(sorted(n["Service"]["ID"] for n in result["nodes"]),
                         ["watched-1", "watched-2"])

    def test_agent_self_and_status(self):
        me = self.c.agent.self()
        self.assertEqual(me["Config"]["Datacenter"], "dc1")
        self.assertEqual(me["Config"]["NodeName"], self.agent.node)
        self.assertTrue(self.c.status.leader())
        self.assertEqual(len(self.c.status.peers()), 1)


if __name__ == "__main__":
    unittest.main()
