#include "store/postgres/spill_codec.h"

#include <boost/crc.hpp>
#include <cstring>
#include <type_traits>

namespace cidrotor::store::postgres {
namespace {

// A record larger than this is a corrupt length, not a record: an append carries at most a few
// thousand entries of a few hundred bytes (an import's chunk).
constexpr std::uint32_t kMaxRecordBytes = 256u << 20;
constexpr std::size_t kFrameBytes = 8;  // length, CRC-32

enum class Kind : std::uint8_t { kAppend = 1, kLog = 2, kCheckpoint = 3 };

std::uint32_t Crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  template <class T>
  requires std::is_integral_v<T>
  void Int(T value) {
    auto bits = static_cast<std::make_unsigned_t<T>>(value);
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      out_.push_back(static_cast<char>(bits & 0xFF));
      bits = static_cast<decltype(bits)>(bits >> 8);
    }
  }
  void Text(std::string_view text) {
    Int(static_cast<std::uint32_t>(text.size()));
    out_.append(text);
  }
  void Time(core::TimePoint t) { Int(std::int64_t{t.time_since_epoch().count()}); }
  void Number(core::PhoneNumber n) { Int(n.digits()); }
  template <class T>
  void Optional(const std::optional<T>& value) {
    Int(std::uint8_t{value.has_value()});
    if (value) Int(*value);
  }

  void Usage(const core::NumberUsage& u) {
    Int(u.last_used);
    Int(u.hour_start);
    Int(u.day_start);
    Int(u.hourly_used);
    Int(u.daily_used);
    Int(u.warm_from);
    Int(u.rest_until);
    Int(u.last_used_ms);
  }
  void Log(const ApiLogEntry& e) {
    Time(e.timestamp);
    Text(e.endpoint);
    Text(e.method);
    Text(e.agent);
    Text(e.campaign);
    Text(e.caller_id_allocated);
    Int(e.response_time_us);
    Int(e.status_code);
  }

  void Entry(const NumberUpserted& e) {
    Number(e.spec.caller_id);
    Text(e.spec.carrier);
    Text(e.spec.pool);
    Text(e.spec.state);
    Int(e.spec.hourly_cap);
    Int(e.spec.daily_cap);
    Int(std::uint8_t{e.spec.active});
    Usage(e.usage);
    Int(e.version);
  }
  void Entry(const NumberDeleted& e) {
    Number(e.caller_id);
    Usage(e.kept.usage);
    Int(e.kept.keep_until);
    Time(e.at);
    Int(e.version);
  }
  void Entry(const ReservationMade& e) {
    const core::Reservation& r = e.reservation;
    Int(r.id);
    Number(r.caller_id);
    Number(r.destination);
    Text(r.campaign);
    Text(r.agent);
    Text(r.pool);
    Optional(r.lead_id);
    Int(static_cast<std::uint8_t>(r.match));
    Time(r.reserved_at);
    Time(r.reserved_until);
    Usage(e.usage);
    Int(e.previous_id);
  }
  void Entry(const ReservationReleased& e) {
    Int(e.reservation_id);
    Time(e.released_at);
    Int(static_cast<std::uint8_t>(e.outcome));
    Optional(e.duration_seconds);
    Int(std::uint8_t{e.late});
  }
  void Entry(const ApiLogEntry& e) { Log(e); }
  void Entry(const CampaignPoolChanged& e) {
    Text(e.campaign);
    Int(std::uint8_t{e.pool.has_value()});
    if (e.pool) Text(*e.pool);
  }
  void Entry(const PoolSettingsChanged& e) {
    Text(e.settings.pool);
    Int(std::uint8_t{e.settings.fallback_any});
  }

 private:
  std::string& out_;
};

// Reads what Writer wrote. Every read checks the bytes left; the first failure sticks (ok()
// false) and later reads return zeros, so a decoder reads a whole record and checks once.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }

  template <class T>
  requires std::is_integral_v<T> T Int() {
    if (!Need(sizeof(T))) return T{};
    std::make_unsigned_t<T> bits = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      bits = static_cast<decltype(bits)>(
          bits | static_cast<decltype(bits)>(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i));
    }
    pos_ += sizeof(T);
    return static_cast<T>(bits);
  }
  std::string Text() {
    const auto size = Int<std::uint32_t>();
    if (!Need(size)) return {};
    std::string text(in_.substr(pos_, size));
    pos_ += size;
    return text;
  }
  bool Bool() {
    const auto b = Int<std::uint8_t>();
    if (b > 1) ok_ = false;
    return b == 1;
  }
  core::TimePoint Time() { return core::TimePoint(core::Milliseconds(Int<std::int64_t>())); }
  core::PhoneNumber Number() {
    const auto digits = Int<std::uint64_t>();
    if (digits < 2'000'000'000 || digits > 9'999'999'999) {
      ok_ = false;
      return core::PhoneNumber::FromValidDigits(2'015'550'100);
    }
    return core::PhoneNumber::FromValidDigits(digits);
  }
  template <class T>
  std::optional<T> Optional() {
    if (!Bool()) return std::nullopt;
    return Int<T>();
  }
  template <class E>
  E Enum(E last) {
    const auto value = Int<std::uint8_t>();
    if (value > static_cast<std::uint8_t>(last)) ok_ = false;
    return static_cast<E>(value);
  }

  core::NumberUsage Usage() {
    core::NumberUsage u;
    u.last_used = Int<core::CompactTime>();
    u.hour_start = Int<core::CompactTime>();
    u.day_start = Int<core::CompactTime>();
    u.hourly_used = Int<std::uint16_t>();
    u.daily_used = Int<std::uint16_t>();
    u.warm_from = Int<core::CompactTime>();
    u.rest_until = Int<core::CompactTime>();
    u.last_used_ms = Int<std::uint16_t>();
    return u;
  }
  ApiLogEntry Log() {
    ApiLogEntry e;
    e.timestamp = Time();
    e.endpoint = Text();
    e.method = Text();
    e.agent = Text();
    e.campaign = Text();
    e.caller_id_allocated = Text();
    e.response_time_us = Int<std::uint32_t>();
    e.status_code = Int<std::uint16_t>();
    return e;
  }

  JournalEntry Entry() {
    switch (Int<std::uint8_t>()) {
      case 0: {
        NumberUpserted e;
        e.spec.caller_id = Number();
        e.spec.carrier = Text();
        e.spec.pool = Text();
        e.spec.state = Text();
        e.spec.hourly_cap = Int<std::uint16_t>();
        e.spec.daily_cap = Int<std::uint16_t>();
        e.spec.active = Bool();
        e.usage = Usage();
        e.version = Int<ChangeVersion>();
        return e;
      }
      case 1: {
        NumberDeleted e{.caller_id = Number()};
        e.kept.usage = Usage();
        e.kept.keep_until = Int<core::CompactTime>();
        e.at = Time();
        e.version = Int<ChangeVersion>();
        return e;
      }
      case 2: {
        ReservationMade e;
        core::Reservation& r = e.reservation;
        r.id = Int<std::uint64_t>();
        r.caller_id = Number();
        r.destination = Number();
        r.campaign = Text();
        r.agent = Text();
        r.pool = Text();
        r.lead_id = Optional<std::uint64_t>();
        r.match = Enum(core::MatchTier::kAny);
        r.reserved_at = Time();
        r.reserved_until = Time();
        e.usage = Usage();
        e.previous_id = Int<std::uint64_t>();
        return e;
      }
      case 3: {
        ReservationReleased e;
        e.reservation_id = Int<std::uint64_t>();
        e.released_at = Time();
        e.outcome = Enum(core::CallOutcome::kOther);
        e.duration_seconds = Optional<std::uint32_t>();
        e.late = Bool();
        return e;
      }
      case 4:
        return Log();
      case 5: {
        CampaignPoolChanged e;
        e.campaign = Text();
        if (Bool()) e.pool = Text();
        return e;
      }
      case 6: {
        PoolSettingsChanged e;
        e.settings.pool = Text();
        e.settings.fallback_any = Bool();
        return e;
      }
      default:
        ok_ = false;
        return ApiLogEntry{};
    }
  }

 private:
  bool Need(std::size_t bytes) {
    if (!ok_ || in_.size() - pos_ < bytes) {
      ok_ = false;
      return false;
    }
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

std::optional<SpillRecord> DecodeBody(std::string_view body) {
  Reader r(body);
  SpillRecord record;
  switch (static_cast<Kind>(r.Int<std::uint8_t>())) {
    case Kind::kAppend: {
      SpilledAppend append;
      append.seq = r.Int<std::uint64_t>();
      const auto count = r.Int<std::uint32_t>();
      for (std::uint32_t i = 0; i < count && r.ok(); ++i) append.entries.push_back(r.Entry());
      record = std::move(append);
      break;
    }
    case Kind::kLog: {
      SpilledLog log;
      log.index = r.Int<std::uint64_t>();
      log.row = r.Log();
      record = std::move(log);
      break;
    }
    case Kind::kCheckpoint: {
      SpillCheckpoint checkpoint;
      checkpoint.done_seq = r.Int<std::uint64_t>();
      checkpoint.logs_done = r.Int<std::uint64_t>();
      record = checkpoint;
      break;
    }
    default:
      return std::nullopt;
  }
  if (!r.ok() || !r.done()) return std::nullopt;
  return record;
}

// Frames what `body` writes: its length and CRC-32 in front.
template <class Body>
void Frame(std::string& out, Body&& body) {
  const std::size_t frame = out.size();
  out.append(kFrameBytes, '\0');
  Writer w(out);
  body(w);
  const std::string_view written = std::string_view(out).substr(frame + kFrameBytes);
  std::string header;
  Writer h(header);
  h.Int(static_cast<std::uint32_t>(written.size()));
  h.Int(Crc32(written));
  std::memcpy(out.data() + frame, header.data(), kFrameBytes);
}

}  // namespace

void EncodeSpilledAppend(std::uint64_t seq, std::span<const JournalEntry> entries,
                         std::string& out) {
  Frame(out, [&](Writer& w) {
    w.Int(static_cast<std::uint8_t>(Kind::kAppend));
    w.Int(seq);
    w.Int(static_cast<std::uint32_t>(entries.size()));
    for (const JournalEntry& entry : entries) {
      // The variant's index names the type: the JournalEntry order is part of the format.
      w.Int(static_cast<std::uint8_t>(entry.index()));
      std::visit([&](const auto& e) { w.Entry(e); }, entry);
    }
  });
}

void EncodeSpilledLog(std::uint64_t index, const ApiLogEntry& row, std::string& out) {
  Frame(out, [&](Writer& w) {
    w.Int(static_cast<std::uint8_t>(Kind::kLog));
    w.Int(index);
    w.Log(row);
  });
}

void EncodeSpillCheckpoint(const SpillCheckpoint& checkpoint, std::string& out) {
  Frame(out, [&](Writer& w) {
    w.Int(static_cast<std::uint8_t>(Kind::kCheckpoint));
    w.Int(checkpoint.done_seq);
    w.Int(checkpoint.logs_done);
  });
}

std::optional<DecodedSpillRecord> DecodeSpillRecord(std::string_view in) {
  Reader frame(in.substr(0, kFrameBytes));
  const auto size = frame.Int<std::uint32_t>();
  const auto crc = frame.Int<std::uint32_t>();
  if (!frame.ok() || size > kMaxRecordBytes || in.size() - kFrameBytes < size) return std::nullopt;
  const std::string_view body = in.substr(kFrameBytes, size);
  if (Crc32(body) != crc) return std::nullopt;
  auto record = DecodeBody(body);
  if (!record) return std::nullopt;
  return DecodedSpillRecord{std::move(*record), kFrameBytes + size};
}

}  // namespace cidrotor::store::postgres
