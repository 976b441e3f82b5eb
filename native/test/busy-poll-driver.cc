// SPDX-License-Identifier: Apache-2.0
// Test driver for native/busy-poll.test.ts: the first line is the poll bound in µs; each later
// line is one wait as "WAITED_US POLLED GOT_EVENTS" (0/1 flags) fed to BusyPoll::Update, and the
// driver prints the window (µs) after it, one line each. Not part of the addon; built by the test.
#include <cstdio>
#include <iostream>

#include "core/busy-poll.h"

int main() {
  unsigned long long max_us = 0;
  if (!(std::cin >> max_us)) return 2;
  meshtap::BusyPoll poll(max_us * 1000ull);
  std::printf("%d %llu\n", poll.IsEnabled() ? 1 : 0, static_cast<unsigned long long>(poll.WindowNs() / 1000));
  unsigned long long waited_us = 0;
  int polled = 0;
  int got = 0;
  while (std::cin >> waited_us >> polled >> got) {
    poll.Update(waited_us * 1000ull, polled != 0, got != 0);
    std::printf("%llu\n", static_cast<unsigned long long>(poll.WindowNs() / 1000));
  }
  return 0;
}
