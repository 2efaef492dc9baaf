// NumberIndex's scans of the whole index (core/number_index.h): the listing of numbers and the
// counts, each in slices a caller may interleave with allocations (ListSlice, CountSlice), apart
// from the allocation path's own code.
#include <algorithm>
#include <utility>

#include "core/number_index.h"

namespace cidrotor::core {

NumberList NumberIndex::List(const NumberQuery& query, TimePoint now) {
  PartialList partial;
  while (!ListSlice(query, partial, records_.size() + 1, now)) {
  }
  SortPage(query, partial);
  return FinishList(query, partial, now);
}

bool NumberIndex::ListSlice(const NumberQuery& query, PartialList& partial, std::size_t max_records,
                            TimePoint now) {
  Advance(now);
  std::optional<std::uint16_t> pool;
  if (query.pool) {
    pool = pools_.Find(*query.pool);
    if (!pool) {
      partial.no_such_pool = true;
      partial.matches.clear();
      return true;
    }
  }
  const CompactTime now_compact = ToCompact(now);
  const std::size_t end = std::min(records_.size(), partial.next + max_records);
  for (std::size_t id = partial.next; id < end; ++id) {
    const Record& r = records_[id];
    if (!r.in_use) continue;
    if (r.digits <= query.after) continue;
    if (query.area_code && r.digits / 10'000'000 != *query.area_code) continue;
    if (query.active && r.active != *query.active) continue;
    if (query.resting && (r.rest_until > now_compact) != *query.resting) continue;
    if (pool && forest_.PoolOf(r.leaf) != *pool) continue;
    partial.matches.emplace_back(r.digits, static_cast<std::uint32_t>(id));
  }
  partial.next = end;
  return end >= records_.size();
}

void NumberIndex::SortPage(const NumberQuery& query, PartialList& partial) {
  auto& matches = partial.matches;
  const std::size_t end = std::min(matches.size(), query.offset + query.limit);
  if (query.offset >= matches.size()) return;
  std::partial_sort(matches.begin(), matches.begin() + static_cast<std::ptrdiff_t>(end),
                    matches.end());
}

NumberList NumberIndex::FinishList(const NumberQuery& query, const PartialList& partial,
                                   TimePoint now) {
  NumberList list;
  const auto& matches = partial.matches;
  list.total = matches.size();
  if (query.offset >= matches.size()) return list;
  const std::size_t end = std::min(matches.size(), query.offset + query.limit);
  for (std::size_t i = query.offset; i < end; ++i) {
    const auto [digits, slot] = matches[i];
    std::optional<std::uint32_t> id = slot;
    if (slot >= records_.size() || !records_[slot].in_use || records_[slot].digits != digits) {
      id = table_.Find(digits);  // deleted (nullopt), or deleted and added again elsewhere
    }
    if (id) list.numbers.push_back(View(*id, now));
  }
  return list;
}

IndexCounts NumberIndex::Counts(TimePoint now) {
  PartialCounts partial;
  while (!CountSlice(partial, records_.size(), now)) {
  }
  return FinishCounts(std::move(partial));
}

bool NumberIndex::CountSlice(PartialCounts& partial, std::size_t max_records, TimePoint now) {
  Advance(now);
  const Windows& w = WindowsAt(now);
  const CompactTime now_compact = ToCompact(now);
  IndexCounts& counts = partial.counts;
  const std::size_t end = std::min(records_.size(), partial.next + max_records);
  for (std::size_t id = partial.next; id < end; ++id) {
    const Record& r = records_[id];
    if (!r.in_use) continue;
    const auto npa = static_cast<std::uint32_t>(r.digits / 10'000'000);
    AreaCodeCounts& area = partial.by_area[npa];
    area.area_code = npa;
    const std::uint16_t pool_id = forest_.PoolOf(r.leaf);
    if (pool_id >= partial.by_pool.size()) partial.by_pool.resize(pool_id + 1U);
    PoolCounts& pool = partial.by_pool[pool_id];
    ++counts.total;
    ++area.total;
    ++pool.total;
    // A live reservation counts while it lasts, also when its number was deactivated meanwhile
    // (the call holds the number until release or TTL; the cluster store counts it the same).
    if (r.reservation != 0) ++counts.reserved;
    if (!r.active) continue;
    ++counts.active;
    ++area.active;
    ++pool.active;
    if (r.reservation == 0) {
      if (HourlyUsedNow(r, w) >= HourlyCap(r) || DailyUsedNow(r, w) >= DailyCap(r, w)) {
        ++counts.capped;
      } else if (r.rest_until > now_compact) {
        ++counts.resting;
      }
    }
    if (r.link.linked) {
      ++counts.available;
      ++area.available;
      ++pool.available;
    }
  }
  partial.next = end;
  return end == records_.size();
}

IndexCounts NumberIndex::FinishCounts(PartialCounts partial) const {
  IndexCounts counts = std::move(partial.counts);
  for (auto& [npa, area] : partial.by_area) counts.area_codes.push_back(area);
  for (std::size_t id = 0; id < partial.by_pool.size(); ++id) {
    if (partial.by_pool[id].total == 0) continue;  // a pool id no number uses (any more)
    partial.by_pool[id].pool = pools_.Name(static_cast<std::uint16_t>(id));
    counts.pools.push_back(std::move(partial.by_pool[id]));
  }
  std::sort(counts.pools.begin(), counts.pools.end(),
            [](const PoolCounts& a, const PoolCounts& b) { return a.pool < b.pool; });
  std::sort(
      counts.area_codes.begin(), counts.area_codes.end(),
      [](const AreaCodeCounts& a, const AreaCodeCounts& b) { return a.area_code < b.area_code; });
  return counts;
}

}  // namespace cidrotor::core
