// SPDX-License-Identifier: Apache-2.0
// The gRPC status a client would report when the server's own grpc-status is missing or
// unusable: proxy/h2/grpc-status.ts in C++, rule for rule (see that file for the sources: gRPC's
// PROTOCOL-HTTP2.md and http-grpc-status-mapping.md as grpc-go and grpc-js apply them). A tap
// that shows "no status" while every client logged INTERNAL or CANCELLED misleads, and counting
// such calls as successes hides outages.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace meshtap {

// gRPC status codes used here (grpc/status.proto).
constexpr int64_t kGrpcCancelled = 1;
constexpr int64_t kGrpcUnknown = 2;
constexpr int64_t kGrpcDeadlineExceeded = 4;
constexpr int64_t kGrpcPermissionDenied = 7;
constexpr int64_t kGrpcResourceExhausted = 8;
constexpr int64_t kGrpcUnimplemented = 12;
constexpr int64_t kGrpcInternal = 13;
constexpr int64_t kGrpcUnavailable = 14;
constexpr int64_t kGrpcUnauthenticated = 16;

// HTTP/2 error codes (RFC 9113 §7) that map to something other than INTERNAL.
constexpr uint32_t kH2RefusedStream = 0x7;
constexpr uint32_t kH2Cancel = 0x8;
constexpr uint32_t kH2EnhanceYourCalm = 0xb;
constexpr uint32_t kH2InadequateSecurity = 0xc;

// The status a client reports for a stream reset with HTTP/2 error `code`, `elapsed_ms` after
// the request was seen, when the request asked for `timeout_ms` (grpc-timeout). A CANCEL within
// max(50 ms, 5 % up to 1 s) of the timeout is the client's deadline (its clock started before ours, and a
// loaded client or sidecar adds tens of ms: grpc-status.ts deadlineToleranceMs).
int64_t GrpcStatusOfReset(uint32_t code, double elapsed_ms, std::optional<double> timeout_ms);

// The status a client reports for a response that ended without grpc-status (from :status).
int64_t GrpcStatusOfMissing(int http_status);

// A grpc-timeout value (`1*8DIGIT unit`, unit one of H M S m u n) in ms, computed as the js
// engine does (digits × the unit's ms as a double); nullopt when not well-formed.
std::optional<double> ParseGrpcTimeoutMs(const std::string& value);

// A grpc-status value: its code when it is 1..10 ASCII digits, else nullopt (malformed).
std::optional<int64_t> ParseGrpcStatus(const std::string& value);

}  // namespace meshtap
