#include "store/memory/memory_journal.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <map>
#include <string>
#include <tuple>
#include <variant>

#include "store/deleted_usage.h"
#include "store/journal_support.h"
#include "store/row_codec.h"

namespace cidrotor::store {
namespace {

constexpr std::size_t kMaxLimit = 1000;

core::Result<void> CheckLimit(std::size_t limit) {
  if (limit < 1 || limit > kMaxLimit) {
    return core::Fail(core::Error::InvalidArgument("limit", "must be between 1 and 1000"));
  }
  return {};
}

bool IsLive(const ReservationRecord& r, core::TimePoint now) {
  return !r.released_at.has_value() && r.reservation.reserved_until > now;
}

}  // namespace

MemoryJournal::MemoryJournal(Completion completion) : completion_(completion) {
  if (completion_ == Completion::kOwnThread) {
    completion_thread_ = std::thread([this] { CompletionLoop(); });
  }
}

MemoryJournal::~MemoryJournal() {
  if (!completion_thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_one();
  completion_thread_.join();  // the loop drains completions_ before it stops
}

core::Result<LoadSummary> MemoryJournal::Load(core::TimePoint now, LoadSink& sink) {
  std::lock_guard lock(mu_);
  if (failure_) return core::Fail(*failure_);
  LoadSummary summary;
  const bool newest = sink.WantsNewest();
  for (const auto& [digits, number] : numbers_) {
    sink.OnNumber(number.first, number.second);
    if (newest) {
      if (const auto it = newest_reservation_.find(digits); it != newest_reservation_.end()) {
        sink.OnNumberNewest(number.first.caller_id, it->second);
      }
    }
    ++summary.numbers;
  }
  std::vector<const core::Reservation*> live;
  for (const auto& [id, record] : reservations_) {
    if (!IsLive(record, now) || !numbers_.contains(record.reservation.caller_id.digits())) continue;
    live.push_back(&record.reservation);
  }
  // Newest first (LoadSink::OnLiveReservation).
  std::stable_sort(live.begin(), live.end(), [](const auto* a, const auto* b) {
    return std::tie(a->reserved_at, a->id) > std::tie(b->reserved_at, b->id);
  });
  for (const core::Reservation* reservation : live) {
    sink.OnLiveReservation(*reservation);
    ++summary.live_reservations;
  }
  if (const core::Seconds window = sink.LeadWindow(); window.count() > 0) {
    std::vector<LeadAllocation> leads;  // reservation ids grow, but not with time across restarts
    for (const auto& [id, record] : reservations_) {
      const core::Reservation& r = record.reservation;
      if (!r.lead_id || r.reserved_at < now - window) continue;
      leads.push_back(LeadAllocation{r.pool, *r.lead_id, r.caller_id, r.reserved_at});
    }
    std::stable_sort(leads.begin(), leads.end(),
                     [](const auto& a, const auto& b) { return a.at < b.at; });
    for (const LeadAllocation& lead : leads) sink.OnLeadAllocation(lead);
  }
  if (const core::Seconds window = sink.AgentWindow(); window.count() > 0) {
    std::vector<const core::Reservation*> recent;  // oldest first, as the SQL stores order them
    for (const auto& [id, record] : reservations_) {
      const core::Reservation& r = record.reservation;
      if (!r.agent.empty() && r.reserved_at >= now - window) recent.push_back(&r);
    }
    std::stable_sort(recent.begin(), recent.end(),
                     [](const auto* a, const auto* b) { return a->reserved_at < b->reserved_at; });
    for (const core::Reservation* r : recent) {
      sink.OnAgentAllocation({r->agent, r->reserved_at, r->pool, r->id});
    }
  }
  for (const auto& [digits, kept] : deleted_) {
    if (StillKept(kept, core::ToCompact(now)) && !numbers_.contains(digits)) {
      sink.OnDeletedNumber(core::PhoneNumber::FromValidDigits(digits), kept);
    }
  }
  for (const auto& [campaign, pool] : campaign_pools_) {
    sink.OnCampaignPool(CampaignPool{campaign, pool});
    ++summary.campaign_pools;
  }
  for (const auto& [pool, settings] : pool_settings_) sink.OnPoolSettings(settings);
  summary.max_reservation_id = reservations_.empty() ? 0 : reservations_.rbegin()->first;
  return summary;
}

void MemoryJournal::Append(std::vector<JournalEntry> entries, Durable on_durable) {
  core::Result<void> result;
  {
    std::lock_guard lock(mu_);
    if (failure_) {
      result = core::Fail(*failure_);
    } else if (auto duplicate = FindDuplicateReservation(entries)) {
      // The SQLite primary key refuses it and rolls the batch back: nothing of it is applied.
      result = core::Fail(core::Error::Unavailable("memory journal: reservation id " +
                                                   std::to_string(*duplicate) + " exists"));
    } else {
      for (const JournalEntry& entry : entries) {
        std::visit([this](const auto& e) { Apply(e); }, entry);
      }
      entries_committed_ += entries.size();
    }
    if (completion_ == Completion::kOwnThread) {
      pending_entries_ += entries.size();
      ++queued_seq_;
      completions_.push_back(Completed{std::move(on_durable), std::move(result), entries.size()});
    }
  }
  if (completion_ == Completion::kOwnThread) {
    work_cv_.notify_one();
  } else if (on_durable) {
    on_durable(std::move(result));
  }
}

void MemoryJournal::CompletionLoop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [this] { return stop_ || (!completions_.empty() && !paused_); });
    if (completions_.empty()) return;  // stop_, and every callback has run
    Completed next = std::move(completions_.front());
    completions_.pop_front();
    lock.unlock();
    if (next.on_durable) next.on_durable(std::move(next.result));
    lock.lock();
    pending_entries_ -= next.entries;
    ++done_seq_;
    done_cv_.notify_all();
  }
}

bool MemoryJournal::Flush() {
  std::unique_lock lock(mu_);
  const std::uint64_t target = queued_seq_;
  done_cv_.wait(lock, [&] { return done_seq_ >= target; });
  return true;
}

std::size_t MemoryJournal::QueueDepth() const {
  std::lock_guard lock(mu_);
  return pending_entries_;
}

void MemoryJournal::Apply(const NumberUpserted& e) {
  numbers_[e.spec.caller_id.digits()] = {e.spec, e.usage};
}

void MemoryJournal::Apply(const NumberDeleted& e) {
  numbers_.erase(e.caller_id.digits());
  // As the row's column goes with the row, leaving its link in retired_numbers.
  if (const auto newest = newest_reservation_.find(e.caller_id.digits());
      newest != newest_reservation_.end()) {
    retired_[newest->first] = newest->second;
    newest_reservation_.erase(newest);
  }
  if (e.kept.keep_until != 0) {
    deleted_[e.caller_id.digits()] = e.kept;
  } else {
    deleted_.erase(e.caller_id.digits());
  }
}

std::optional<std::uint64_t> MemoryJournal::FindDuplicateReservation(
    const std::vector<JournalEntry>& entries) const {
  std::vector<std::uint64_t> ids;
  for (const JournalEntry& entry : entries) {
    if (const auto* made = std::get_if<ReservationMade>(&entry)) {
      const std::uint64_t id = made->reservation.id;
      if (reservations_.contains(id) || std::find(ids.begin(), ids.end(), id) != ids.end()) {
        return id;
      }
      ids.push_back(id);
    }
  }
  return std::nullopt;
}

void MemoryJournal::Apply(const ReservationMade& e) {
  ReservationRecord record;
  record.reservation = e.reservation;
  reservations_.try_emplace(e.reservation.id, std::move(record));
  const std::uint64_t digits = e.reservation.caller_id.digits();
  const auto it = numbers_.find(digits);
  std::uint64_t previous = e.previous_id;
  if (previous == 0 && it != numbers_.end()) {
    const auto newest = newest_reservation_.find(digits);
    const auto retired = retired_.find(digits);  // its first since it was added back
    if (newest != newest_reservation_.end()) {
      previous = newest->second;
    } else if (retired != retired_.end()) {
      previous = retired->second;
    }
  }
  if (previous != 0) previous_ids_[e.reservation.id] = previous;
  if (it != numbers_.end()) {
    it->second.second = e.usage;
    newest_reservation_[digits] = e.reservation.id;
  }
}

void MemoryJournal::Apply(const ReservationReleased& e) {
  const auto it = reservations_.find(e.reservation_id);
  if (it == reservations_.end() || it->second.released_at.has_value()) return;  // idempotent
  if (e.late && it->second.reservation.reserved_until > e.released_at) return;  // live then
  it->second.released_at = e.released_at;
  it->second.outcome = e.outcome;
  it->second.duration_seconds = e.duration_seconds;
}

void MemoryJournal::Apply(const ApiLogEntry& e) { logs_.push_back(StoredLog{next_log_id_++, e}); }

void MemoryJournal::PruneHistory(PruneCutoffs cutoffs, Callback<PruneResult> done) {
  PruneResult pruned;
  std::optional<core::Error> failure;
  {
    std::lock_guard lock(mu_);
    failure = failure_;
    if (!failure && cutoffs.api_logs_before && !logs_.empty()) {
      const std::uint64_t highest = logs_.back().id;
      pruned.api_logs = std::erase_if(logs_, [&](const StoredLog& log) {
        return log.id != highest && log.entry.timestamp < *cutoffs.api_logs_before;
      });
    }
    if (!failure && cutoffs.reservations_before && !reservations_.empty()) {
      const std::uint64_t highest = reservations_.rbegin()->first;
      pruned.reservations = std::erase_if(reservations_, [&](const auto& item) {
        return item.first != highest &&
               item.second.reservation.reserved_until < *cutoffs.reservations_before;
      });
      // A link from a pruned reservation goes with it (a number's newest may name one: then
      // the lookup finds nothing, as in SQL).
      std::erase_if(previous_ids_,
                    [&](const auto& link) { return !reservations_.contains(link.first); });
    }
  }
  if (failure) {
    done(core::Fail(std::move(*failure)));
    return;
  }
  done(pruned);
}

void MemoryJournal::Apply(const PoolSettingsChanged& e) {
  pool_settings_[e.settings.pool] = e.settings;
}

void MemoryJournal::Apply(const CampaignPoolChanged& e) {
  if (e.pool) {
    campaign_pools_[e.campaign] = *e.pool;
  } else {
    campaign_pools_.erase(e.campaign);
  }
}

void MemoryJournal::QueryCoverage(CoverageQuery query, Callback<CoverageData> done) {
  std::map<std::uint32_t, AreaCodeCapacity> capacity;
  // (area code, caps, warm_from, rest_until) → numbers, ordered as the SQL stores order them.
  std::map<
      std::tuple<std::uint32_t, std::uint16_t, std::uint16_t, core::CompactTime, core::CompactTime>,
      std::uint64_t>
      recent;
  std::map<std::pair<std::uint32_t, std::int64_t>, std::uint64_t> calls;
  {
    std::lock_guard lock(mu_);
    for (const auto& [digits, number] : numbers_) {
      const auto& [spec, usage] = number;
      const std::uint32_t npa = spec.caller_id.area_code();
      AreaCodeCapacity& c = capacity[npa];
      c.area_code = npa;
      ++c.numbers;
      if (!spec.active) continue;
      ++c.active;
      const std::uint16_t hourly =
          spec.hourly_cap != 0 ? spec.hourly_cap : query.default_hourly_cap;
      const std::uint16_t daily = spec.daily_cap != 0 ? spec.daily_cap : query.default_daily_cap;
      c.hourly_capacity += hourly;
      c.daily_capacity += daily;
      const auto since = [&](core::CompactTime t) { return t >= query.recent_since ? t : 0; };
      if (since(usage.warm_from) != 0 || since(usage.rest_until) != 0) {
        ++recent[{npa, hourly, daily, since(usage.warm_from), since(usage.rest_until)}];
      }
    }
    for (const auto& [id, record] : reservations_) {
      const core::Reservation& r = record.reservation;
      if (r.reserved_at < query.since) continue;
      const auto quarter =
          std::chrono::floor<std::chrono::minutes>(r.reserved_at.time_since_epoch()).count() / 15;
      ++calls[{r.destination.area_code(), quarter}];
    }
  }
  CoverageData data;
  for (const auto& [npa, c] : capacity) data.capacity.push_back(c);
  for (const auto& [key, count] : recent) {
    const auto& [npa, hourly, daily, warm_from, rest_until] = key;
    data.recent.push_back(RecentNumbers{npa, hourly, daily, warm_from, rest_until, count});
  }
  for (const auto& [key, count] : calls) {
    data.calls.push_back(AreaCodeCalls{key.first, key.second, count});
  }
  done(std::move(data));
}

void MemoryJournal::QueryActivity(ActivityQuery query, Callback<ActivityData> done) {
  std::map<std::int64_t, std::uint64_t> minutes;
  std::map<std::pair<std::string, std::string>, CampaignAgentCount> pairs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, record] : reservations_) {
      const core::Reservation& r = record.reservation;
      if (r.reserved_at >= query.until) continue;
      if (r.reserved_at >= query.minutes_since) {
        ++minutes[std::chrono::floor<std::chrono::minutes>(r.reserved_at.time_since_epoch())
                      .count()];
      }
      if (r.reserved_at < query.pairs_since) continue;
      CampaignAgentCount& pair = pairs[{r.campaign, r.agent}];
      pair.campaign = r.campaign;
      pair.agent = r.agent;
      ++pair.allocations;
      pair.last = std::max(pair.last, r.reserved_at);
    }
  }
  ActivityData data;
  for (const auto& [minute, count] : minutes) data.minutes.push_back(MinuteCount{minute, count});
  std::uint64_t total = 0;
  for (auto& [key, pair] : pairs) {
    total += pair.allocations;
    data.pairs.push_back(std::move(pair));
  }
  // As the SQL stores order and cut them.
  std::stable_sort(data.pairs.begin(), data.pairs.end(),
                   [](const CampaignAgentCount& a, const CampaignAgentCount& b) {
                     return a.allocations > b.allocations;
                   });
  if (data.pairs.size() > kActivityMaxPairs) data.pairs.resize(kActivityMaxPairs);
  data.unlisted = UnlistedAllocations(data.pairs, total);
  done(std::move(data));
}

void MemoryJournal::QueryAnswerStats(AnswerStatsQuery query, Callback<AnswerStats> done) {
  AnswerStats stats;
  {
    std::lock_guard lock(mu_);
    stats.numbers = AnswersLocked(query);
    stats.pools = PoolRestsLocked(query.now);
  }
  done(std::move(stats));
}

std::vector<NumberAnswers> MemoryJournal::AnswersLocked(const AnswerStatsQuery& query) const {
  std::map<std::uint64_t, NumberAnswers> answers;  // by caller_id digits: the order wanted
  for (const auto& [id, record] : reservations_) {
    if (!core::IsJudgedOutcome(record.outcome)) continue;
    const core::Reservation& r = record.reservation;
    const auto number = numbers_.find(r.caller_id.digits());
    if (number == numbers_.end()) continue;  // deleted since: nothing left to rest
    const auto& [spec, usage] = number->second;
    // The calls that got the number rested never count again (FromCompact(0) is 2020).
    const core::TimePoint judged_from =
        core::FromCompact(core::FirstJudgedSecondAfterRest(usage.rest_until));
    if (r.reserved_at < std::max(query.since, judged_from)) continue;
    NumberAnswers& counts = answers[r.caller_id.digits()];
    counts.caller_id = spec.caller_id;
    counts.pool = spec.pool;
    counts.active = spec.active;
    counts.rest_until = usage.rest_until;
    ++counts.calls;
    if (record.outcome == core::CallOutcome::kAnswered) ++counts.answered;
  }
  std::vector<NumberAnswers> list;
  list.reserve(answers.size());
  for (auto& [digits, counts] : answers) list.push_back(std::move(counts));
  return list;
}

std::vector<PoolRestCounts> MemoryJournal::PoolRestsLocked(core::TimePoint now) const {
  std::map<std::string, PoolRestCounts> pools;  // by name: the order wanted
  for (const auto& [digits, number] : numbers_) {
    const auto& [spec, usage] = number;
    PoolRestCounts& counts = pools[spec.pool];
    counts.pool = spec.pool;
    if (!spec.active) continue;
    ++counts.active;
    if (usage.rest_until > core::ToCompact(now)) ++counts.resting;
  }
  std::vector<PoolRestCounts> list;
  list.reserve(pools.size());
  for (auto& [name, counts] : pools) list.push_back(std::move(counts));
  return list;
}

void MemoryJournal::ListLogs(LogQuery query, Callback<std::vector<StoredLog>> done) {
  auto ok = CheckLimit(query.limit);
  if (!ok) {
    done(core::Fail(ok.error()));
    return;
  }
  std::vector<StoredLog> out;
  {
    std::lock_guard lock(mu_);
    // logs_ is sorted by id: start below before_id and walk back.
    auto end = logs_.end();
    if (query.before_id.has_value()) {
      end = std::lower_bound(logs_.begin(), logs_.end(), *query.before_id,
                             [](const StoredLog& log, std::uint64_t id) { return log.id < id; });
    }
    const auto available = static_cast<std::size_t>(std::distance(logs_.begin(), end));
    const std::size_t n = std::min(query.limit, available);
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(*--end);
  }
  done(std::move(out));
}

void MemoryJournal::QueryLookup(LookupQuery query, core::TimePoint now, Callback<LookupData> done) {
  LookupData data;
  {
    std::lock_guard lock(mu_);
    const std::uint64_t digits = query.caller_id.digits();
    const bool in_pool = numbers_.contains(digits);
    const auto newest = newest_reservation_.find(digits);
    const auto retired = retired_.find(digits);
    std::uint64_t id = in_pool && newest != newest_reservation_.end() ? newest->second
                       : retired != retired_.end()                    ? retired->second
                                                                      : 0;
    data.known = in_pool || id != 0;
    data.deleted = !in_pool && id != 0;
    // Back through the links, as the SQLite journal's query walks them; a pruned one ends it.
    for (std::size_t depth = 0; id != 0; ++depth) {
      const auto it = reservations_.find(id);
      if (it == reservations_.end()) break;
      ReservationRecord record = it->second;
      record.live = IsLive(record, now);
      if (depth == 0) data.last = record;
      if (!query.from || depth >= query.max_depth) break;
      if (record.reservation.reserved_at < now - query.window) break;
      if (record.reservation.destination == *query.from) {
        data.called = std::move(record);
        break;
      }
      const auto previous = previous_ids_.find(id);
      id = previous != previous_ids_.end() ? previous->second : 0;
    }
  }
  done(std::move(data));
}

void MemoryJournal::ListReservations(ReservationQuery query, core::TimePoint now,
                                     Callback<std::vector<ReservationRecord>> done) {
  auto ok = CheckLimit(query.limit);
  if (!ok) {
    done(core::Fail(ok.error()));
    return;
  }
  std::vector<ReservationRecord> out;
  bool unknown_cursor = false;
  {
    std::lock_guard lock(mu_);
    unknown_cursor = query.before_id && !reservations_.contains(*query.before_id);
    // Newest id first; live ones are all taken, then put in time order (ReservationQuery).
    for (auto it = reservations_.rbegin();
         it != reservations_.rend() && (query.live_only || out.size() < query.limit); ++it) {
      const bool live = IsLive(it->second, now);
      if (query.live_only && !live) continue;
      if (query.before_id && it->first >= *query.before_id) continue;
      ReservationRecord& record = out.emplace_back(it->second);
      record.live = live;
    }
  }
  if (query.live_only) {
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.reservation.reserved_until > b.reservation.reserved_until;
    });
    if (out.size() > query.limit) out.resize(query.limit);
  }
  if (unknown_cursor) {
    done(core::Fail(UnknownCursor(*query.before_id)));
    return;
  }
  done(std::move(out));
}

bool MemoryJournal::Healthy() const {
  std::lock_guard lock(mu_);
  return !failure_.has_value();
}

void MemoryJournal::PauseCompletions(bool paused) {
  {
    std::lock_guard lock(mu_);
    paused_ = paused;
  }
  work_cv_.notify_one();
}

void MemoryJournal::SetFailure(std::optional<core::Error> error) {
  std::lock_guard lock(mu_);
  failure_ = std::move(error);
}

std::uint64_t MemoryJournal::EntriesCommitted() const {
  std::lock_guard lock(mu_);
  return entries_committed_;
}

}  // namespace cidrotor::store
