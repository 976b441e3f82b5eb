// SPDX-License-Identifier: Apache-2.0
#include "grpc-status.h"

#include <algorithm>

namespace meshtap {

int64_t GrpcStatusOfReset(uint32_t code, double elapsed_ms, std::optional<double> timeout_ms) {
  switch (code) {
    case kH2Cancel:
      // max(50 ms, 5 % up to 1 s): grpc-status.ts deadlineToleranceMs says why.
      if (timeout_ms && elapsed_ms + std::max(50.0, std::min(*timeout_ms * 0.05, 1000.0)) >= *timeout_ms) return kGrpcDeadlineExceeded;
      return kGrpcCancelled;
    case kH2RefusedStream:
      return kGrpcUnavailable;
    case kH2EnhanceYourCalm:
      return kGrpcResourceExhausted;
    case kH2InadequateSecurity:
      return kGrpcPermissionDenied;
    default:
      return kGrpcInternal;
  }
}

int64_t GrpcStatusOfMissing(int http_status) {
  switch (http_status) {
    case 200:
    case 400:
      return kGrpcInternal;
    case 401:
      return kGrpcUnauthenticated;
    case 403:
      return kGrpcPermissionDenied;
    case 404:
      return kGrpcUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return kGrpcUnavailable;
    default:
      return kGrpcUnknown;
  }
}

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The unit's length in ms, as grpc-status.ts's TIMEOUT_UNIT_MS table (the same doubles).
std::optional<double> TimeoutUnitMs(char unit) {
  switch (unit) {
    case 'H': return 3600000.0;
    case 'M': return 60000.0;
    case 'S': return 1000.0;
    case 'm': return 1.0;
    case 'u': return 0.001;
    case 'n': return 0.000001;
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<double> ParseGrpcTimeoutMs(const std::string& value) {
  const size_t n = value.size();
  if (n < 2 || n > 9) return std::nullopt;
  std::optional<double> unit = TimeoutUnitMs(value[n - 1]);
  if (!unit) return std::nullopt;
  double digits = 0;  // ≤ 8 digits: exact in a double, as Number(m[1]) is
  for (size_t i = 0; i + 1 < n; i++) {
    if (!IsDigit(value[i])) return std::nullopt;
    digits = digits * 10 + (value[i] - '0');
  }
  return digits * *unit;
}

std::optional<int64_t> ParseGrpcStatus(const std::string& value) {
  if (value.empty() || value.size() > 10) return std::nullopt;
  int64_t code = 0;
  for (char c : value) {
    if (!IsDigit(c)) return std::nullopt;
    code = code * 10 + (c - '0');
  }
  return code;
}

}  // namespace meshtap
