// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the native HTTP/2 frame reader (core/h2-frames.cc). Any byte stream must:
// never crash, leak or read out of bounds; report frames no larger than the frame size limit, DATA
// bytes that add up to what each DATA frame announced (padding never shown), nothing after an
// error or a stop; and report exactly the same frames however the stream was split into chunks
// (whole, at pseudo-random points, one byte at a time): the split-point property of
// proxy/h2/observer-splits.test.ts.
// Input: byte 0 = options (bits 0-1: the frame size limit 16384 / 16777215 / 64 / 0; bits 2-4:
// stop after that many frames when non-zero, as an observer that gives up does), then the bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/h2-frames.h"

namespace meshtap {
namespace {

void Check(bool ok) {
  if (!ok) abort();
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; i++) {
    out += kDigits[p[i] >> 4];
    out += kDigits[p[i] & 15];
  }
  return out;
}

class LoggingHandler : public H2FrameHandler {
 public:
  LoggingHandler(uint32_t max_frame, int stop_after) : max_frame_(max_frame), stop_after_(stop_after) {}

  void OnFrame(uint8_t type, uint8_t flags, uint32_t stream, const uint8_t* p, size_t n) override {
    Event();
    Check(n <= max_frame_ && stream <= 0x7fffffffu);
    Check(type != h2::kFrameData);
    // Unknown types come without their payload; known ones with it (n bytes readable).
    Check(type > h2::kFrameContinuation ? p == nullptr : (p != nullptr || n == 0));
    log += "F " + std::to_string(type) + " " + std::to_string(flags) + " " + std::to_string(stream) + " " + std::to_string(n) + " " +
           (p != nullptr ? Hex(p, n) : "-") + "\n";
    MaybeStop();
  }
  void OnDataStart(uint8_t flags, uint32_t stream, size_t data_bytes) override {
    Event();
    Check(!in_data_ && data_bytes <= max_frame_);
    in_data_ = true;
    data_left_ = data_bytes;
    log += "DS " + std::to_string(flags) + " " + std::to_string(stream) + " " + std::to_string(data_bytes) + "\n";
    MaybeStop();
  }
  void OnData(uint32_t stream, const uint8_t* p, size_t n) override {
    Check(!stopped_ && in_data_ && n > 0 && n <= data_left_);
    data_left_ -= n;
    data_ += Hex(p, n);
  }
  void OnDataEnd(uint8_t flags, uint32_t stream) override {
    Event();
    Check(in_data_ && data_left_ == 0);
    in_data_ = false;
    log += "DE " + std::to_string(flags) + " " + std::to_string(stream) + "\n";
    MaybeStop();
  }
  void OnFrameError(const char* detail) override {
    Event();
    Check(reader_->IsStopped());
    stopped_ = true;
    log += std::string("ERR ") + detail + "\n";
  }
  // What the run ends with: any DATA bytes of an unfinished frame, and where the reader stands.
  std::string Finish() {
    Flush();
    return log + (reader_->IsAtFrameBoundary() ? "boundary\n" : "partial\n");
  }

  std::string log;
  H2FrameReader* reader_ = nullptr;

 private:
  void Event() {
    Check(!stopped_);
    Flush();
  }
  // Data parts are joined: how they were cut depends on the chunking, the bytes do not.
  void Flush() {
    if (data_.empty()) return;
    log += "D " + data_ + "\n";
    data_.clear();
  }
  void MaybeStop() {
    if (stop_after_ > 0 && ++events_ == stop_after_) {
      reader_->Stop();
      stopped_ = true;
      log += "stop\n";
    }
  }

  const uint32_t max_frame_;
  const int stop_after_;
  int events_ = 0;
  bool stopped_ = false;
  bool in_data_ = false;
  size_t data_left_ = 0;
  std::string data_;
};

enum class Mode { kWhole, kSplit, kBytes };

std::string Run(const uint8_t* p, size_t n, uint32_t max_frame, int stop_after, Mode mode) {
  LoggingHandler logging(max_frame, stop_after);
  H2FrameReader reader(&logging);
  logging.reader_ = &reader;
  reader.max_frame_size = max_frame;
  if (mode == Mode::kWhole) {
    reader.Push(p, n);
  } else if (mode == Mode::kBytes) {
    for (size_t i = 0; i < n; i++) reader.Push(p + i, 1);
  } else {
    // Cuts drawn from the input itself (deterministic), 1..31 bytes apart.
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < n; i++) seed = (seed ^ p[i]) * 16777619u;
    for (size_t at = 0; at < n;) {
      seed = seed * 1103515245u + 12345u;
      size_t k = 1 + (seed >> 16) % 31;
      if (k > n - at) k = n - at;
      reader.Push(p + at, k);
      at += k;
    }
  }
  return logging.Finish();
}

}  // namespace
}  // namespace meshtap

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace meshtap;
  if (size == 0) return 0;
  static const uint32_t kMaxFrame[] = {h2::kDefaultMaxFrameSize, h2::kMaxAllowedFrameSize, 64, 0};
  const uint32_t max_frame = kMaxFrame[data[0] & 3];
  const int stop_after = (data[0] >> 2) & 7;
  const std::string whole = Run(data + 1, size - 1, max_frame, stop_after, Mode::kWhole);
  Check(whole == Run(data + 1, size - 1, max_frame, stop_after, Mode::kSplit));
  if (size < 1024) Check(whole == Run(data + 1, size - 1, max_frame, stop_after, Mode::kBytes));
  return 0;
}
