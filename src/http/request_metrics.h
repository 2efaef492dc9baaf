// Requests answered by the router, counted by endpoint (the route table's entries, plus one slot
// for requests no route matched) and by status, for GET /metrics. The label sets are fixed: the
// routes and the statuses the API uses (others count as "other"), so counting is one relaxed
// atomic increment in a flat array, no lock and no allocation.
// Requests the session refuses before routing (413, an oversized or malformed request) are not
// counted here. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace cidrotor::http {

class RequestMetrics {
 public:
  // Statuses with a slot of their own; any other status counts in the last slot ("other").
  static constexpr std::array<std::uint16_t, 14> kStatuses{200, 201, 204, 400, 401, 404, 405,
                                                           409, 413, 415, 429, 500, 503, 0};

  // `endpoints` slots: one per route, and the last for unmatched requests.
  explicit RequestMetrics(std::size_t endpoints)
      : endpoints_(endpoints),
        counts_(std::make_unique<std::atomic<std::uint64_t>[]>(endpoints * kStatuses.size())) {}

  void Record(std::size_t endpoint, unsigned status) {
    counts_[endpoint * kStatuses.size() + StatusSlot(status)].fetch_add(1,
                                                                        std::memory_order_relaxed);
  }

  std::uint64_t Count(std::size_t endpoint, std::size_t status_slot) const {
    return counts_[endpoint * kStatuses.size() + status_slot].load(std::memory_order_relaxed);
  }

  std::size_t endpoints() const { return endpoints_; }

  // The slot of `status` in kStatuses (the last one for any status without its own).
  static constexpr std::size_t StatusSlot(unsigned status) {
    for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
      if (kStatuses[i] == status) return i;
    }
    return kStatuses.size() - 1;
  }

 private:
  const std::size_t endpoints_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
};

}  // namespace cidrotor::http
