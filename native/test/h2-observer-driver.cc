// SPDX-License-Identifier: Apache-2.0
// Test driver for native/h2-observer.test.ts: plays HTTP/2 conversations (one operation per line,
// see that file) through the C++ H2Observer (frames, HPACK through libnghttp2, the stream side)
// and prints every sink call in the format the test prints for the js observer, so that the two
// can be compared exactly. Not part of the addon; built by the test with the system compiler.
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/h2-observer.h"
#include "h2-print-sink.h"

using namespace meshtap;

namespace {

using test::kNsPerMs;
using test::Unhex;

}  // namespace

int main() {
  std::string line;
  std::vector<std::string> out;
  test::PrintingSink sink(&out);
  std::unique_ptr<H2Observer> obs;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string op;
    in >> op;
    if (op == "begin") {
      // begin <max header bytes> <max streams> <max hpack table> <capture 0|1> <body limit>
      ObserverLimits limits;
      int capture = 0;
      in >> limits.max_header_bytes >> limits.max_streams >> limits.max_hpack_table_bytes >> capture >> limits.max_body_capture_bytes;
      sink.capture_mode = capture != 0 ? 1 : 0;
      sink.Clear();
      obs = std::make_unique<H2Observer>(&sink, limits);
    } else if (op == "c" || op == "s") {
      uint64_t ms = 0;
      std::string hex;
      in >> ms >> hex;
      const std::string bytes = Unhex(hex);
      const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
      if (op == "c") obs->ClientData(p, bytes.size(), ms * kNsPerMs);
      else obs->ServerData(p, bytes.size(), ms * kNsPerMs);
    } else if (op == "ce" || op == "se") {
      uint64_t ms = 0;
      in >> ms;
      if (op == "ce") obs->ClientEnd(ms * kNsPerMs);
      else obs->ServerEnd(ms * kNsPerMs);
    } else if (op == "close") {
      uint64_t ms = 0;
      std::string error;
      in >> ms >> error;
      obs->Close(error == "-" ? nullptr : error.c_str(), ms * kNsPerMs);
      obs.reset();
      out.push_back("DONE");
      for (const std::string& o : out) std::cout << o << "\n";
      std::cout.flush();
      out.clear();
    }
  }
  return 0;
}
