#include "service/availability_watch.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "service/number_events.h"
#include "service/number_rows.h"

namespace cidrotor::service {
namespace {

// Version 2 adds each key's full_checks: without them a small key restored at every check (the
// cluster restores before each one) counted one full check at most, and never left dry, so its
// next run dry went unreported. Version 1 (an older instance's) is still read, its counts as 0.
constexpr std::string_view kLevelsHeader = "cidrotor-levels 2";
constexpr std::string_view kLevelsHeaderV1 = "cidrotor-levels 1";

// The next line of `text` (without its '\n'), taken off it.
std::string_view NextLine(std::string_view& text) {
  const auto end = text.find('\n');
  const std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

// "a 212 low 3" → {"a", "212", "low", "3"}; false unless exactly `count` (at most 4) words.
bool SplitWords(std::string_view line, std::string_view (&words)[4], std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const bool last = i + 1 == count;
    const auto space = line.find(' ');
    if (last != (space == std::string_view::npos)) return false;
    words[i] = line.substr(0, space);
    if (words[i].empty()) return false;
    line.remove_prefix(last ? line.size() : space + 1);
  }
  return true;
}

// A whole decimal number of `text` up to `max`.
template <class Int>
bool ParseCount(std::string_view text, Int max, Int& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() && value <= max;
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
      text += fmt::format("a {} {} {}\n", area_code, LevelName(state.level), state.full_checks);
    }
  }
  for (const auto& [pool, state] : pools_) {
    if (state.level != Level::kOk) {
      text += fmt::format("p {} {} {}\n", pool, LevelName(state.level), state.full_checks);
    }
  }
  return text;
}

bool AvailabilityWatch::RestoreLevels(std::string_view text) {
  const std::string_view header = NextLine(text);
  if (header != kLevelsHeader && header != kLevelsHeaderV1) return false;
  const std::size_t word_count = header == kLevelsHeader ? 4 : 3;
  std::map<std::uint32_t, KeyState> area_codes;
  std::map<std::string, KeyState> pools;
  while (!text.empty()) {
    std::string_view words[4];
    if (!SplitWords(NextLine(text), words, word_count)) return false;
    std::uint8_t full_checks = 0;
    if (word_count == 4 && !ParseCount(words[3], kSmallGroupRecoverChecks, full_checks)) {
      return false;
    }
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
      if (!ParseCount(words[1], std::uint32_t{999}, area_code)) return false;
      area_codes[area_code] = {level, full_checks};
    } else if (words[0] == "p") {
      pools[std::string(words[1])] = {level, full_checks};
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
