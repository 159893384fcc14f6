"""SIGTERM stops the agent gracefully: writes in flight are finished and
answered, exit code 0, and everything answered 200 is there after restart.
Bad config: a clear error naming the key, exit code 1, nothing started."""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import unittest

from cairn_agent import CAIRN, Agent


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_writes(self):
        agent = Agent().start()
        try:
            acked = []
            started = threading.Event()

            def writer(w):
                for i in range(2000):
                    try:
                        status, _, _ = agent.request("PUT", "/v1/agent/service/register",
                                                     {"Name": "s", "ID": "w%d-%d" % (w, i)}, timeout=5)
                    except OSError:
                        return
                    if status == 200:
                        acked.append("w%d-%d" % (w, i))
                        started.set()

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
            for t in threads:
                t.start()
            started.wait(10)
            code = agent.stop(signal.SIGTERM)
            for t in threads:
                t.join()
            self.assertEqual(code, 0)
            self.assertIn("shutting down", agent.read_log())
            agent.start()
            services = agent.get_json("/v1/agent/services")[0]
            self.assertEqual([s for s in acked if s not in services], [])
        finally:
            agent.cleanup()

    def test_sigint_exits_zero(self):
        agent = Agent().start()
        try:
            self.assertEqual(agent.stop(signal.SIGINT), 0)
        finally:
            agent.cleanup()

    def run_bad(self, *args):
        p = subprocess.run([CAIRN, "agent"] + list(args), capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertNotIn("listening", p.stdout)
        return p.stderr

    def test_bad_config_names_the_key_and_starts_nothing(self):
        d = tempfile.mkdtemp(prefix="cairn-e2e-bad-")
        try:
            with open(os.path.join(d, "bad.toml"), "w") as f:
                f.write('datacenter = "dc1"\n[ports]\nhttp = "eighty"\n')
            self.assertIn("ports.http", self.run_bad("-dev", "-config-file", os.path.join(d, "bad.toml")))
            with open(os.path.join(d, "bad.json"), "w") as f:
                f.write('{"no_such_key": true}')
            self.assertIn("no_such_key", self.run_bad("-dev", "-config-file", os.path.join(d, "bad.json")))
            self.assertIn("-bogus", self.run_bad("-dev", "-bogus"))
            self.assertIn("http-port", self.run_bad("-dev", "-http-port", "x"))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_port_in_use_is_a_clear_error(self):
        agent = Agent().start()
        try:
            err = self.run_bad("-dev", "-http-port", str(agent.port))
            self.assertIn("cannot listen", err)
        finally:
            agent.cleanup()


if __name__ == "__main__":
    unittest.main()
