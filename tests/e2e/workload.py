"""A client workload for fault tests: threads that register, deregister and
read service instances through random servers, recording every call with its
outcome, and the checks made at the end.

Two kinds of keys:
  * registers, "reg-<gen>-<k>": each key is one service with one instance of
    the same ID; a write registers it with a fresh value (Meta "w") or
    deregisters it (the absent value "-"); a read returns the value (GET
    /v1/catalog/service/<key>, ?consistent or default, both linearizable).
    The history of these goes to cairn_lincheck. The generation <gen> moves
    on every `rotate_s` seconds so that no key's history grows past what the
    checker can search.
  * unique registrations, "u<worker>-<n>" of service "uniq", written once:
    at the end every acknowledged one must be on every server and no failed
    one on any.

Outcomes: "ok" (HTTP 200), "failed" (certainly not applied: the connection
was refused, a 4xx, or the server said it never proposed it: a 500 "No
cluster leader" or "server is shutting down" without "may or may not"), or
"unknown" (anything after the request may have reached the server: a
timeout, a reset, "may or may not", any other 500). Reads that do not return
200 are dropped: they say nothing.
"""
import http.client
import itertools
import json
import random
import subprocess
import threading
import time

NODE = "fault-node"
UNIQ = "uniq"
ABSENT = "-"


def http_call(addr, method, path, body=None, timeout=15.0):
    """(status, body, sent). status None: never sent; -1: sent, no answer."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        try:
            conn.connect()
        except OSError as e:
            return None, "connect: %s" % e
        try:
            conn.request(method, path, body=None if body is None else json.dumps(body))
            r = conn.getresponse()
            return r.status, r.read().decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            return -1, "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()


def write_outcome(status, body):
    if status is None:
        return "failed"
    if status == 200:
        return "ok"
    if 400 <= status < 500:
        return "failed"
    if status == 500 and "may or may not" not in body and (
            body.startswith("No cluster leader") or body.startswith("server is shutting down")):
        return "failed"
    return "unknown"


def register_body(service, sid, value):
    return {"Node": NODE, "Address": "127.0.0.1",
            "Service": {"Service": service, "ID": sid, "Port": 1, "Meta": {"w": value}}}


class Op:
    __slots__ = ("kind", "key", "value", "call", "ret", "outcome", "server", "detail")

    def __init__(self, kind, key, value, server):
        self.kind, self.key, self.value, self.server = kind, key, value, server
        self.call = self.ret = None
        self.outcome = self.detail = None


class Workload:
    """`servers()` returns the list of (name, http address or None) to pick from."""

    def __init__(self, servers, seed, workers=4, keys=8, rotate_s=20.0, write_timeout=15.0,
                 read_timeout=12.0):
        self.servers = servers
        self.seed = seed
        self.workers = workers
        self.keys = keys
        self.rotate_s = rotate_s
        self.write_timeout = write_timeout
        self.read_timeout = read_timeout
        self.ops = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self._tags = itertools.count(1)
        self._t0 = None
        self.anomalies = []  # things no history explains (e.g. two instances for one key)

    def start(self):
        self._t0 = time.monotonic()
        for w in range(self.workers):
            t = threading.Thread(target=self._run, args=(w,), name="workload-%d" % w, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)
            assert not t.is_alive(), "workload thread stuck"

    def reg_keys(self):
        """Every register key the workload may have touched."""
        gens = int((time.monotonic() - self._t0) / self.rotate_s) + 1
        return ["reg-%d-%d" % (g, k) for g in range(gens) for k in range(self.keys)]

    def _record(self, op):
        with self._lock:
            self.ops.append(op)

    def _run(self, w):
        rng = random.Random(self.seed * 1000 + w)
        uniq = itertools.count()
        while not self._stop.is_set():
            choices = [s for s in self.servers() if s[1]]
            if not choices:
                time.sleep(0.05)
                continue
            name, addr = rng.choice(choices)
            gen = int((time.monotonic() - self._t0) / self.rotate_s)
            key = "reg-%d-%d" % (gen, rng.randrange(self.keys))
            r = rng.random()
            tag = str(next(self._tags))
            if r < 0.25:
                sid = "u%d-%d" % (w, next(uniq))
                op = Op("u", sid, tag, name)
                ok = self._write(op, addr, "/v1/catalog/register", register_body(UNIQ, sid, tag))
            elif r < 0.55:
                op = Op("w", key, tag, name)
                ok = self._write(op, addr, "/v1/catalog/register", register_body(key, key, tag))
            elif r < 0.70:
                op = Op("w", key, ABSENT, name)
                ok = self._write(op, addr, "/v1/catalog/deregister", {"Node": NODE, "ServiceID": key})
            else:
                ok = self._read(key, name, addr, consistent=rng.random() < 0.5)
            if not ok:
                time.sleep(0.05)  # a down server refuses at once: do not spin

    def _write(self, op, addr, path, body):
        op.call = time.monotonic_ns()
        status, text = http_call(addr, "PUT", path, body, timeout=self.write_timeout)
        op.ret = time.monotonic_ns()
        op.outcome = write_outcome(status, text)
        op.detail = "%s %s" % (status, text[:120].strip())
        self._record(op)
        return op.outcome != "failed"

    def _read(self, key, name, addr, consistent):
        op = Op("r", key, None, name)
        op.call = time.monotonic_ns()
        status, text = http_call(addr, "GET", "/v1/catalog/service/%s%s" % (
            key, "?consistent" if consistent else ""), timeout=self.read_timeout)
        op.ret = time.monotonic_ns()
        if status != 200:
            return status is not None
        entries = json.loads(text)
        if len(entries) > 1:
            self.anomalies.append("read of %s on %s returned %d instances" % (key, name, len(entries)))
            return True
        op.value = entries[0]["ServiceMeta"]["w"] if entries else ABSENT
        op.outcome = "ok"
        self._record(op)
        return True

    # --- results -----------------------------------------------------------

    def count(self, kinds, outcome):
        return sum(1 for o in self.ops if o.kind in kinds and o.outcome == outcome)

    def summary(self):
        s = {}
        for kind, label in (("u", "unique registrations"), ("w", "register writes"), ("r", "reads")):
            s[label] = {oc: self.count(kind, oc) for oc in ("ok", "failed", "unknown")}
        return s

    def unique_ids(self, outcome):
        return {o.key for o in self.ops if o.kind == "u" and o.outcome == outcome}

    def history_lines(self, final_reads=()):
        """The register history in cairn_lincheck's format; failed writes are left out.
        final_reads: (key, value, call_ns, ret_ns) observed after healing."""
        lines = ["# <w|r> <call> <return|?> <key> <value|->  (seed %d)" % self.seed]
        for o in sorted(self.ops, key=lambda o: o.call):
            if o.kind == "w" and o.outcome != "failed":
                ret = str(o.ret) if o.outcome == "ok" else "?"
                lines.append("w %d %s %s %s" % (o.call, ret, o.key, o.value))
            elif o.kind == "r":
                lines.append("r %d %d %s %s" % (o.call, o.ret, o.key, o.value))
        for key, value, call, ret in final_reads:
            lines.append("r %d %d %s %s  # final" % (call, ret, key, value))
        return lines


def dump_ops(workload, path):
    """Every recorded call, for reading after a failure."""
    t0 = min((o.call for o in workload.ops), default=0)
    with open(path, "w") as f:
        for o in sorted(workload.ops, key=lambda o: o.call):
            f.write("%9.3f %9.3f %s %-8s %s %-12s %-14s %s\n" % (
                (o.call - t0) / 1e9, (o.ret - t0) / 1e9, o.kind, o.outcome, o.server, o.key, o.value,
                o.detail or ""))


def lincheck(binary, path, expect_violation=False):
    """Runs cairn_lincheck; returns (exit code, its output)."""
    args = [binary] + (["--expect-violation"] if expect_violation else []) + [path]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    return r.returncode, (r.stdout + r.stderr).strip()
