#include "service/number_events.h"

#include <fmt/format.h>

#include "service/number_rows.h"

namespace cidrotor::service {

void AppendJsonEscaped(std::string& out, std::string_view text) {
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      out.push_back(c);
    }
  }
}

namespace {

// A share as JSON: 4 decimals (0.0512), or null for a baseline the number did not have.
std::string ShareJson(double share) {
  return share < 0 ? std::string("null") : fmt::format("{:.4f}", share);
}

}  // namespace

std::string NumberRestedJson(const core::NumberView& number, std::string_view by,
                             core::TimePoint at, const core::AnswerRateDrop* drop) {
  const core::PhoneNumber caller_id = number.spec.caller_id;
  std::string out = fmt::format(R"({{"event":"{}","caller_id":"{}","area_code":"{:03}","pool":")",
                                kNumberRestedEvent, caller_id.ToString(), caller_id.area_code());
  AppendJsonEscaped(out, number.spec.pool);
  out += R"(","rest_until":")";
  out += FormatIsoUtc(number.usage.rest_until);
  out += R"(","by":")";
  AppendJsonEscaped(out, by);
  out += fmt::format(R"(","at":"{}")", FormatIsoUtc(core::ToCompact(at)));
  if (drop != nullptr) {
    out += fmt::format(R"(,"calls":{},"answered":{},"answer_rate":{},"area_code_answer_rate":{},)"
                       R"("pool_answer_rate":{})",
                       drop->calls, drop->answered, ShareJson(drop->rate),
                       ShareJson(drop->area_code_baseline), ShareJson(drop->pool_baseline));
  }
  out += '}';
  return out;
}

}  // namespace cidrotor::service
