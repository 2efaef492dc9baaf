#include "service/availability_watch.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "service/number_events.h"
#include "service/number_rows.h"

namespace cidrotor::service {
namespace {

constexpr std::string_view kLevelsHeader = "cidrotor-levels 1";

// The next line of `text` (without its '\n'), taken off it.
std::string_view NextLine(std::string_view& text) {
  const auto end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

// "a 212 low" → {"a", "212", "low"}; false unless exactly three words.
bool SplitWords(std::string_view line, std::string_view (&words)[3]) {
  for (int i = 0; i < 3; ++i) {
    const auto space = line.find(' ');
    if ((i < 2) == (space == std::string_view::npos)) return false;
    words[i] = line.substr(0, space);
    if (words[i].empty()) return false;
    line.remove_prefix(i < 2 ? space + 1 : line.size());
  }
  return true;
}

}  // namespace

std::string EventName(const AvailabilityEvent& event) {
  const std::string_view subject = event.area_code != 0 ? "area_code" : "pool";
  switch (event.kind) {
    case AvailabilityEventKind::kLow:
      return fmt::format("{}_low", subject);
    case AvailabilityEventKind::kDry:
      return fmt::format("{}_dry", subject);
    case AvailabilityEventKind::kRecovered:
      return fmt::format("{}_recovered", subject);
  }
  return std::string(subject);
}

std::string EventJson(const AvailabilityEvent& event) {
  std::string out = fmt::format(R"({{"event":"{}",)", EventName(event));
  if (event.area_code != 0) {
    out += fmt::format(R"("area_code":"{:03}",)", event.area_code);
  } else {
    out += R"("pool":")";
    AppendJsonEscaped(out, event.pool);  // names are [A-Za-z0-9_.-]; escaped as JSON must be
    out += R"(",)";
  }
  out += fmt::format(R"("available":{},"active":{},"threshold":{},"at":"{}"}})", event.available,
                     event.active, event.threshold, FormatIsoUtc(core::ToCompact(event.at)));
  return out;
}

std::uint32_t AvailabilityWatch::RecoverAt() const { return threshold_ + (threshold_ + 1) / 2; }

AvailabilityWatch::KeyState AvailabilityWatch::Next(KeyState before, std::uint32_t available,
                                                    std::uint32_t active) const {
  if (available == 0) return {Level::kDry, 0};
  const Level at_least = available < threshold_ ? Level::kLow : Level::kOk;
  if (before.level == Level::kOk) return {at_least, 0};
  if (active >= RecoverAt()) {
    // low stays low and dry stays dry until the count is back at RecoverAt()
    return {available >= RecoverAt() ? Level::kOk : before.level, 0};
  }
  // A small key: every number available for long enough instead.
  if (available < active) return {before.level, 0};
  const auto full =
      static_cast<std::uint8_t>(std::min<int>(before.full_checks + 1, kSmallGroupRecoverChecks));
  if (full < kSmallGroupRecoverChecks) return {before.level, full};
  return {at_least, full};
}

template <class Key>
void AvailabilityWatch::Compare(const std::map<Key, KeyState>& old_levels,
                                std::map<Key, KeyState>& levels, const Key& key,
                                AvailabilityEvent event, std::vector<AvailabilityEvent>& out) {
  const auto old = old_levels.find(key);
  const KeyState before = old == old_levels.end() ? KeyState{} : old->second;  // new keys: ok
  const KeyState now = Next(before, event.available, event.active);
  levels[key] = now;
  if (first_ || now.level == before.level) return;
  if (now.level == Level::kOk) {
    event.kind = AvailabilityEventKind::kRecovered;
  } else if (now.level == Level::kDry) {
    event.kind = AvailabilityEventKind::kDry;
  } else {
    event.kind = AvailabilityEventKind::kLow;  // ok → low, or a small key back from dry
  }
  out.push_back(std::move(event));
}

std::vector<AvailabilityEvent> AvailabilityWatch::Update(const store::StoreStats& stats,
                                                         core::TimePoint now) {
  const auto event = [&](std::uint32_t area_code, const std::string& pool, std::uint32_t available,
                         std::uint32_t active) {
    AvailabilityEvent e;
    e.area_code = area_code;
    e.pool = pool;
    e.available = available;
    e.active = active;
    e.threshold = threshold_;
    e.at = now;
    return e;
  };
  std::vector<AvailabilityEvent> events;
  std::map<std::uint32_t, KeyState> area_codes;  // only the keys of this snapshot: gone ones go
  for (const store::AreaCodeAvailability& a : stats.area_codes) {
    Compare(area_codes_, area_codes, a.area_code, event(a.area_code, {}, a.available, a.active),
            events);
  }
  std::map<std::string, KeyState> pools;
  for (const store::PoolAvailability& p : stats.pools) {
    Compare(pools_, pools, p.pool, event(0, p.pool, p.available, p.active), events);
  }
  area_codes_.swap(area_codes);
  pools_.swap(pools);
  first_ = false;
  return events;
}

std::string_view AvailabilityWatch::LevelName(Level level) {
  switch (level) {
    case Level::kOk:
      return "ok";
    case Level::kLow:
      return "low";
    case Level::kDry:
      return "dry";
  }
  return "ok";
}

std::string AvailabilityWatch::SaveLevels() const {
  if (first_) return {};
  std::string text(kLevelsHeader);
  text += '\n';
  for (const auto& [area_code, state] : area_codes_) {
    if (state.level != Level::kOk) {
      text += fmt::format("a {} {}\n", area_code, LevelName(state.level));
    }
  }
  for (const auto& [pool, state] : pools_) {
    if (state.level != Level::kOk) text += fmt::format("p {} {}\n", pool, LevelName(state.level));
  }
  return text;
}

bool AvailabilityWatch::RestoreLevels(std::string_view text) {
  if (NextLine(text) != kLevelsHeader) return false;
  std::map<std::uint32_t, KeyState> area_codes;
  std::map<std::string, KeyState> pools;
  while (!text.empty()) {
    std::string_view words[3];
    if (!SplitWords(NextLine(text), words)) return false;
    Level level = Level::kOk;
    if (words[2] == LevelName(Level::kLow)) {
      level = Level::kLow;
    } else if (words[2] == LevelName(Level::kDry)) {
      level = Level::kDry;
    } else {
      return false;
    }
    if (words[0] == "a") {
      std::uint32_t area_code = 0;
      const auto [end, error] =
          std::from_chars(words[1].data(), words[1].data() + words[1].size(), area_code);
      if (error != std::errc() || end != words[1].data() + words[1].size()) return false;
      area_codes[area_code] = {level, 0};
    } else if (words[0] == "p") {
      pools[std::string(words[1])] = {level, 0};
    } else {
      return false;
    }
  }
  area_codes_ = std::move(area_codes);
  pools_ = std::move(pools);
  first_ = false;
  return true;
}

}  // namespace cidrotor::service
