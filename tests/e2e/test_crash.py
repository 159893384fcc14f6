"""kill -9 loses nothing acknowledged: every registration that got a 200
before the kill is there after a restart on the same data dir, with the same
indexes."""
import json
import threading
import unittest

from cairn_agent import Agent


class CrashTest(unittest.TestCase):
    def test_kill9_then_restart_keeps_everything_acknowledged(self):
        agent = Agent().start()
        try:
            acked = []
            lock = threading.Lock()

            def writer(w):
                for i in range(100):
                    sid = "svc-%d-%d" % (w, i)
                    status, _, _ = agent.request("PUT", "/v1/agent/service/register",
                                                 {"Name": "svc-%d" % (i % 10), "ID": sid,
                                                  "Port": 1000 + i, "Tags": ["w%d" % w]})
                    if status == 200:
                        with lock:
                            acked.append(sid)

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(len(acked), 400)
            before, before_index = agent.get_json("/v1/agent/services")
            per_service_before = {}
            for s in range(10):
                body, idx = agent.get_json("/v1/health/service/svc-%d" % s)
                per_service_before[s] = (idx, sorted(json.dumps(e["Service"], sort_keys=True) for e in body))

            agent.kill9()
            agent.start()
            after, after_index = agent.get_json("/v1/agent/services")
            for sid in acked:
                self.assertIn(sid, after)
                self.assertEqual(after[sid], before[sid])
            self.assertEqual(after_index, before_index)
            for s in range(10):
                body, idx = agent.get_json("/v1/health/service/svc-%d" % s)
                self.assertEqual((idx, sorted(json.dumps(e["Service"], sort_keys=True) for e in body)),
                                 per_service_before[s])
        finally:
            agent.cleanup()

    def test_kill9_during_writes_keeps_every_acknowledged_write(self):
        agent = Agent().start()
        try:
            acked = []
            stop = threading.Event()

            def writer(w):
                i = 0
                while not stop.is_set() and i < 5000:
                    sid = "w%d-%d" % (w, i)
                    try:
                        status, _, _ = agent.request("PUT", "/v1/agent/service/register",
                                                     {"Name": "busy", "ID": sid}, timeout=5)
                    except OSError:
                        return
                    if status == 200:
                        acked.append(sid)
                    i += 1

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            # Kill in the middle of the stream of writes.
            import time
            deadline = time.monotonic() + 10
            while len(acked) < 200 and time.monotonic() < deadline:
                time.sleep(0.01)
            agent.kill9()
            stop.set()
            for t in threads:
                t.join()
            self.assertGreater(len(acked), 0)
            agent.start()
            after, _ = agent.get_json("/v1/agent/services")
            missing = [s for s in acked if s not in after]
            self.assertEqual(missing, [])
        finally:
            agent.cleanup()


if __name__ == "__main__":
    unittest.main()
