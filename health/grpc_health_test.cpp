// The gRPC health call's bytes and rules, without a connection. Expected
// bytes are written out by hand from the protobuf encoding, not produced by
// the code under test.
#include "health/grpc_health.hpp"

#include <gtest/gtest.h>

namespace cairn::health::grpc {
namespace {

using registry::HealthStatus;
using namespace std::string_literals;

TEST(GrpcTarget, HostPortAndService) {
  auto t = parseTarget("127.0.0.1:50051");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, "50051");
  EXPECT_EQ(t->service, "");
  t = parseTarget("[::1]:9/pkg.v1.Users/extra");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, "9");
  EXPECT_EQ(t->service, "pkg.v1.Users/extra") << "the service is everything after the first /";
  EXPECT_FALSE(parseTarget("localhost"));
  EXPECT_FALSE(parseTarget(":80/x"));
  EXPECT_FALSE(parseTarget("host:/x"));
}

TEST(GrpcRequest, LengthPrefixedHealthCheckRequest) {
  // flag 0, length 5, then field 1 (wire type 2) "web" = 0a 03 'w' 'e' 'b'.
  EXPECT_EQ(encodeRequest("web"), "\x00\x00\x00\x00\x05\x0a\x03web"s);
  // The empty service is proto3's default: an empty message.
  EXPECT_EQ(encodeRequest(""), "\x00\x00\x00\x00\x00"s);
  std::string longName(300, 's');
  std::string framed = encodeRequest(longName);
  // 300 = varint ac 02; message is 1 + 2 + 300 = 303 = 0x012f bytes.
  EXPECT_EQ(framed.substr(0, 8), "\x00\x00\x00\x01\x2f\x0a\xac\x02"s);
  EXPECT_EQ(framed.size(), 5u + 303u);
}

TEST(GrpcResponse, DecodesServingStatus) {
  EXPECT_EQ(*decodeResponse("\x00\x00\x00\x00\x02\x08\x01"s), kServing);
  EXPECT_EQ(*decodeResponse("\x00\x00\x00\x00\x02\x08\x02"s), kNotServing);
  // status 0 (UNKNOWN) is proto3's default and is sent as an empty message.
  EXPECT_EQ(*decodeResponse("\x00\x00\x00\x00\x00"s), kUnknown);
  // Unknown fields are skipped, as protobuf requires.
  EXPECT_EQ(*decodeResponse("\x00\x00\x00\x00\x05\x12\x01x\x08\x01"s), kServing);
}

TEST(GrpcResponse, RefusesMalformedBodies) {
  auto err = [](const std::string& body) {
    auto r = decodeResponse(body);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err(""), "no response message");
  EXPECT_EQ(err("\x00\x00\x00"s), "truncated response message");
  EXPECT_EQ(err("\x00\x00\x00\x00\x03\x08\x01"s), "truncated response message");
  EXPECT_EQ(err("\x00\x00\x00\x00\x02\x08\x01\x00"s), "more than one response message");
  EXPECT_NE(err("\x01\x00\x00\x00\x02\x08\x01"s).find("compressed"), std::string::npos);
  EXPECT_NE(err("\x00\x00\x00\x00\x02\x08\xff"s).find("does not parse"), std::string::npos);
  // A length near 4 GiB is not trusted: the body is what it is.
  EXPECT_EQ(err("\x00\xff\xff\xff\xff\x08\x01"s), "truncated response message");
}

TEST(GrpcNames, CodesStatusesAndMessages) {
  EXPECT_EQ(codeName(14), "Unavailable");
  EXPECT_EQ(codeName(5), "NotFound");
  EXPECT_EQ(codeName(16), "Unauthenticated");
  EXPECT_EQ(codeName(17), "Code(17)");
  EXPECT_EQ(servingStatusName(2), "NOT_SERVING");
  EXPECT_EQ(servingStatusName(7), "7");
  EXPECT_EQ(percentDecode("unknown%20service%3A x"), "unknown service: x");
  EXPECT_EQ(percentDecode("100%"), "100%");
  EXPECT_EQ(percentDecode("%zz%4"), "%zz%4");
}

Reply okReply(std::string body) {
  Reply r;
  r.httpStatus = 200;
  r.contentType = "application/grpc";
  r.grpcStatus = "0";
  r.body = std::move(body);
  return r;
}

TEST(GrpcVerdict, ServingIsPassingAndEverythingElseCritical) {
  auto v = verdict("h:1/web", okReply("\x00\x00\x00\x00\x02\x08\x01"s));
  EXPECT_EQ(v.status, HealthStatus::kPassing);
  EXPECT_EQ(v.output, "gRPC check h:1/web: success");

  v = verdict("h:1/web", okReply("\x00\x00\x00\x00\x02\x08\x02"s));
  EXPECT_EQ(v.status, HealthStatus::kCritical);
  EXPECT_EQ(v.output, "gRPC check h:1/web: serving status NOT_SERVING");

  v = verdict("h:1", okReply("\x00\x00\x00\x00\x00"s));
  EXPECT_EQ(v.output, "gRPC check h:1: serving status UNKNOWN");

  // Trailers-only error response: no body, grpc-status in the headers.
  Reply notFound = okReply("");
  notFound.grpcStatus = "5";
  notFound.grpcMessage = "unknown%20service";
  v = verdict("h:1/nope", notFound);
  EXPECT_EQ(v.status, HealthStatus::kCritical);
  EXPECT_EQ(v.output, "gRPC check h:1/nope: rpc error: code = NotFound desc = unknown service");

  // A SERVING message does not outweigh a failed status.
  Reply failedAfterBody = okReply("\x00\x00\x00\x00\x02\x08\x01"s);
  failedAfterBody.grpcStatus = "13";
  EXPECT_EQ(verdict("h:1", failedAfterBody).status, HealthStatus::kCritical);
}

TEST(GrpcVerdict, TransportProblemsAreCriticalWithAReason) {
  auto out = [](const Reply& r) {
    auto v = verdict("h:1", r);
    EXPECT_EQ(v.status, HealthStatus::kCritical);
    return v.output;
  };
  Reply r = okReply("\x00\x00\x00\x00\x02\x08\x01"s);
  r.grpcStatus.reset();
  EXPECT_EQ(out(r), "gRPC check h:1: the response ended without a grpc-status trailer");
  r.resetCode = 2;
  EXPECT_EQ(out(r), "gRPC check h:1: stream reset by the server (HTTP/2 error code 2)");

  r = okReply("\x00\x00\x00\x00\x02\x08\x01"s);
  r.httpStatus = 404;
  EXPECT_EQ(out(r), "gRPC check h:1: unexpected HTTP status 404 from the server");

  r = okReply("\x00\x00\x00\x00\x02\x08\x01"s);
  r.contentType = "text/html";
  EXPECT_NE(out(r).find("not a gRPC server"), std::string::npos);

  r = okReply("\x00\x00\x00\x00\x02\x08\x01"s);
  r.grpcStatus = "zero";
  EXPECT_EQ(out(r), "gRPC check h:1: malformed grpc-status \"zero\"");

  EXPECT_EQ(out(Reply{}), "gRPC check h:1: the server closed the stream without a response");
  // grpc-go's content types with a suffix are gRPC too.
  r = okReply("\x00\x00\x00\x00\x02\x08\x01"s);
  r.contentType = "application/grpc+proto";
  EXPECT_EQ(verdict("h:1", r).status, HealthStatus::kPassing);
}

}  // namespace
}  // namespace cairn::health::grpc
