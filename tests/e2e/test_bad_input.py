"""Every kind of bad input gets the right 4xx with a body that says what was
wrong, within a bounded time; the server stays up and the catalog unchanged."""
import socket
import time
import unittest

from cairn_agent import Agent


def raw(agent, data, timeout=10):
    s = socket.create_connection(("127.0.0.1", agent.port), timeout=timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        if len(body) >= int(line.split(b":")[1]):
                            return out
        return out
    finally:
        s.close()


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import os
        import tempfile
        cls.cfg_dir = tempfile.mkdtemp(prefix="cairn-e2e-cfg-")
        with open(os.path.join(cls.cfg_dir, "http.json"), "w") as f:
            f.write('{"http_config": {"read_timeout": "2s"}}')
        cls.agent = Agent(extra_args=["-config-dir", cls.cfg_dir]).start()
        status, _, _ = cls.agent.request("PUT", "/v1/agent/service/register", {"Name": "keep", "Port": 1})
        assert status == 200

    @classmethod
    def tearDownClass(cls):
        cls.agent.cleanup()
        import shutil
        shutil.rmtree(cls.cfg_dir, ignore_errors=True)

    def setUp(self):
        _, self.index_before = self.agent.get_json("/v1/catalog/services")

    def tearDown(self):
        # The server is up and the catalog unchanged by the bad request.
        services, index = self.agent.get_json("/v1/catalog/services")
        self.assertEqual(index, self.index_before)
        self.assertIn("keep", services)

    def put(self, path, body, **kw):
        return self.agent.request("PUT", path, body, **kw)

    def assert_error(self, result, status, *words):
        got_status, _, body = result
        self.assertEqual(got_status, status, body)
        for w in words:
            self.assertIn(w, body)

    def test_malformed_json(self):
        self.assert_error(self.put("/v1/agent/service/register", b'{"Name": "x",'), 400, "decode")
        self.assert_error(self.put("/v1/catalog/register", b"\xff\xfe garbage"), 400, "decode")
        self.assert_error(self.put("/v1/agent/service/register", b"[]"), 400, "object")

    def test_wrong_types(self):
        self.assert_error(self.put("/v1/agent/service/register", {"Name": 5}), 400, "Name")
        self.assert_error(self.put("/v1/agent/service/register", {"Name": "x", "Port": "80"}), 400, "Port")
        self.assert_error(self.put("/v1/agent/service/register", {"Name": "x", "Tags": [1]}), 400, "Tags")
        self.assert_error(self.put("/v1/agent/service/register", {"Name": "x", "Meta": {"a": 1}}), 400, "Meta")
        self.assert_error(self.put("/v1/agent/service/register", {"Name": "x", "Check": {"TTL": 5.5}}),
                          400, "TTL")
        self.assert_error(self.put("/v1/catalog/register", {"Node": "n", "Address": "a", "Service": []}),
                          400, "Service")

    def test_missing_required_fields(self):
        self.assert_error(self.put("/v1/agent/service/register", {"Port": 80}), 400, "Name")
        self.assert_error(self.put("/v1/catalog/register", {"Address": "1.2.3.4"}), 400, "Node")
        self.assert_error(self.put("/v1/catalog/register", {"Node": "n"}), 400, "Address")
        self.assert_error(self.put("/v1/catalog/deregister", {}), 400, "Node")
        self.assert_error(self.put("/v1/agent/check/register", {"TTL": "5s"}), 400, "name")
        self.assert_error(self.put("/v1/agent/check/update/x", {"Status": "sideways"}), 400, "status")

    def test_bad_values(self):
        self.assert_error(self.put("/v1/agent/service/register", {"Name": "x", "Port": 99999}), 400, "Port")
        self.assert_error(self.put("/v1/agent/service/register",
                                   {"Name": "x", "Check": {"HTTP": "ftp://x", "Interval": "1s"}}), 400, "HTTP")
        self.assert_error(self.put("/v1/agent/service/register",
                                   {"Name": "x", "Check": {"TTL": "ages"}}), 400, "TTL")
        self.assert_error(self.agent.request("GET", "/v1/catalog/services?index=x"), 400, "index")
        self.assert_error(self.agent.request("GET", "/v1/catalog/services?index=1&wait=zz"), 400, "wait")

    def test_oversized_body(self):
        big = b'{"Name":"x","Meta":{"k":"' + b"a" * (2 << 20) + b'"}}'
        try:
            result = self.put("/v1/agent/service/register", big)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer 413 and close before the client has sent
            # everything; read the answer with a raw socket instead.
            result = None
        if result is not None:
            self.assert_error(result, 413, "too large")
        out = raw(self.agent, b"PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 5000000\r\n\r\n{")
        self.assertTrue(out.startswith(b"HTTP/1.1 413"), out[:200])

    def test_unknown_paths_and_wrong_methods(self):
        self.assert_error(self.agent.request("GET", "/v1/nope"), 404, "not a recognized")
        self.assert_error(self.agent.request("GET", "/"), 404)
        self.assert_error(self.agent.request("POST", "/v1/agent/service/register", b"{}"), 405, "PUT")
        self.assert_error(self.agent.request("DELETE", "/v1/catalog/services"), 405, "GET")
        self.assert_error(self.agent.request("GET", "/v1/agent/service/register"), 405)
        self.assert_error(self.put("/v1/agent/service/deregister/nope", None), 404, "nope")

    def test_garbage_on_the_wire(self):
        out = raw(self.agent, b"\x00\x01\x02 NOT HTTP AT ALL\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:100])
        out = raw(self.agent, b"GET /v1/x%zz HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:100])
        out = raw(self.agent, b"GET / HTTP/1.1\r\nX: " + b"a" * 100000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:100])

    def test_slow_client_gets_408_in_bounded_time(self):
        start = time.monotonic()
        out = raw(self.agent, b"PUT /v1/agent/service/register HTTP/1.1\r\nHost: x\r\n"
                              b"Content-Length: 100\r\n\r\n{\"Na", timeout=30)
        took = time.monotonic() - start
        self.assertTrue(out.startswith(b"HTTP/1.1 408"), out[:100])
        self.assertLess(took, 6)

    def test_stalled_headers_are_cut_off(self):
        start = time.monotonic()
        out = raw(self.agent, b"GET /v1/catalog/services HTTP/1.1\r\nHost:", timeout=30)
        took = time.monotonic() - start
        self.assertTrue(out == b"" or out.startswith(b"HTTP/1.1 408"), out[:100])
        self.assertLess(took, 6)


if __name__ == "__main__":
    unittest.main()
