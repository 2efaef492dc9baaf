// `cidrotor export --format vicidial-dids`: the pool as rows of VICIdial's inbound-DID table
// (vicidial_inbound_dids), so a center enters its numbers once (SPEC): inbound calls to a rotated
// number, callbacks above all, then reach VICIdial as a known DID.
//
// Output: SQL for VICIdial's MySQL/MariaDB (`mysql asterisk < dids.sql`), INSERT IGNORE in
// statements of 1,000 rows: a DID VICIdial already has (did_pattern is its unique key) is left as
// the admin configured it. Each number gets did_pattern = prefix + its 10 digits, a description
// naming cidrotor, its pool and carrier (50 bytes at most: VICIdial's column holds 50
// characters), did_active 'Y' (a number out of rotation here is still called back), and a route:
// IN_GROUP to the given in-group, or else EXTEN to VICIdial's own default DID extension
// (9998811112 in context `default`), to be routed later in VICIdial's admin pages.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "core/result.h"
#include "store/journal.h"

namespace cidrotor::cli {

struct VicidialDidOptions {
  std::string in_group;             // empty: route EXTEN to VICIdial's default DID extension
  std::string did_prefix;           // before the 10 digits: "1" (11-digit DIDs), "+1" (E.164)
  std::optional<std::string> pool;  // only that pool's numbers
};

// Errors: kInvalidArgument naming `--in-group` (VICIdial group ids: 2..20 of A-Z a-z 0-9 _ -),
// `--did-prefix` (0..4 digits after an optional +) or `--pool` (a pool name).
[[nodiscard]] core::Result<void> CheckVicidialDidOptions(const VicidialDidOptions& options);

// Writes the SQL as the numbers stream in; counts what it wrote.
class VicidialDidSink final : public store::LoadSink {
 public:
  VicidialDidSink(std::ostream& out, VicidialDidOptions options);
  ~VicidialDidSink() override;  // ends the last statement and flushes

  void OnNumber(const core::NumberSpec& spec, const core::NumberUsage& usage) override;
  void OnLiveReservation(const core::Reservation&) override {}

  std::uint64_t written() const { return written_; }

 private:
  void Flush();

  std::ostream& out_;
  VicidialDidOptions options_;
  std::string text_;
  std::uint64_t written_ = 0;
  std::size_t rows_in_statement_ = 0;
};

}  // namespace cidrotor::cli
