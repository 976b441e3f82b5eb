// SPDX-License-Identifier: Apache-2.0
// Observation after forwarding, per epoll pass. When several connections are ready at once (an
// HTTP/2 client and server each answer a batch on every connection within microseconds), the
// worker forwarded the first connection's read, observed it (HPACK, streams, the recorder: tens
// of microseconds for a batch of small requests), and only then forwarded the next one: each
// later connection's bytes waited for the observation of the ones before (measured under
// h2load -c4 -m32: 104 us median, 272 us p90 from the epoll return to a pass's later sends,
// 7 us to its first). The peers on the other CPU sit idle meanwhile. So a read is observed at the
// end of the pass instead: its bytes are copied into a bounded buffer (a copy of a few KiB costs
// far less than the observation it waits for) and handed to the observer in read order, with
// the read's own time. Anything else that asks an observer (end of stream, close, skipped bytes,
// deadlines, commands from JS) flushes first, so every observer sees exactly the calls, bytes and
// times it saw before, in the same order; how many bytes may be spliced is asked after what was
// read that same way is observed (HTTP/1's answer for one direction depends on that direction's
// bytes only; for HTTP/2 it is always 0).
//
// And the observation itself yields to forwarding (session 10): the end of a pass observes the
// held reads one at a time and, before each, polls epoll (timeout 0) and forwards whatever became
// ready meanwhile. Before, bytes that arrived while a pass was being observed (an HTTP/2 client's
// next batch on a connection whose responses were just forwarded) waited for all of it: p99 of
// the time between two epoll checks while the worker ran, 265-405 -> 186-207 us under h2load
// -c4 -m32 (docs/decisions.md, session 10, h2hop2).
#include <cstring>

#include "worker.h"

namespace meshtap {
namespace {

// What one pass may hold back: four full reads. A read that does not fit is observed at once,
// after what is held (the order stays).
constexpr size_t kDeferredBytes = 256 * 1024;
// And at most this many reads (tiny reads from many connections must not grow the list).
constexpr size_t kDeferredReads = 256;
// ObserveBetweenEvents: at most this many rounds of events served between observations per pass,
// and epoll asked again only when this long has passed since it was last asked.
constexpr int kInterleavedRounds = 64;
constexpr uint64_t kRecheckNs = 20000;

}  // namespace

void Worker::Observe(Conn* c, bool from_client, const uint8_t* p, size_t n, uint64_t now_ns) {
  if (deferred_fill_ + n > kDeferredBytes || deferred_.size() >= kDeferredReads) FlushObservations();
  if (n > kDeferredBytes || is_flushing_) {
    c->obs->Data(from_client, p, n, now_ns);
    return;
  }
  if (!deferred_bytes_) {
    deferred_bytes_.reset(new uint8_t[kDeferredBytes]);  // once per worker, on its first observed read
    deferred_.reserve(kDeferredReads);
  }
  deferred_.push_back(DeferredRead{c, from_client, deferred_fill_, n, now_ns});
  memcpy(deferred_bytes_.get() + deferred_fill_, p, n);
  deferred_fill_ += n;
  c->deferred_reads[from_client ? 0 : 1]++;
}

void Worker::FlushObservations() noexcept {
  if (is_flushing_) return;
  while (deferred_next_ < deferred_.size()) ObserveOne();
}

void Worker::ObserveOne() noexcept {
  if (is_flushing_ || deferred_next_ >= deferred_.size()) return;
  is_flushing_ = true;
  // ObservationDriver::Data never throws (it contains its own failures); Finish flushes before it
  // closes an observer, so every entry's connection is alive here.
  const DeferredRead& d = deferred_[deferred_next_++];
  d.conn->deferred_reads[d.from_client ? 0 : 1]--;
  if (d.conn->obs) d.conn->obs->Data(d.from_client, deferred_bytes_.get() + d.offset, d.len, d.read_ns);
  if (deferred_next_ == deferred_.size()) {
    deferred_.clear();
    deferred_next_ = 0;
    deferred_fill_ = 0;
  }
  is_flushing_ = false;
}

void Worker::ObserveBetweenEvents(epoll_event* events, uint64_t checked_ns, bool* stop) {
  // Rounds of events served this way before the rest is observed at once: reads that arrive
  // meanwhile are deferred too (bounded above), but a stream of events that defer nothing (a peer
  // draining what waited for it) must not hold back the observation and the pass's timers.
  int rounds = 0;
  while (deferred_next_ < deferred_.size() && !*stop && rounds < kInterleavedRounds) {
    // epoll is asked again only once observing has taken a while since it was last asked: a pass
    // of small reads (an HTTP/1 request each) is observed in a few microseconds, and a syscall
    // per read would cost it more than anything could wait meanwhile.
    const uint64_t now = MonotonicNs();
    if (now - checked_ns >= kRecheckNs) {
      checked_ns = now;
      const int n = epoll_wait(epfd_.Get(), events, kMaxEvents, 0);
      if (n > 0) {
        rounds++;
        HandleEvents(events, n, stop);
        continue;
      }
    }
    ObserveOne();
  }
  FlushObservations();
}

}  // namespace meshtap
