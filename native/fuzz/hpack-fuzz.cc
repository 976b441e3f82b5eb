// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the native HPACK path (core/h2-hpack.cc: libnghttp2's inflater with the js
// decoder's rules on top). Any sequence of header blocks and SETTINGS_HEADER_TABLE_SIZE changes
// must: never crash, leak or read out of bounds; return decoded lists within the header-list
// bound (name + value + 32 per field); stay failed once failed (errors are sticky, as HPACK state
// is lost); decode the same whatever other decoder instances did (no shared state: the symbol
// trap would show here as nghttp2 state shared with another copy); and round-trip: what decoded
// fine, re-encoded by nghttp2's deflater, decodes to the same list again.
// Input: byte 0 = options (bits 0-1: header-list limit 65536 / 4096 / 200 / 40; bits 2-3: table
// limit 65536 / 0 / 4096 / 100), then ops: 0xf0 + 4 bytes = SetAllowedTableSize(big-endian
// value), any other byte = a block whose length is the next byte (then that many bytes), 0xf1 +
// 2 bytes = a block of that (big-endian) length.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/h2-hpack.h"

namespace meshtap {
namespace {

void Check(bool ok) {
  if (!ok) abort();
}

struct Op {
  bool is_settings;
  uint32_t value;
  std::string block;
};

std::string Log(const H2FieldList& fields) {
  std::string out;
  for (const H2Field& f : fields) out += f.name + ": " + f.value + "\n";
  return out;
}

// Every block, and each result, in order.
std::string Run(const std::vector<Op>& ops, size_t max_list, size_t max_table, std::vector<H2FieldList>* ok_lists) {
  HpackDecoder decoder(max_list, max_table);
  std::string log;
  bool failed = false;
  for (const Op& op : ops) {
    if (op.is_settings) {
      decoder.SetAllowedTableSize(op.value);
      continue;
    }
    H2FieldList fields;
    const HpackResult r = decoder.Decode(reinterpret_cast<const uint8_t*>(op.block.data()), op.block.size(), &fields);
    if (failed) Check(r != HpackResult::kOk);
    if (r != HpackResult::kOk) {
      failed = true;
      log += r == HpackResult::kTooLarge ? "too-large\n" : "hpack\n";
      continue;
    }
    size_t bytes = 0;
    for (const H2Field& f : fields) bytes += f.name.size() + f.value.size() + 32;
    Check(bytes <= max_list);
    log += Log(fields) + "--\n";
    if (ok_lists != nullptr) ok_lists->push_back(std::move(fields));
  }
  return log;
}

// Re-encodes the lists with nghttp2's deflater and decodes them with a fresh decoder.
void RoundTrip(const std::vector<H2FieldList>& lists) {
  nghttp2_hd_deflater* deflater = nullptr;
  Check(nghttp2_hd_deflate_new(&deflater, 4096) == 0);
  HpackDecoder decoder(SIZE_MAX, 4096);
  for (const H2FieldList& list : lists) {
    std::vector<nghttp2_nv> nva;
    for (const H2Field& f : list) {
      nva.push_back(nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(f.name.data())), reinterpret_cast<uint8_t*>(const_cast<char*>(f.value.data())),
                               f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
    }
    std::vector<uint8_t> buf(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()));
    const ssize_t n = nghttp2_hd_deflate_hd(deflater, buf.data(), buf.size(), nva.data(), nva.size());
    Check(n >= 0);
    H2FieldList again;
    Check(decoder.Decode(buf.data(), static_cast<size_t>(n), &again) == HpackResult::kOk);
    Check(Log(again) == Log(list));
  }
  nghttp2_hd_deflate_del(deflater);
}

}  // namespace
}  // namespace meshtap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshtap;
  if (size == 0) return 0;
  static const size_t kLists[] = {65536, 4096, 200, 40};
  static const size_t kTables[] = {65536, 0, 4096, 100};
  const size_t max_list = kLists[data[0] & 3];
  const size_t max_table = kTables[(data[0] >> 2) & 3];
  std::vector<Op> ops;
  for (size_t i = 1; i < size;) {
    const uint8_t op = data[i++];
    if (op == 0xf0) {
      uint32_t v = 0;
      for (int k = 0; k < 4 && i < size; k++) v = (v << 8) | data[i++];
      ops.push_back({true, v, std::string()});
      continue;
    }
    size_t want = 0;
    if (op == 0xf1) {
      for (int k = 0; k < 2 && i < size; k++) want = (want << 8) | data[i++];
    } else if (i < size) {
      want = data[i++];
    }
    const size_t n = want < size - i ? want : size - i;
    ops.push_back({false, 0, std::string(reinterpret_cast<const char*>(data + i), n)});
    i += n;
  }
  std::vector<H2FieldList> lists;
  const std::string first = Run(ops, max_list, max_table, &lists);
  // Interleaved with another decoder's work, the same (no state outside the instance).
  HpackDecoder other(max_list, max_table);
  H2FieldList scratch;
  if (!ops.empty() && !ops[0].is_settings) other.Decode(reinterpret_cast<const uint8_t*>(ops[0].block.data()), ops[0].block.size(), &scratch);
  Check(first == Run(ops, max_list, max_table, nullptr));
  RoundTrip(lists);
  return 0;
}
