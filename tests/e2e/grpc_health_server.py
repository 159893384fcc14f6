"""A real gRPC server (Debian's python3-grpcio, the C-core implementation)
serving the standard health service, grpc.health.v1.Health/Check, for tests
of Cairn's gRPC check. grpcio's own health module (grpcio-health-checking)
is not packaged in Debian 12, so the service is a generic handler and the two
tiny messages are encoded by hand here, independently of Cairn's protoc
output:

    HealthCheckRequest  { string service = 1; }
    HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN 0, SERVING 1,
                                                       NOT_SERVING 2

A service that is not in `statuses` gets NOT_FOUND, as the reference
implementation answers. Used in-process by test_health.py, and as a child
process by the C++ probe tests:

    grpc_health_server.py [--tls CERT KEY] [SERVICE=STATUS ...]

prints "port N" once it listens and serves until stdin closes.
"""
import sys
import threading
from concurrent import futures

import grpc

SERVING, NOT_SERVING = 1, 2
STATUS_NAMES = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2}


def decode_service(request):
    """The `service` field of a HealthCheckRequest (protobuf, by hand)."""
    i, service = 0, b""
    while i < len(request):
        key, i = _varint(request, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(request, i)
        elif wire == 2:
            n, i = _varint(request, i)
            if field == 1:
                service = request[i:i + n]
            i += n
        else:
            raise ValueError("unexpected wire type %d" % wire)
    return service.decode()


def _varint(b, i):
    shift = value = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def encode_response(status):
    return b"" if status == 0 else bytes([0x08, status])  # proto3 omits the default


class HealthServer:
    """statuses: service name -> ServingStatus; "" is the whole server."""

    def __init__(self, statuses=None, port=0, tls=None):
        self.statuses = dict(statuses if statuses is not None else {"": SERVING})
        self.lock = threading.Lock()
        self.calls = 0
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers((_Handler(self),))
        address = "127.0.0.1:%d" % port
        if tls:
            cert, key = tls
            with open(cert, "rb") as c, open(key, "rb") as k:
                creds = grpc.ssl_server_credentials([(k.read(), c.read())])
            self.port = self.server.add_secure_port(address, creds)
        else:
            self.port = self.server.add_insecure_port(address)
        if self.port == 0:
            raise RuntimeError("could not bind " + address)
        self.server.start()

    def set(self, service, status):
        with self.lock:
            self.statuses[service] = status

    def stop(self):
        self.server.stop(grace=None).wait(5)

    def _check(self, request, context):
        service = decode_service(request)
        with self.lock:
            self.calls += 1
            status = self.statuses.get(service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return encode_response(status)


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, owner):
        self.owner = owner

    def service(self, details):
        if details.method != "/grpc.health.v1.Health/Check":
            return None
        # No (de)serializers: the handler sees and returns raw message bytes.
        return grpc.unary_unary_rpc_method_handler(self.owner._check)


def main(argv):
    tls = None
    if argv[:1] == ["--tls"]:
        tls, argv = (argv[1], argv[2]), argv[3:]
    statuses = {}
    for arg in argv:
        name, _, status = arg.rpartition("=")
        statuses[name] = STATUS_NAMES[status]
    server = HealthServer(statuses, tls=tls)
    print("port %d" % server.port, flush=True)
    sys.stdin.read()  # serve until the parent closes our stdin (or dies)
    server.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
