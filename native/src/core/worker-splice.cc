// SPDX-License-Identifier: Apache-2.0
// The worker's splice(2) path: socket -> pooled pipe -> socket, for bytes nobody reads in user
// space:
//  - a connection nobody observes (opaque TCP after detection, given up, --observe none) or an
//    HTTP/1 body that runs until close: once a plain read filled the whole 64 KiB buffer (a
//    stream that keeps buffers full: haproxy's "fast streamer" idea), until one splice moves less
//    than kStreamingMinBytes (the stream went interactive);
//  - an HTTP/1 body of known remaining length that no tap and no recorder captures
//    (ObservationDriver::Skippable), when at least kBodyMinBytes remain: exactly that many bytes
//    are spliced (never past the body into the next head), then the observer is told (Skipped).
// Why thresholds: NATIVE.md measured splice no cheaper than read/write for runs of 64 KiB or less
// and 17-29 % cheaper for long runs; see docs/decisions.md for this engine's numbers. Pipes come
// from the worker's bounded pool (pipe-pool.h) and go back the moment they are empty.
#include <cerrno>
#include <cstdint>
#include <fcntl.h>

#include "worker.h"

namespace meshtap {
namespace {

// A splice that moved less than this ends the streaming run (read/write again).
constexpr size_t kStreamingMinBytes = 16 * 1024;
// Fewer known body bytes left than this are read, not spliced (haproxy's threshold: 4 KiB).
constexpr uint64_t kBodyMinBytes = 4 * 1024;

}  // namespace

size_t Worker::SpliceLimit(Conn* c, bool from_client) const {
  if (c->cannot_splice || shared_->config.max_pipes == 0) return 0;
  const int dir = from_client ? 0 : 1;
  const uint64_t skippable = c->is_observed && c->obs ? c->obs->Skippable(from_client) : UINT64_MAX;
  if (skippable == UINT64_MAX) return c->is_streaming[dir] ? PipePool::kPipeBytes : 0;
  if (skippable < kBodyMinBytes) return 0;
  return skippable < PipePool::kPipeBytes ? static_cast<size_t>(skippable) : PipePool::kPipeBytes;
}

Worker::SpliceIn Worker::SpliceFromSocket(Conn* c, bool from_client, size_t limit) {
  const int dir = from_client ? 0 : 1;
  Peer& from = from_client ? c->client : c->upstream;
  Pipe& pipe = c->pipe[dir];
  if (!pipe.IsOpen() && !pipes_.Borrow(&pipe)) {
    c->is_streaming[dir] = false;
    if (!c->was_pipe_denied[dir]) {
      c->was_pipe_denied[dir] = true;
      Count(kRecBoundHit, 0, "pipe-pool");
    }
    return SpliceIn::kFallback;
  }
  // The pipe is empty here (pipe_fill == 0), so EAGAIN can only mean "the socket is empty".
  ssize_t n;
  do {
    n = splice(from.fd.Get(), nullptr, pipe.wr.Get(), nullptr, limit, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    const int err = n < 0 ? errno : 0;
    pipes_.Return(&pipe);
    if (n == 0) {
      from.has_eof = true;
      if (c->obs) {
        FlushObservations();
        c->obs->End(from_client, MonotonicNs());
      }
      return SpliceIn::kEof;
    }
    if (err == EAGAIN) {
      from.is_readable = false;
      return SpliceIn::kSocketEmpty;
    }
    if (err == EINVAL || err == ENOSYS || err == EOPNOTSUPP) {
      c->cannot_splice = true;  // not a splice-able pair: read/write for its whole life
      return SpliceIn::kFallback;
    }
    Fail(c, from_client, err);
    return SpliceIn::kFailed;
  }
  const size_t got = static_cast<size_t>(n);
  c->pipe_fill[dir] = got;
  c->last_active_ns = MonotonicNs();
  (from_client ? c->src : c->dst)->read_bytes.fetch_add(got, std::memory_order_relaxed);
  (from_client ? c->dst : c->src)->write_bytes.fetch_add(got, std::memory_order_relaxed);
  shared_->counters.spliced_bytes.fetch_add(got, std::memory_order_relaxed);
  if (got < kStreamingMinBytes) c->is_streaming[dir] = false;
  // Body bytes the observer let go by unseen: it counts them and may end the message here.
  if (c->is_observed && c->obs) {
    FlushObservations();
    c->obs->Skipped(from_client, got, c->last_active_ns);
  }
  return SpliceIn::kMoved;
}

bool Worker::SpliceToSocket(Conn* c, bool from_client, bool* blocked) {
  const int dir = from_client ? 0 : 1;
  Peer& to = from_client ? c->upstream : c->client;
  ssize_t w;
  do {
    w = splice(c->pipe[dir].rd.Get(), nullptr, to.fd.Get(), nullptr, c->pipe_fill[dir], SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (w < 0 && errno == EINTR);
  if (w < 0) {
    // The pipe holds bytes (pipe_fill > 0), so EAGAIN means "the socket is full".
    if (errno == EAGAIN) {
      to.is_writable = false;
      *blocked = true;
      return true;
    }
    Fail(c, !from_client, errno);
    return false;
  }
  c->pipe_fill[dir] -= static_cast<size_t>(w);
  if (c->pipe_fill[dir] == 0) pipes_.Return(&c->pipe[dir]);
  return true;
}

void Worker::ReleasePipes(Conn* c) noexcept {
  for (int dir = 0; dir < 2; dir++) {
    // A pipe that still holds bytes cannot be reused; an empty one goes back.
    if (c->pipe_fill[dir] > 0) pipes_.Discard(&c->pipe[dir]);
    else pipes_.Return(&c->pipe[dir]);
    c->pipe_fill[dir] = 0;
  }
}

}  // namespace meshtap
