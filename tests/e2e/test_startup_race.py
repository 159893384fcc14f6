"""A server whose peers are already knocking when it starts: their hellos
must wait until the server is wired up. With every thread start slowed down
(slow_threads.cpp, LD_PRELOAD), a hello used to reach RaftReplicator::onHello
while transport_ was still null: SIGSEGV at start-up, seen first in the fault
tests' rolling restart."""
import os
import socket
import subprocess
import tempfile
import shutil
import threading
import time
import unittest

from cairn_agent import CAIRN

SHIM = os.environ.get("CAIRN_SLOW_THREADS", "")


def _varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def hello_frame(raft_id, address, node):
    """A server/raft_wire.proto Frame{version 1, hello}, length-prefixed."""
    field = lambda num, data: bytes([num << 3 | 2]) + _varint(len(data)) + data
    hello = b"\x08" + _varint(raft_id) + field(2, address.encode()) + field(4, node.encode())
    frame = b"\x08\x01" + field(2, hello)
    return len(frame).to_bytes(4, "big") + frame


@unittest.skipUnless(SHIM, "needs CAIRN_SLOW_THREADS (the slow_threads shim; ctest sets it)")
class StartupRaceTest(unittest.TestCase):
    def test_hello_during_startup(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        frame = hello_frame(12345, "127.0.0.1:1", "knocking-peer")
        stop = threading.Event()
        sent = []

        def peer():
            while not stop.is_set():
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
                        c.sendall(frame)
                        sent.append(1)
                except OSError:
                    pass
                time.sleep(0.002)

        t = threading.Thread(target=peer, daemon=True)
        t.start()
        root = tempfile.mkdtemp(prefix="cairn-race-")
        proc = subprocess.Popen(
            [CAIRN, "agent", "-server", "-data-dir", os.path.join(root, "d"), "-node", "n", "-bind", "127.0.0.1",
             "-http-port", "0", "-dns-port", "-1", "-server-port", str(port), "-bootstrap-expect", "3"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, LD_PRELOAD=SHIM))
        try:
            line = proc.stdout.readline()
            if "listening" not in line:
                self.fail("agent exited with %s before serving" % proc.wait(timeout=30))
            time.sleep(0.5)
            self.assertIsNone(proc.poll(), "agent died after start-up: exit %s" % proc.returncode)
            self.assertGreater(len(sent), 0, "the peer never reached the server")
        finally:
            stop.set()
            t.join()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
