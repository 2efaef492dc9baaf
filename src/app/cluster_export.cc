#include "app/cluster_export.h"

#include "app/store_factory.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/queries.h"

namespace cidrotor::app {

cli::NumberScan ClusterNumberScan(const Config& config) {
  return [settings = PostgresSettings(config)](
             core::TimePoint now, store::LoadSink& sink) -> core::Result<std::uint64_t> {
    auto connection = store::postgres::Connection::Open(settings);
    if (!connection) return core::Fail(connection.error());
    auto summary = store::postgres::LoadState(*connection, now, sink);
    if (!summary) return core::Fail(summary.error());
    return summary->numbers;
  };
}

}  // namespace cidrotor::app
