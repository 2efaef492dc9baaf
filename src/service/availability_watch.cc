#include "service/availability_watch.h"

#include <fmt/format.h>

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

AvailabilityWatch::Level AvailabilityWatch::Next(Level before, std::uint32_t available) const {
  if (available == 0) return Level::kDry;
  if (available >= RecoverAt()) return Level::kOk;
  if (before == Level::kOk) return available < threshold_ ? Level::kLow : Level::kOk;
  return before;  // low stays low and dry stays dry until the count is back at RecoverAt()
}

template <class Key>
void AvailabilityWatch::Compare(const std::map<Key, Level>& old_levels,
                                std::map<Key, Level>& levels, const Key& key,
                                AvailabilityEvent event, std::vector<AvailabilityEvent>& out) {
  const auto old = old_levels.find(key);
  const Level before = old == old_levels.end() ? Level::kOk : old->second;  // new keys: ok
  const Level now = Next(before, event.available);
  levels[key] = now;
  if (first_ || now == before) return;
  if (now == Level::kOk) {
    event.kind = AvailabilityEventKind::kRecovered;
  } else if (now == Level::kDry) {
    event.kind = AvailabilityEventKind::kDry;
  } else {
    event.kind = AvailabilityEventKind::kLow;  // ok → low: the only way into low
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
  std::map<std::uint32_t, Level> area_codes;  // only the keys of this snapshot: gone ones go
  for (const store::AreaCodeAvailability& a : stats.area_codes) {
    Compare(area_codes_, area_codes, a.area_code, event(a.area_code, {}, a.available, a.active),
            events);
  }
  std::map<std::string, Level> pools;
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
  for (const auto& [area_code, level] : area_codes_) {
    if (level != Level::kOk) text += fmt::format("a {} {}\n", area_code, LevelName(level));
  }
  for (const auto& [pool, level] : pools_) {
    if (level != Level::kOk) text += fmt::format("p {} {}\n", pool, LevelName(level));
  }
  return text;
}

bool AvailabilityWatch::RestoreLevels(std::string_view text) {
  if (NextLine(text) != kLevelsHeader) return false;
  std::map<std::uint32_t, Level> area_codes;
  std::map<std::string, Level> pools;
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
      area_codes[area_code] = level;
    } else if (words[0] == "p") {
      pools[std::string(words[1])] = level;
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
