"""SIGHUP reloads the log level and the services/checks of the config dir,
without a restart (same PID, same data)."""
import json
import os
import shutil
import signal
import tempfile
import unittest

from cairn_agent import Agent, wait_until


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.cfg = tempfile.mkdtemp(prefix="cairn-e2e-cfg-")
        self.write("10-base.toml", 'log_level = "info"\n')
        self.write("20-svc.json", json.dumps({"services": [{"name": "alpha", "port": 1}]}))
        self.agent = Agent(extra_args=["-config-dir", self.cfg]).start()

    def tearDown(self):
        self.agent.cleanup()
        shutil.rmtree(self.cfg, ignore_errors=True)

    def write(self, name, text):
        with open(os.path.join(self.cfg, name), "w") as f:
            f.write(text)

    def services(self):
        return self.agent.get_json("/v1/agent/services")[0]

    def test_services_and_checks_follow_the_config(self):
        self.assertIn("alpha", self.services())
        pid = self.agent.proc.pid
        self.write("20-svc.json", json.dumps({"services": [
            {"name": "beta", "port": 2, "check": {"ttl": "30s"}}]}))
        self.write("30-check.toml", '[[checks]]\nname = "disk"\nttl = "1m"\n')
        self.agent.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "beta" in self.services() and "alpha" not in self.services()))
        checks = self.agent.get_json("/v1/agent/checks")[0]
        self.assertIn("service:beta", checks)
        self.assertIn("disk", checks)
        self.assertEqual(self.agent.proc.pid, pid)
        # Removing the check file deregisters the check on the next reload.
        os.remove(os.path.join(self.cfg, "30-check.toml"))
        self.agent.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "disk" not in self.agent.get_json("/v1/agent/checks")[0]))

    def test_config_services_survive_restart_and_removal_is_remembered(self):
        self.agent.stop()
        self.write("20-svc.json", json.dumps({"services": []}))
        self.agent.start()
        self.assertNotIn("alpha", self.services())

    def test_log_level_reload(self):
        # The reload summary is an info line: logged at info, not at error.
        mark = len(self.agent.read_log())
        self.write("10-base.toml", 'log_level = "error"\n')
        self.write("20-svc.json", json.dumps({"services": [{"name": "gamma", "port": 3}]}))
        self.agent.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "gamma" in self.services()))
        self.assertNotIn("reloaded", self.agent.read_log()[mark:])
        self.write("10-base.toml", 'log_level = "info"\n')
        self.agent.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reloaded log_level=info" in self.agent.read_log()))

    def test_bad_config_on_reload_keeps_running(self):
        self.write("10-base.toml", "this is = = not toml\n")
        self.agent.send_signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload failed" in self.agent.read_log()))
        self.assertIn("alpha", self.services())


if __name__ == "__main__":
    unittest.main()
