// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the event batch encoder (core/event-ring.*): any sequence of appends
// (types, codes, ids, payload sizes, control or data) and takes must give back, record for
// record, exactly what was appended and accepted, in order, each 8-byte aligned, never more
// bytes than the bound, and refuse data records only when the data share is full.
// Input: a list of ops; byte 0 of each op: 0xF0.. = take, else an append whose header comes from
// the next bytes and whose payload is the following `len` bytes of input.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/event-ring.h"

namespace {

struct Expected {
  uint8_t type, code;
  uint32_t conn;
  uint64_t t;
  std::vector<uint8_t> payload;
};

void Check(bool ok) {
  if (!ok) abort();
}

// Decodes a taken batch (the layout native/index.ts reads) and compares it with `want`.
void Verify(const uint8_t* buf, size_t len, std::vector<Expected>* want) {
  size_t at = 0;
  size_t i = 0;
  while (at < len) {
    Check(at + meshtap::kRecordHeaderBytes <= len);
    Check(i < want->size());
    const Expected& e = (*want)[i++];
    uint32_t conn, plen;
    uint64_t t;
    memcpy(&conn, buf + at + 4, 4);
    memcpy(&plen, buf + at + 8, 4);
    memcpy(&t, buf + at + 16, 8);
    Check(buf[at] == e.type && buf[at + 1] == e.code && conn == e.conn && t == e.t);
    Check(plen == e.payload.size());
    const size_t padded = (plen + 7) & ~static_cast<size_t>(7);
    Check(at + meshtap::kRecordHeaderBytes + padded <= len);
    Check(plen == 0 || memcmp(buf + at + meshtap::kRecordHeaderBytes, e.payload.data(), plen) == 0);
    for (size_t p = plen; p < padded; p++) Check(buf[at + meshtap::kRecordHeaderBytes + p] == 0);
    at += meshtap::kRecordHeaderBytes + padded;
  }
  Check(at == len && i == want->size());
  want->clear();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A small bound so that the fuzzer reaches "full" often (the reserve is 64 KiB, min cap 128 KiB).
  constexpr size_t kCap = 128 * 1024;
  meshtap::EventRing ring(kCap);
  std::vector<Expected> want;
  size_t used = 0;
  size_t pos = 0;
  uint64_t t = 1;
  while (pos < size) {
    const uint8_t op = data[pos++];
    if (op >= 0xF0) {
      size_t len = 0;
      uint8_t* buf = ring.Take(&len);
      Check((buf == nullptr) == (len == 0));
      Check(len == used);
      Verify(buf, len, &want);
      free(buf);
      used = 0;
      continue;
    }
    if (pos + 4 > size) break;
    const uint8_t code = data[pos];
    const uint32_t conn = static_cast<uint32_t>(data[pos + 1]) * 65599u + data[pos + 2];
    // Payload sizes up to ~16 KiB scaled from one byte, or the rest of the input.
    uint32_t plen = static_cast<uint32_t>(data[pos + 3]) * 64u;
    pos += 4;
    const bool is_control = (op & 1) != 0;
    const auto type = static_cast<meshtap::RecordType>(1 + op % 9);
    std::vector<uint8_t> payload(plen);
    for (uint32_t k = 0; k < plen; k++) payload[k] = pos < size ? data[pos++] : static_cast<uint8_t>(k);
    const size_t need = meshtap::kRecordHeaderBytes + ((plen + 7) & ~static_cast<size_t>(7));
    const bool fits = used + need <= (is_control ? kCap : kCap - 64 * 1024);
    const bool ok = ring.Append(type, code, conn, t, payload.data(), plen, is_control);
    Check(ok == fits);
    if (ok) {
      want.push_back({static_cast<uint8_t>(type), code, conn, t, std::move(payload)});
      used += need;
    }
    Check(ring.HasPending() == (used > 0));
    t++;
  }
  size_t len = 0;
  uint8_t* buf = ring.Take(&len);
  Verify(buf, len, &want);
  free(buf);
  return 0;
}
