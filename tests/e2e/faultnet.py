"""A fault-injecting TCP relay between `cairn agent -server` processes.

Server i binds its Raft port P_i on 127.0.0.1 and advertises ip_i:P_i, where
ip_i is a loopback address of its own (127.x.y.i, any 127/8 address is local
on Linux). The relay listens on ip_i:P_i and forwards to 127.0.0.1:P_i, so
every byte that any server sends to server i passes through here.

The transport connects one way: a connection from A to B carries only A's
frames to B (B answers over its own connection to A), and the first frame on
it is A's hello, which names A's advertised address. The relay reads that
hello to learn which ordered link (A, B) a connection belongs to, so links
can be cut one direction at a time without any help from the server.

A cut link is either
  "drop":      open connections are closed, and new ones half a second
               after the hello (the sender sees resets and reconnects);
  "blackhole": bytes are read and thrown away, nothing is answered (the
               sender's writes succeed; its peer just goes silent).
Healing closes the link's blackholed connections instead of resuming them:
bytes were dropped mid-frame, and TCP never delivers a stream with a hole.

Threading: one asyncio loop on its own thread; the public methods may be
called from any thread and return once the change is in effect.
"""
import asyncio
import os
import threading

_MAX_HELLO = 64 * 1024


def _varint(b, i):
    shift = value = 0
    while True:
        if i >= len(b) or shift > 63:
            raise ValueError("bad varint")
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return value, i


def _fields(b):
    """Yields (field number, value) of a protobuf message (no nesting)."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(b, i)
        elif wire == 1:
            value, i = b[i:i + 8], i + 8
        elif wire == 2:
            n, i = _varint(b, i)
            value, i = b[i:i + n], i + n
        elif wire == 5:
            value, i = b[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, value


def hello_address(frame_body):
    """The `address` of a server/raft_wire.proto Frame{hello}, or None."""
    try:
        for field, value in _fields(frame_body):
            if field == 2 and isinstance(value, bytes):  # Frame.hello
                for f, v in _fields(value):
                    if f == 2:  # Hello.address
                        return v.decode()
    except (ValueError, UnicodeDecodeError):
        pass
    return None


def loopback_ips(n):
    """n loopback addresses private to this process (tests run in parallel)."""
    pid = os.getpid()
    return ["127.%d.%d.%d" % (1 + (pid >> 8) % 250, pid & 0xFF, i + 1) for i in range(n)]


class _Conn:
    def __init__(self, src, dst, down, up):
        self.src, self.dst = src, dst
        self.down, self.up = down, up  # writers: toward the sender, toward the receiver

    def close(self):
        for w in (self.down, self.up):
            if w is not None:
                w.transport.abort()


class FaultNet:
    def __init__(self):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultnet", daemon=True)
        self._thread.start()
        self._servers = {}   # index -> (advertise ip, port)
        self._by_ip = {}     # advertise ip -> index
        self._listeners = {}
        self._cut = {}       # (src, dst) -> "drop" | "blackhole"
        self._conns = set()
        self.forwarded = {}  # (src, dst) -> bytes delivered
        self.unidentified = 0

    # --- set-up -----------------------------------------------------------

    def add(self, index, ip):
        """Names server `index` by its advertised ip (before it starts, so its
        first hello is recognised)."""
        async def add():
            self._by_ip[ip] = index
        self._call(add())

    def listen(self, index, ip, port):
        """Relays ip:port (server `index`'s advertised address) to 127.0.0.1:port."""
        self._call(self._listen(index, ip, port))

    async def _listen(self, index, ip, port):
        self._servers[index] = (ip, port)
        self._by_ip[ip] = index
        if index not in self._listeners:
            self._listeners[index] = await asyncio.start_server(
                lambda r, w: self._handle(index, r, w), ip, port, reuse_address=True)

    def close(self):
        async def shutdown():
            for s in self._listeners.values():
                s.close()
            for c in list(self._conns):
                c.close()
        self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # --- faults ------------------------------------------------------------

    def cut(self, src, dst, mode="drop"):
        """Stops src's frames from reaching dst (one direction)."""
        assert mode in ("drop", "blackhole")
        self._call(self._set_cut([(src, dst)], mode))

    def cut_both(self, a, b, mode="drop"):
        self._call(self._set_cut([(a, b), (b, a)], mode))

    def partition(self, *groups, mode="drop"):
        """Cuts every link between different groups; links inside a group stay."""
        links = [(a, b) for g in groups for h in groups if g is not h for a in g for b in h]
        self._call(self._set_cut(links, mode))

    def isolate(self, index, mode="drop"):
        others = [i for i in self._servers if i != index]
        self.partition([index], others, mode=mode)

    def heal(self):
        """Heals every link."""
        self._call(self._heal(list(self._cut)))

    def cut_links(self):
        return dict(self._cut)

    async def _set_cut(self, links, mode):
        for link in links:
            self._cut[link] = mode
        if mode == "drop":
            for c in [c for c in self._conns if (c.src, c.dst) in links]:
                c.close()

    async def _heal(self, links):
        for link in links:
            self._cut.pop(link, None)
        for c in [c for c in self._conns if (c.src, c.dst) in links]:
            c.close()

    # --- relaying ----------------------------------------------------------

    async def _handle(self, dst, reader, writer):
        conn = _Conn(None, dst, writer, None)
        self._conns.add(conn)
        try:
            header = await asyncio.wait_for(reader.readexactly(4), 30)
            n = int.from_bytes(header, "big")
            if n == 0 or n > _MAX_HELLO:
                return
            body = await asyncio.wait_for(reader.readexactly(n), 30)
            addr = hello_address(body)
            src = self._by_ip.get(addr.rsplit(":", 1)[0]) if addr else None
            if src is None:
                self.unidentified += 1
            conn.src = src
            link = (src, dst)
            mode = self._cut.get(link)
            if mode == "drop":
                # Close after a pause: the sender's connect succeeded, and
                # closing at once would have it reconnect in a tight loop.
                try:
                    await asyncio.wait_for(self._discard(reader, conn), 0.5)
                except asyncio.TimeoutError:
                    pass
                return
            if mode == "blackhole":
                await self._discard(reader, conn)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._servers[dst][1])
            except OSError:
                return  # the server is down: the sender sees the connection close
            conn.up = up_writer
            if self._cut.get(link):  # cut while we were connecting
                return
            up_writer.write(header + body)
            self.forwarded[link] = self.forwarded.get(link, 0) + len(header) + len(body)
            await asyncio.gather(self._pump(reader, up_writer, conn, link),
                                 self._pump(up_reader, writer, conn, None))
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, OSError):
            pass
        finally:
            self._conns.discard(conn)
            conn.close()

    async def _pump(self, reader, writer, conn, link):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                if link is not None and self._cut.get(link) == "blackhole":
                    await self._discard(reader, conn)
                    break
                writer.write(data)
                await writer.drain()
                if link is not None:
                    self.forwarded[link] = self.forwarded.get(link, 0) + len(data)
        except (ConnectionError, OSError):
            pass
        finally:
            # A blackholed connection stays open toward its sender until healed.
            if self._cut.get((conn.src, conn.dst)) != "blackhole":
                conn.close()

    async def _discard(self, reader, conn):
        """Reads and drops until the connection closes (heal closes it)."""
        if conn.up is not None:
            conn.up.transport.abort()  # the receiver must not see a stream with a hole
            conn.up = None
        while await reader.read(65536):
            pass

    def _call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)
