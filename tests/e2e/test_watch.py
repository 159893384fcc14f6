"""1,000 concurrent blocking queries on 1,000 different services: one write
wakes exactly its own watchers, as /metrics counts them."""
import asyncio
import re
import socket
import threading
import time
import unittest

from cairn_agent import Agent

N = 1000


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    index = None
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        if line.lower().startswith(b"x-consul-index:"):
            index = int(line.split(b":")[1])
    body = await reader.readexactly(length)
    return int(head[9:12]), index, body


def read_http(sock, buf):
    """One response from a blocking socket: (index, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    n = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))
    while len(rest) < n:
        d = sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        rest += d
    m = re.search(rb"(?i)x-consul-index: (\d+)", head)
    return (int(m.group(1)) if m else 0), rest[n:]


class WatchTest(unittest.TestCase):
    def test_one_write_wakes_only_its_watchers(self):
        agent = Agent().start()
        try:
            asyncio.run(self.scenario(agent))
        finally:
            agent.cleanup()

    async def scenario(self, agent):
        # Register 1,000 services over a few keep-alive connections.
        async def register_range(lo, hi):
            reader, writer = await asyncio.open_connection("127.0.0.1", agent.port)
            for i in range(lo, hi):
                body = ('{"Name":"s%d","ID":"s%d","Port":%d}' % (i, i, 1000 + i)).encode()
                writer.write(b"PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                status, _, _ = await read_response(reader)
                assert status == 200
            writer.close()

        await asyncio.gather(*(register_range(k * 100, (k + 1) * 100) for k in range(10)))
        # The agent's own watchers (the health checker waits on the checks
        # table) are there before the test's.
        base = agent.metric("cairn_watch_waiting")

        conns = []

        async def watch(i):
            reader, writer = await asyncio.open_connection("127.0.0.1", agent.port)
            writer.write(b"GET /v1/health/service/s%d HTTP/1.1\r\nHost: x\r\n\r\n" % i)
            _, index, _ = await read_response(reader)
            writer.write(b"GET /v1/health/service/s%d?index=%d&wait=60s HTTP/1.1\r\nHost: x\r\n\r\n"
                         % (i, index))
            await writer.drain()
            conns.append((i, reader, writer))

        await asyncio.gather(*(watch(i) for i in range(N)))
        loop = asyncio.get_running_loop()

        async def metric(name):
            return await loop.run_in_executor(None, agent.metric, name)

        deadline = loop.time() + 20
        while await metric("cairn_watch_waiting") < base + N and loop.time() < deadline:
            await asyncio.sleep(0.05)
        self.assertEqual(await metric("cairn_watch_waiting"), base + N)
        woken_before = await metric("cairn_watch_woken_total")

        # One write to s500: exactly one watcher wakes.
        status, _, _ = await loop.run_in_executor(
            None, agent.request, "PUT", "/v1/agent/service/register",
            '{"Name":"s500","ID":"s500-b","Port":9}')
        self.assertEqual(status, 200)
        target = [c for c in conns if c[0] == 500][0]
        st, _, body = await asyncio.wait_for(read_response(target[1]), timeout=2)
        self.assertEqual(st, 200)
        self.assertIn(b"s500-b", body)
        self.assertEqual(await metric("cairn_watch_woken_total") - woken_before, 1)
        self.assertEqual(await metric("cairn_watch_waiting"), base + N - 1)

        # No other watcher answered.
        others = [c for c in conns if c[0] != 500]
        for i, reader, _ in others[:50]:
            self.assertFalse(reader.at_eof())
            try:
                await asyncio.wait_for(reader.read(1), timeout=0.002)
                self.fail("watcher of s%d answered after a write to s500" % i)
            except asyncio.TimeoutError:
                pass
        for _, _, writer in conns:
            writer.close()


    def test_blocking_query_after_a_plain_one_on_the_same_connection_wakes(self):
        # A watcher that asks a plain question between two blocking queries
        # on one keep-alive connection (as the proxy's intention watch did).
        # The agent's wait for the client hanging up could end on an epoll
        # event left over from the bytes the request read had taken; it then
        # peeked with a blocking recv, holding the session (and an I/O thread)
        # until the client sent more: the woken query was never answered.
        agent = Agent().start()
        seen, stop, errors = [0], [False], []

        def watcher():
            s = socket.create_connection(("127.0.0.1", agent.port), timeout=30)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            index, buf = 0, b""
            try:
                while not stop[0]:
                    s.sendall(b"GET /v1/connect/intentions?wait=30s&index=%d HTTP/1.1\r\n"
                              b"Host: x\r\n\r\n" % index)
                    index, buf = read_http(s, buf)
                    seen[0] = index
                    s.sendall(b"GET /v1/connect/intentions/check?source=%2A&destination=api "
                              b"HTTP/1.1\r\nHost: x\r\n\r\n")
                    _, buf = read_http(s, buf)
            except (OSError, EOFError) as e:
                if not stop[0]:
                    errors.append(e)
            finally:
                s.close()

        t = threading.Thread(target=watcher, daemon=True)
        try:
            t.start()
            deadline = time.time() + 10
            while seen[0] == 0 and time.time() < deadline:
                time.sleep(0.01)
            self.assertGreater(seen[0], 0, errors)
            for i in range(400):
                action = "deny" if i % 2 == 0 else "allow"
                status, _, text = agent.request(
                    "PUT", "/v1/connect/intentions/exact?source=web&destination=api",
                    {"Action": action})
                self.assertEqual(status, 200, text)
                _, headers, _ = agent.request("GET", "/v1/connect/intentions")
                want = int(headers["X-Consul-Index"])
                deadline = time.time() + 5
                while seen[0] < want and time.time() < deadline:
                    time.sleep(0.002)
                self.assertGreaterEqual(seen[0], want, "write %d: the watcher was not woken "
                                        "(errors: %s)" % (i, errors))
            self.assertEqual(errors, [])
        finally:
            stop[0] = True
            agent.cleanup()
            t.join(timeout=10)


if __name__ == "__main__":
    unittest.main()
