// Store::GetActivity on SQLite: two reads of the reservations_until index's range in one read
// transaction (reserved_until >= reserved_at, so the range holds every allocation made since).
#include <string>

#include "store/journal_support.h"
#include "store/row_codec.h"
#include "store/sqlite/queries.h"

namespace cidrotor::store::sqlite {
namespace {

constexpr char kMinutesSql[] =
    "SELECT reserved_at / 60000, count(*) FROM reservations INDEXED BY reservations_until"
    " WHERE reserved_until >= ?1 AND reserved_at >= ?1 AND reserved_at < ?2"
    " GROUP BY 1 ORDER BY 1";

// The window's sum runs over every group before LIMIT: the total the unlisted pairs come from.
constexpr char kPairsSql[] =
    "SELECT campaign, agent, count(*), max(reserved_at), sum(count(*)) OVER ()"
    " FROM reservations INDEXED BY reservations_until"
    " WHERE reserved_until >= ?1 AND reserved_at >= ?1 AND reserved_at < ?2"
    " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT ?3";

core::Result<ActivityData> ReadActivity(Database& db, const ActivityQuery& query) {
  ActivityData data;
  auto minutes = db.Prepare(kMinutesSql, "activity: minutes");
  if (!minutes) return core::Fail(minutes.error());
  minutes->BindInt64(1, ToUnixMs(query.minutes_since));
  minutes->BindInt64(2, ToUnixMs(query.until));
  while (true) {
    auto row = minutes->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    data.minutes.push_back(
        MinuteCount{minutes->ColumnInt64(0), ClampTo<std::uint64_t>(minutes->ColumnInt64(1))});
  }
  auto pairs = db.Prepare(kPairsSql, "activity: campaigns and agents");
  if (!pairs) return core::Fail(pairs.error());
  pairs->BindInt64(1, ToUnixMs(query.pairs_since));
  pairs->BindInt64(2, ToUnixMs(query.until));
  pairs->BindInt64(3, static_cast<std::int64_t>(kActivityMaxPairs));
  std::uint64_t total = 0;
  while (true) {
    auto row = pairs->Step();
    if (!row) return core::Fail(row.error());
    if (!*row) break;
    data.pairs.push_back(CampaignAgentCount{
        std::string(pairs->ColumnText(0)), std::string(pairs->ColumnText(1)),
        ClampTo<std::uint64_t>(pairs->ColumnInt64(2)), FromUnixMs(pairs->ColumnInt64(3))});
    total = ClampTo<std::uint64_t>(pairs->ColumnInt64(4));
  }
  data.unlisted = UnlistedAllocations(data.pairs, total);
  return data;
}

}  // namespace

core::Result<ActivityData> QueryActivity(Database& db, const ActivityQuery& query) {
  // One read transaction: the minutes and the pairs count the same allocations.
  return InReadTransaction(db, "activity", [&] { return ReadActivity(db, query); });
}

}  // namespace cidrotor::store::sqlite
