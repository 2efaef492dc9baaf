// When to warn that numbers run out (SPEC "Webhooks": an area code's or a pool's available
// count drops below a threshold, or runs dry): compares each store::StoreStats snapshot with the
// previous one and reports the area codes and pools whose level changed. Pure: the caller reads
// the stats and sends what comes back (app/ to notify::WebhookSender).
//
// Levels: ok, low (fewer than `threshold` available), dry (none). ok → low gives `*_low`, any
// level → dry gives `*_dry`, and low or dry → ok gives `*_recovered`, but only once the count
// is back at threshold + threshold/2 (rounded up), and a dry key stays dry until then: a count
// that hovers around the threshold, or between 0 and 1, does not page anyone at every check.
// A key with fewer active numbers than that count (a small area code) can never get back to
// it: it leaves dry or low once every one of its numbers has been available for
// kSmallGroupRecoverChecks checks in a row, to ok (`*_recovered`) if that is at least the
// threshold, else to low (`*_low`: back, but still short of numbers). So its next run dry is
// reported again, and a busy one does not page at every call.
// The first snapshot only sets the levels: a restart does not warn again about what it finds,
// only about drops it sees. Keys that disappear (no number left in them) are forgotten
// silently; a key that appears later starts from ok.
//
// Example:
//   AvailabilityWatch watch(5);
//   for (const AvailabilityEvent& e : watch.Update(stats, clock.Now())) sender.Send(ToJson(e));
//
// Thread-compatible (one caller at a time).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace cidrotor::service {

enum class AvailabilityEventKind : std::uint8_t { kLow, kDry, kRecovered };

struct AvailabilityEvent {
  AvailabilityEventKind kind = AvailabilityEventKind::kLow;
  std::string pool;             // set for a pool's event
  std::uint32_t area_code = 0;  // set (non-zero) for an area code's event
  std::uint32_t available = 0;
  std::uint32_t active = 0;
  std::uint32_t threshold = 0;
  core::TimePoint at;
};

// "area_code_low", "pool_dry", "area_code_recovered", ...
std::string EventName(const AvailabilityEvent& event);

// The event as the JSON object a webhook receives: {"event":"area_code_low","area_code":"212",
// "available":3,"active":40,"threshold":5,"at":"2026-11-26T02:00:00Z"} ("pool" for a pool's).
std::string EventJson(const AvailabilityEvent& event);

class AvailabilityWatch {
 public:
  // REQUIRES: threshold >= 1.
  explicit AvailabilityWatch(std::uint32_t threshold) : threshold_(threshold) {}

  // The changes since the last snapshot: the area codes' (in the order of stats.area_codes), then
  // the pools'.
  std::vector<AvailabilityEvent> Update(const store::StoreStats& stats, core::TimePoint now);

  // The levels as text, so that another watch goes on from them (cluster mode: whichever instance
  // holds a check's turn reads the last one's, app/availability_alerts.h): a first line
  // "cidrotor-levels 1", then a line per area code or pool not ok ("a 212 low", "p east dry").
  // Empty before the first snapshot.
  std::string SaveLevels() const;
  // Goes on from levels SaveLevels wrote (this watch's or another's): what they do not name is
  // ok, and the next Update is not a first snapshot. False, changing nothing, for any other text.
  bool RestoreLevels(std::string_view text);

 private:
  enum class Level : std::uint8_t { kOk, kLow, kDry };
  struct KeyState {
    Level level = Level::kOk;
    std::uint8_t full_checks = 0;  // a small key's checks in a row with every number available
  };
  // A minute at the default check interval (10 s).
  static constexpr std::uint8_t kSmallGroupRecoverChecks = 6;
  // The count at which a low or dry key is ok again.
  std::uint32_t RecoverAt() const;
  KeyState Next(KeyState before, std::uint32_t available, std::uint32_t active) const;
  static std::string_view LevelName(Level level);
  // Compares `key`'s level in `old_levels` (none: ok) with the one `event.available` gives,
  // stores the new one in `levels`, and appends `event` with its kind when the change deserves
  // one (never on the first snapshot).
  template <class Key>
  void Compare(const std::map<Key, KeyState>& old_levels, std::map<Key, KeyState>& levels,
               const Key& key, AvailabilityEvent event, std::vector<AvailabilityEvent>& out);

  const std::uint32_t threshold_;
  bool first_ = true;
  std::map<std::uint32_t, KeyState> area_codes_;
  std::map<std::string, KeyState> pools_;
};

}  // namespace cidrotor::service
