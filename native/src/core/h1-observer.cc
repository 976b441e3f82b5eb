// SPDX-License-Identifier: Apache-2.0
#include "h1-observer.h"

#include <algorithm>

#include "h1-text.h"

namespace meshtap {
namespace {

GiveUpReason HeadGiveUp(int64_t code) {
  return code == kHeadTooLarge ? GiveUpReason::kH1HeaderTooLarge : code == kHeadBareLf ? GiveUpReason::kH1AmbiguousFraming : GiveUpReason::kH1Parse;
}

}  // namespace

H1Observer::H1Observer(H1ExchangeSink* sink, const ObserverLimits& limits)
    : sink_(sink),
      limits_(limits),
      req_head_(limits.max_header_bytes, false),
      req_body_(limits.max_header_bytes),
      rsp_head_(limits.max_header_bytes, false),
      rsp_body_(limits.max_header_bytes) {}

H1Observer::~H1Observer() = default;

std::string H1Observer::TakeH2cClientBytes() {
  std::string out;
  out.swap(h2c_client_bytes_);
  return out;
}

void H1Observer::OnBody(void* ctx, const uint8_t* p, size_t n) {
  auto* t = static_cast<BodyTarget*>(ctx);
  t->self->sink_->BodyData(t->p->ex, t->is_request, p, n);
}

// ---- entry points: each catches everything (an observer bug costs observation only) -------

void H1Observer::ClientData(const uint8_t* p, size_t n, uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    FeedClient(p, n);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal);
  }
  graveyard_.clear();
}

void H1Observer::ServerData(const uint8_t* p, size_t n, uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    FeedServer(p, n);
  } catch (...) {
    GiveUp(GiveUpReason::kInternal);
  }
  graveyard_.clear();
}

uint64_t H1Observer::SkippableBytes(bool from_client) const {
  if (is_dead_) return 0;
  if (from_client) return req_side_ == Side::kBody ? req_body_.Skippable() : 0;
  return rsp_side_ == Side::kBody ? rsp_body_.Skippable() : 0;
}

void H1Observer::Skipped(bool from_client, uint64_t n, uint64_t now_ns) {
  if (is_dead_ || n == 0) return;
  now_ns_ = now_ns;
  try {
    if (from_client && req_side_ == Side::kBody) {
      req_body_.Skip(n);
      req_current_->ex.request_bytes = req_body_.bytes;
      if (req_body_.IsDone()) RequestBodyDone(nullptr);
    } else if (!from_client && rsp_side_ == Side::kBody) {
      rsp_body_.Skip(n);
      if (rsp_current_ != nullptr) rsp_current_->ex.response_bytes = rsp_body_.bytes;
      if (rsp_body_.IsDone()) ResponseBodyDone();
    }
  } catch (...) {
    GiveUp(GiveUpReason::kInternal);
  }
  graveyard_.clear();
}

void H1Observer::ClientEnd(uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    Pending* p = req_current_;
    req_side_ = Side::kEnded;
    req_current_ = nullptr;
    req_head_.Reset();
    held_.clear();
    held_bytes_ = 0;
    held_by_ = nullptr;
    if (p != nullptr) {
      p->is_request_done = true;
      p->request_error = exchange_error::kClientClosed;
      if (p->is_response_done) Finish(p);
    }
  } catch (...) {
    GiveUp(GiveUpReason::kInternal);
  }
  graveyard_.clear();
}

void H1Observer::ServerEnd(uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  try {
    if (rsp_side_ == Side::kBody && rsp_body_.IsCloseDelimited()) {
      rsp_body_.FinishOnClose();
      ResponseBodyDone();
    }
    rsp_side_ = Side::kHead;
    rsp_current_ = nullptr;
    rsp_head_.Reset();
    if (req_side_ == Side::kHeld) {
      // The server left without deciding on the protocol switch; nothing more to follow.
      req_side_ = Side::kEnded;
      held_.clear();
      held_bytes_ = 0;
      held_by_ = nullptr;
    }
    // Whatever still waits for (the rest of) a response will never get it.
    std::vector<Pending*> open;
    for (auto& q : queue_) open.push_back(q.get());
    for (Pending* p : open) {
      if (!p->is_response_done) EndWithError(p, exchange_error::kUpstreamClosed);
    }
  } catch (...) {
    GiveUp(GiveUpReason::kInternal);
  }
  graveyard_.clear();
}

void H1Observer::Close(const char* error, uint64_t now_ns) {
  if (is_dead_) return;
  now_ns_ = now_ns;
  is_dead_ = true;
  EndAll(error != nullptr ? error : exchange_error::kConnectionClosed);
  Release();
  graveyard_.clear();
}

// ---- client side ---------------------------------------------------------------------------

void H1Observer::FeedClient(const uint8_t* chunk, size_t len) {
  size_t pos = 0;
  while (pos < len && !is_dead_) {
    if (req_side_ == Side::kHead) {
      const int64_t next = req_head_.Feed(chunk, len, pos);
      if (next == kHeadNeedMore) {
        if (!has_req_start_ && req_head_.IsStarted()) {
          has_req_start_ = true;
          req_start_ns_ = now_ns_;
        }
        return;
      }
      if (next < 0) return GiveUp(HeadGiveUp(next));
      if (!has_req_start_) {
        has_req_start_ = true;
        req_start_ns_ = now_ns_;
      }
      pos = static_cast<size_t>(next);
      OnRequestHead();
    } else if (req_side_ == Side::kBody) {
      BodyTarget target{this, req_current_, true};
      const int64_t next = req_body_.Feed(chunk, len, pos, &H1Observer::OnBody, &target);
      req_current_->ex.request_bytes = req_body_.bytes;
      if (next == kBodyNeedMore) return;
      if (next == kBodyError) return GiveUp(req_body_.error);
      pos = static_cast<size_t>(next);
      RequestBodyDone(nullptr);
    } else if (req_side_ == Side::kHeld) {
      return Hold(chunk + pos, len - pos);
    } else {
      return;  // kEnded
    }
  }
}

void H1Observer::OnRequestHead() {
  // Bound on pipelined exchanges held in memory (each keeps its headers).
  if (queue_.size() >= limits_.max_streams) return GiveUp(GiveUpReason::kH1TooManyPipelined);
  meshtap::RequestHead parsed;
  GiveUpReason error = GiveUpReason::kH1Parse;
  Framing framing;
  if (!ParseRequestHead(req_head_.head, &parsed, &error) || !RequestFraming(parsed.facts, parsed.minor, &framing, &error)) return GiveUp(error);
  auto owned = std::make_unique<Pending>();
  Pending* p = owned.get();
  H1Exchange& ex = p->ex;
  ex.stream = ++seq_;
  ex.is_http10 = parsed.minor == 0;
  ex.start_ns = req_start_ns_;
  ResolveRequestTarget(parsed.method, parsed.target, parsed.facts.host, &ex.scheme, &ex.authority);
  ex.method = std::move(parsed.method);
  ex.path = std::move(parsed.target);
  ex.request_head.swap(req_head_.head);
  has_req_start_ = false;
  p->is_head = ex.method == "HEAD";
  p->is_connect = ex.method == "CONNECT";
  p->may_upgrade = p->is_connect || parsed.facts.has_upgrade;
  p->upgrade = std::move(parsed.facts.upgrade);
  queue_.push_back(std::move(owned));
  sink_->RequestHead(ex);
  if (is_dead_) return;
  req_body_.Start(framing, ex.capture_bodies ? limits_.max_body_capture_bytes : 0);
  if (req_body_.IsDone()) {
    RequestBodyDone(p);
  } else {
    req_current_ = p;
    req_side_ = Side::kBody;
  }
}

void H1Observer::RequestBodyDone(Pending* done) {
  Pending* p = done != nullptr ? done : req_current_;
  req_current_ = nullptr;
  p->ex.request_trailers = req_body_.trailers;
  p->is_request_done = true;
  if (p->may_upgrade) {
    req_side_ = Side::kHeld;
    held_by_ = p;
  } else {
    req_side_ = Side::kHead;
  }
  if (p->is_response_done) Finish(p);
}

void H1Observer::Hold(const uint8_t* p, size_t n) {
  // Bounded like a head: a peer that switches protocols waits for the answer first.
  if (held_bytes_ + n > limits_.max_header_bytes) return GiveUp(GiveUpReason::kH1HeaderTooLarge);
  held_.emplace_back(reinterpret_cast<const char*>(p), n);
  held_bytes_ += n;
}

// The held request did not switch protocols: go on reading HTTP/1 from the held bytes.
void H1Observer::Unhold() {
  std::vector<std::string> held;
  held.swap(held_);
  held_bytes_ = 0;
  held_by_ = nullptr;
  req_side_ = Side::kHead;
  for (const std::string& bytes : held) {
    if (is_dead_) return;
    FeedClient(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
}

// ---- server side ---------------------------------------------------------------------------

void H1Observer::FeedServer(const uint8_t* chunk, size_t len) {
  size_t pos = 0;
  while (pos < len && !is_dead_) {
    if (rsp_side_ == Side::kHead) {
      const int64_t next = rsp_head_.Feed(chunk, len, pos);
      if (next == kHeadNeedMore) return;
      if (next < 0) return GiveUp(HeadGiveUp(next));
      pos = static_cast<size_t>(next);
      OnResponseHead();
      // Switched to h2c: the rest of this chunk is the server's first HTTP/2 frames.
      if (is_h2c_) {
        h2c_server_from_ = pos;
        return;
      }
    } else {
      BodyTarget target{this, rsp_current_, false};
      const int64_t next = rsp_body_.Feed(chunk, len, pos, &H1Observer::OnBody, &target);
      if (rsp_current_ != nullptr) rsp_current_->ex.response_bytes = rsp_body_.bytes;
      if (next == kBodyNeedMore) return;
      if (next == kBodyError) return GiveUp(rsp_body_.error);
      pos = static_cast<size_t>(next);
      ResponseBodyDone();
    }
  }
}

H1Observer::Pending* H1Observer::FirstAwaitingResponse() {
  for (auto& q : queue_) {
    if (!q->is_response_done) return q.get();
  }
  return nullptr;
}

void H1Observer::OnResponseHead() {
  // A response with no request waiting (e.g. a 408 before closing) is read and dropped.
  Pending* p = FirstAwaitingResponse();
  meshtap::ResponseHead rsp;
  GiveUpReason error = GiveUpReason::kH1Parse;
  if (!ParseResponseHead(rsp_head_.head, &rsp, &error)) return GiveUp(error);
  const int status = rsp.status;
  // 101, and a 2xx to CONNECT, switch protocols; other 1xx are interim (skipped).
  if (status == 101) return SwitchProtocols(p, status, rsp);
  if (status < 200) return;
  if (p != nullptr && p->is_connect && status < 300) return SwitchProtocols(p, status, rsp);
  Framing framing;
  if ((p != nullptr && p->is_head) || status == 204 || status == 304) {
    framing.kind = Framing::kNone;
  } else if (!ResponseFraming(rsp.facts, rsp.minor, &framing, &error)) {
    return GiveUp(error);
  }
  if (p != nullptr) {
    ReportResponseHead(p, status);
    if (is_dead_) return;
  }
  rsp_body_.Start(framing, p != nullptr && p->ex.capture_bodies ? limits_.max_body_capture_bytes : 0);
  rsp_current_ = p;
  if (rsp_body_.IsDone()) ResponseBodyDone();
  else rsp_side_ = Side::kBody;
  if (p != nullptr && p == held_by_ && !is_dead_) Unhold();
  else if (p != nullptr) p->may_upgrade = false;
}

void H1Observer::ReportResponseHead(Pending* p, int status) {
  p->ex.status = status;
  p->ex.response_head = rsp_head_.head;
  p->ex.response_ns = now_ns_;
  sink_->ResponseHead(p->ex);
}

void H1Observer::ResponseBodyDone() {
  Pending* p = rsp_current_;
  rsp_current_ = nullptr;
  rsp_side_ = Side::kHead;
  if (p == nullptr) return;
  p->ex.response_bytes = rsp_body_.bytes;
  p->ex.trailers = rsp_body_.trailers;
  p->is_response_done = true;
  p->ex.response_complete = true;
  if (p->is_request_done) Finish(p);
}

// 101, or 2xx to CONNECT: report and end that exchange, then the connection is opaque — except
// a 101 to h2c (RFC 7540 §3.2), which continues as HTTP/2 with the upgrade request as stream 1.
void H1Observer::SwitchProtocols(Pending* p, int status, const ResponseHead& rsp) {
  if (p != nullptr && p == held_by_ && !p->is_connect && UpgradesToH2c(rsp.facts.upgrade) && UpgradesToH2c(p->upgrade)) {
    return SwitchToH2c(p);
  }
  if (p != nullptr) {
    ReportResponseHead(p, status);
    if (is_dead_) return;
    p->is_response_done = true;
    p->ex.response_complete = true;
    p->is_request_done = true;
    Finish(p);
  }
  if (is_dead_) return;
  is_dead_ = true;
  EndAll(exchange_error::kUpgraded);
  Release();
  sink_->Upgraded();
}

void H1Observer::SwitchToH2c(Pending* p) {
  for (const std::string& bytes : held_) h2c_client_bytes_ += bytes;
  Bury(p);
  // Requests pipelined after the upgrade request cannot be (the client waits for the 101).
  EndAll(exchange_error::kUpgraded);
  Release();
  is_dead_ = true;
  is_h2c_ = true;
  sink_->SwitchedToH2c(p->ex);
}

// ---- ending --------------------------------------------------------------------------------

void H1Observer::Bury(Pending* p) {
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->get() == p) {
      graveyard_.push_back(std::move(*it));
      queue_.erase(it);
      return;
    }
  }
}

void H1Observer::Finish(Pending* p) {
  Bury(p);
  if (req_current_ == p) {
    // Ended before its request body (the server left): the client side has nothing left to report.
    req_current_ = nullptr;
    req_side_ = Side::kEnded;
  }
  if (p->request_error != nullptr && p->ex.error == nullptr) p->ex.error = p->request_error;
  p->ex.end_ns = now_ns_;
  sink_->End(p->ex);
}

void H1Observer::EndWithError(Pending* p, const char* error) {
  p->ex.error = error;
  Finish(p);
}

void H1Observer::EndAll(const char* error) {
  std::vector<std::unique_ptr<Pending>> open;
  open.swap(queue_);
  for (auto& p : open) {
    p->ex.error = error;
    p->ex.end_ns = now_ns_;
    sink_->End(p->ex);
  }
  for (auto& p : open) graveyard_.push_back(std::move(p));
}

void H1Observer::Release() {
  held_.clear();
  held_bytes_ = 0;
  held_by_ = nullptr;
  req_current_ = nullptr;
  rsp_current_ = nullptr;
  req_head_.Reset();
  rsp_head_.Reset();
}

void H1Observer::GiveUp(GiveUpReason reason) {
  if (is_dead_) return;
  is_dead_ = true;
  EndAll(exchange_error::kGaveUp);
  Release();
  sink_->GiveUp(reason);
}

}  // namespace meshtap
