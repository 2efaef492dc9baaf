#include "agi/agi_request.h"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "core/phone_number.h"
#include "net/loggable.h"

namespace cidrotor::agi {
namespace {

int HexValue(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// Percent-decodes a query component (`+` is a space). nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '+') {
      out += ' ';
    } else if (ch == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += ch;
    }
  }
  return out;
}

// `reservation` is the short name dialplans use; the service parser knows `reservation_id`.
std::string CanonicalName(std::string name) {
  return name == "reservation" ? std::string("reservation_id") : name;
}

core::Result<void> AddPair(service::Params& params, std::string_view pair, bool decode) {
  if (pair.empty()) return {};
  const auto eq = pair.find('=');
  if (eq == std::string_view::npos) return {};  // a positional argument: not ours
  std::optional<std::string> name = std::string(pair.substr(0, eq));
  std::optional<std::string> value = std::string(pair.substr(eq + 1));
  if (decode) {
    name = PercentDecode(pair.substr(0, eq));
    value = PercentDecode(pair.substr(eq + 1));
    if (!name || !value) {
      return core::Fail(core::Error::InvalidArgument("script", "bad percent escape in query"));
    }
  }
  return params.Add(CanonicalName(std::move(*name)), std::move(*value));
}

// The script path with its query, from agi_network_script or else agi_request
// ("agi://host:4573/next-cid?campaign=X" -> "next-cid?campaign=X").
std::string_view ScriptWithQuery(const Environment& env) {
  if (auto script = env.Get("agi_network_script"); script && !script->empty()) return *script;
  std::string_view request = env.Get("agi_request").value_or("");
  if (const auto scheme = request.find("://"); scheme != std::string_view::npos) {
    request.remove_prefix(scheme + 3);
    const auto slash = request.find('/');
    request = slash == std::string_view::npos ? std::string_view() : request.substr(slash);
  }
  return request;
}

struct ScriptParts {
  std::string_view name;   // "next-cid"
  std::string_view query;  // "campaign=X&agent=Y", undecoded
};

ScriptParts SplitScript(const Environment& env) {
  std::string_view script = ScriptWithQuery(env);
  std::string_view query;
  if (const auto mark = script.find('?'); mark != std::string_view::npos) {
    query = script.substr(mark + 1);
    script = script.substr(0, mark);
  }
  while (!script.empty() && script.front() == '/') script.remove_prefix(1);
  while (!script.empty() && script.back() == '/') script.remove_suffix(1);
  return {script, query};
}

std::optional<AgiScript> ScriptNamed(std::string_view name) {
  if (name == "next-cid") return AgiScript::kNextCid;
  if (name == "release") return AgiScript::kRelease;
  if (name == "lookup") return AgiScript::kLookup;
  return std::nullopt;
}

// A dialled number: digits with an optional leading `+` (not `s`, `h`, `i`, `t`, `failed`...).
bool IsDialledNumber(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return false;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<AgiScript> AgiScriptOf(const Environment& env) {
  return ScriptNamed(SplitScript(env).name);
}

std::string_view AgiScriptName(AgiScript script) {
  switch (script) {
    case AgiScript::kNextCid:
      return "next-cid";
    case AgiScript::kRelease:
      return "release";
    case AgiScript::kLookup:
      return "lookup";
  }
  return "unknown";
}

core::Result<AgiRequest> ParseAgiRequest(const Environment& env) {
  AgiRequest request;
  request.channel = std::string(env.Get("agi_channel").value_or(""));
  request.uniqueid = std::string(env.Get("agi_uniqueid").value_or(""));

  const ScriptParts parts = SplitScript(env);
  std::string_view query = parts.query;
  const auto script = ScriptNamed(parts.name);
  if (!script) {
    return core::Fail(core::Error::NotFound(
        fmt::format("unknown AGI script `{}` (expected next-cid, release or lookup)",
                    parts.name.substr(0, 64)),
        "script"));
  }
  request.script = *script;

  service::Params& params = request.params;
  core::Result<void> added;
  // Outbound, the dialled number is the destination; inbound (lookup), it is one of ours.
  const bool inbound = request.script == AgiScript::kLookup;
  for (const char* name : {"agi_dnid", "agi_extension"}) {
    if (auto value = env.Get(name); value && IsDialledNumber(*value)) {
      added = params.Add(inbound ? "caller_id" : "to", std::string(*value));
      if (!added) return core::Fail(added.error());
    }
  }
  // A caller ID that is no NANP number (withheld, international, an extension) is no party
  // to search for: the lookup answers no_match rather than an error.
  if (auto party = env.Get("agi_callerid");
      inbound && party && core::PhoneNumber::ParseCallerId(*party, "from")) {
    if (added = params.Add("from", std::string(*party)); !added) return core::Fail(added.error());
  }
  // The caller ID name is next-cid's hint (VICIdial's call code, for the lead id), nothing to
  // release or lookup. A name too long to be a call code (an inbound caller sets their own) is
  // no reason to fail the call: it is left out.
  if (auto name = env.Get("agi_calleridname");
      request.script == AgiScript::kNextCid && name && *name != "unknown") {
    (void)params.Add("cidname", std::string(*name));
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    if (added = AddPair(params, query.substr(0, amp), true); !added) {
      return core::Fail(added.error());
    }
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
  }
  for (std::size_t n = 1; n <= kMaxEnvLines; ++n) {
    const auto arg = env.Get(fmt::format("agi_arg_{}", n));
    if (!arg) break;
    if (added = AddPair(params, *arg, false); !added) return core::Fail(added.error());
  }
  return request;
}

std::string DescribeChannel(const Environment& env) {
  const auto channel = env.Get("agi_channel");
  const auto uniqueid = env.Get("agi_uniqueid");
  return fmt::format("{} uniqueid={}", net::Loggable(channel.value_or("unknown channel"), 128),
                     net::Loggable(uniqueid.value_or("none"), 64));
}

}  // namespace cidrotor::agi
