// What the dashboard's live view shows of allocations (GET /api/stats: allocations per minute over
// six hours, campaigns and agents of the last 24 hours), over every instance of a cluster and
// across restarts: the store's history up to a cut, read at most once a minute, joined to this
// process's own counts since the cut (AllocationTelemetry's minute ring and recent names).
//
// The cut is the start of a minute at least kSettle old when the history is read, so that the
// allocations before it have been committed (group commit; a cluster's PostgreSQL writes) and
// none is counted twice or missed at the seam. One read at a time, as the coverage's: each is a
// range of the reservations (about a second at a million allocations a day). A view is answered
// from the last history at once while the next one is read, so only a process's first view waits
// for the store. In cluster mode the minutes after the cut count this instance alone until the
// next read; while the history cannot be read, the last one read stays in use, and without any
// (a store that keeps none) the view is this process's own.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "core/clock.h"
#include "service/allocation_telemetry.h"
#include "store/store.h"

namespace cidrotor::service {

inline constexpr std::chrono::hours kActivityNamesWindow{24};

// The store's history up to `cut` (exclusive; a minute's start).
struct ActivityHistoryRead {
  core::TimePoint cut;
  store::ActivityData data;
};

struct LiveActivity {
  std::int64_t first_minute = 0;          // Unix seconds of per_minute's first minute
  std::vector<std::uint32_t> per_minute;  // MinuteSeries::kMinutes counts, oldest first
  ActivitySnapshot names;                 // the last kActivityNamesWindow
};

// The query for a history cut at `cut`.
store::ActivityQuery ActivityQueryAt(core::TimePoint cut);

// The view at `now`: `history` (none: this process's counts alone) up to its cut, `live` after.
LiveActivity MergeActivity(const ActivityHistoryRead* history, const AllocationTelemetry& live,
                           core::TimePoint now);

class ActivityHistory {
 public:
  using ReadPtr = std::shared_ptr<const ActivityHistoryRead>;
  // Reads the store's history for the query; its callback may run on any thread.
  using Fetch = std::function<void(store::ActivityQuery, store::Callback<store::ActivityData>)>;

  static constexpr std::chrono::seconds kMaxAge{60};
  static constexpr std::chrono::seconds kSettle{10};
  // After a failed read, the next one waits this long (a store that is down answers fast, and
  // every open dashboard asks every few seconds).
  static constexpr std::chrono::seconds kRetryAfter{10};

  // `done` gets the latest history (nullptr when none could be read): at once when there is one
  // (starting the next read when it is older than kMaxAge), else once the read under way, or one
  // started now, ends. `done` may run on the fetch's thread. A read outlives this object safely.
  void Get(core::TimePoint now, const Fetch& fetch, std::function<void(ReadPtr)> done);

 private:
  struct State {
    std::mutex mu;
    ReadPtr latest;                                     // guarded by mu
    bool reading = false;                               // guarded by mu
    std::optional<core::TimePoint> last_read_start;     // guarded by mu
    core::TimePoint next_read_due{};                    // guarded by mu
    std::vector<std::function<void(ReadPtr)>> waiting;  // guarded by mu; for the read under way
  };
  static void Read(const std::shared_ptr<State>& state, core::TimePoint now, const Fetch& fetch);

  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace cidrotor::service
