// Store::GetActivity on PostgreSQL: two statements of one QueryBatch (one round trip, one
// snapshot), each a range of the reservations_until index as in sqlite/activity_query.cc.
#include <string>

#include "store/journal_support.h"
#include "store/postgres/queries.h"
#include "store/row_codec.h"

namespace cidrotor::store::postgres {

core::Result<ActivityData> QueryActivity(Connection& conn, const ActivityQuery& query) {
  QueryBatch batch;
  batch.Sql(
      "SELECT reserved_at / 60000, count(*) FROM reservations"
      " WHERE reserved_until >= $1 AND reserved_at >= $1 AND reserved_at < $2"
      " GROUP BY 1 ORDER BY 1");
  batch.Int(ToUnixMs(query.minutes_since));
  batch.Int(ToUnixMs(query.until));
  // The window's sum runs over every group before LIMIT: the total the unlisted pairs come from.
  batch.Sql(
      "SELECT campaign, agent, count(*), max(reserved_at), sum(count(*)) OVER ()"
      " FROM reservations"
      " WHERE reserved_until >= $1 AND reserved_at >= $1 AND reserved_at < $2"
      " GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT $3");
  batch.Int(ToUnixMs(query.pairs_since));
  batch.Int(ToUnixMs(query.until));
  batch.Int(static_cast<std::int64_t>(kActivityMaxPairs));
  ActivityData data;
  std::uint64_t total = 0;
  auto ok = conn.Run(batch, "activity", [&](std::size_t statement, Rows rows) {
    for (int i = 0; i < rows.size(); ++i) {
      if (statement == 0) {
        data.minutes.push_back(
            MinuteCount{rows.Int64(i, 0), ClampTo<std::uint64_t>(rows.Int64(i, 1))});
      } else {
        data.pairs.push_back(CampaignAgentCount{
            std::string(rows.Text(i, 0)), std::string(rows.Text(i, 1)),
            ClampTo<std::uint64_t>(rows.Int64(i, 2)), FromUnixMs(rows.Int64(i, 3))});
        total = ClampTo<std::uint64_t>(rows.Int64(i, 4));
      }
    }
  });
  if (!ok) return core::Fail(ok.error());
  data.unlisted = UnlistedAllocations(data.pairs, total);
  return data;
}

}  // namespace cidrotor::store::postgres
