"""Starts and stops real `cairn agent` processes for end-to-end tests.

Each agent binds 127.0.0.1 on free ports (port 0) and reports the port it
bound on stdout; tests never use fixed ports and never sleep on luck: they
poll with deadlines.
"""
import http.client
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time

# Tests open a thousand sockets at once: lift the soft limit for us and the agents.
_soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (_hard, _hard))

CAIRN = os.environ.get("CAIRN_BIN", os.path.join(os.path.dirname(__file__), "../../build/cli/cairn"))


class Agent:
    def __init__(self, data_dir=None, extra_args=(), node="e2e-node"):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="cairn-e2e-")
        self.extra_args = list(extra_args)
        self.node = node
        self.proc = None
        self.port = None
        self.dns_port = None  # None when the agent runs without DNS
        self.https_port = None  # set when the agent serves HTTPS too
        self.log_path = os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".log")

    def start(self, timeout=15, env=None):
        args = [CAIRN, "agent", "-dev", "-http-port", "0", "-dns-port", "0",
                "-data-dir", self.data_dir, "-node", self.node] + self.extra_args
        # CAIRN_E2E_CHECK_CLOSE=reset runs a whole suite with checks closing by RST
        # (ctest e2e_health_reset); flags given by the test itself come later and win.
        if os.environ.get("CAIRN_E2E_CHECK_CLOSE"):
            args[2:2] = ["-check-close", os.environ["CAIRN_E2E_CHECK_CLOSE"]]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening http=([\d.]+):(\d+)", line)
            if m:
                self.port = int(m.group(2))
                d = re.search(r" dns=([\d.]+):(\d+)", line)
                self.dns_port = int(d.group(2)) if d else None
                h = re.search(r" https=([\d.]+):(\d+)", line)
                self.https_port = int(h.group(2)) if h else None
                return self
        raise RuntimeError("agent did not start; exit=%s log=%s" % (self.proc.poll(), self.read_log()))

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-4000:]
        except OSError:
            return ""

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = body if isinstance(body, (bytes, type(None))) else (
                body if isinstance(body, str) else json.dumps(body)).encode()
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, dict(resp.getheaders()), raw.decode(errors="replace")
        finally:
            conn.close()

    def get_json(self, path):
        status, headers, body = self.request("GET", path)
        assert status == 200, (status, body)
        return json.loads(body), int(headers["X-Consul-Index"])

    def metric(self, name):
        _, _, body = self.request("GET", "/metrics")
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise KeyError(name)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode if self.proc else None
        if self.proc:
            self.proc.stdout.close()
            self.log.close()
        return code

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            try:
                os.remove(self.log_path)
            except OSError:
                pass


def wait_until(pred, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


class AgentChecks:
    """Mixin for a unittest.TestCase whose self.agent is an Agent: a PUT that
    must succeed, and the agent's view of its checks."""

    def put(self, path, body=None):
        status, _, text = self.agent.request("PUT", path, body)
        self.assertEqual(status, 200, text)

    def check(self, check_id):
        checks, _ = self.agent.get_json("/v1/agent/checks")
        return checks.get(check_id)

    def status_is(self, check_id, status):
        c = self.check(check_id)
        return c is not None and c["Status"] == status

    def passing_instances(self, name):
        entries, _ = self.agent.get_json("/v1/health/service/%s?passing" % name)
        return len(entries)
