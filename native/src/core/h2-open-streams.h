// SPDX-License-Identifier: Apache-2.0
// The open streams of one HTTP/2 connection by id, in id order (the stream tracker's table,
// h2-streams.h): (id, stream) entries sorted in one vector, the first live one at head_.
//
// Why not std::map: every DATA frame, response head and end looks its stream up, and with ~128
// streams open each lookup walked ~7 tree nodes spread over the heap, cold by the time the
// response came (3/4 of the tracker's response-head samples under h2load -c4 -m32, session 8),
// and every stream cost a node allocation and two rebalancings. Here a lookup is a binary search
// over contiguous memory. Client stream ids only grow, so a new stream goes last; streams mostly
// end oldest first, so the first entry leaves by moving head_ (no shift); one in the middle
// shifts the entries after it (at most max_streams, 16 bytes each). The dead prefix is dropped
// once it is half the vector, so memory stays within twice the open streams and an EndAll of
// 1000 streams stays linear.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace meshtap {

template <typename Ptr>
class SortedStreamTable {
 public:
  using Entry = std::pair<uint32_t, Ptr>;

  size_t size() const { return entries_.size() - head_; }
  bool empty() const { return size() == 0; }
  Entry* begin() { return entries_.data() + head_; }
  Entry* end() { return entries_.data() + entries_.size(); }

  // The entry of `id`, or end().
  Entry* find(uint32_t id) {
    Entry* it = lower_bound(id);
    return it != end() && it->first == id ? it : end();
  }
  // The first entry with an id above `id`, or end().
  Entry* upper_bound(uint32_t id) {
    return std::upper_bound(begin(), end(), id, [](uint32_t v, const Entry& e) { return v < e.first; });
  }
  // Adds `id`, which is not held (an id above every held one goes last without a search).
  void insert(uint32_t id, Ptr p) {
    if (empty() || end()[-1].first < id) {
      entries_.emplace_back(id, std::move(p));
    } else {
      const size_t at = static_cast<size_t>(lower_bound(id) - entries_.data());
      entries_.emplace(entries_.begin() + static_cast<std::ptrdiff_t>(at), id, std::move(p));
    }
  }
  // Removes entry `e` (from find, begin or upper_bound); its pointer is dropped with it.
  void erase(Entry* e) {
    if (e == begin()) {
      e->second = Ptr();
      head_++;
      if (head_ == entries_.size()) {
        entries_.clear();
        head_ = 0;
      } else if (head_ * 2 >= entries_.size()) {
        entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
      }
      return;
    }
    entries_.erase(entries_.begin() + (e - entries_.data()));
  }

 private:
  Entry* lower_bound(uint32_t id) {
    return std::lower_bound(begin(), end(), id, [](const Entry& e, uint32_t v) { return e.first < v; });
  }

  std::vector<Entry> entries_;
  size_t head_ = 0;  // entries before it are gone (their pointers already empty)
};

}  // namespace meshtap
