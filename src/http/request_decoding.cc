#include "http/request_decoding.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/params_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>
#include <cmath>
#include <utility>

namespace cidrotor::http {
namespace {

using core::Error;
using core::Fail;

enum class BodyKind { kNone, kForm, kJson, kUnsupported };

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\r' ||
                           text.front() == '\n')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace

bool IsMultipart(const Request& request) {
  constexpr std::string_view kMultipart = "multipart/";
  const std::string_view media = Trim(request.content_type);
  return media.size() >= kMultipart.size() &&
         EqualsIgnoreCase(media.substr(0, kMultipart.size()), kMultipart);
}

namespace {

BodyKind ClassifyBody(const Request& request) {
  if (Trim(request.body).empty()) return BodyKind::kNone;
  const std::string_view media =
      Trim(request.content_type.substr(0, request.content_type.find(';')));
  if (EqualsIgnoreCase(media, "application/json") ||
      (media.size() > 5 && EqualsIgnoreCase(media.substr(media.size() - 5), "+json"))) {
    return BodyKind::kJson;
  }
  // A JSON object sent as a form, or without a type, is taken as JSON: `curl -d '{...}'` labels
  // its body a form unless told otherwise, and a form's first name never starts with '{'.
  const bool object = Trim(request.body).front() == '{';
  if (EqualsIgnoreCase(media, "application/x-www-form-urlencoded") || media.empty()) {
    return object ? BodyKind::kJson : BodyKind::kForm;
  }
  return BodyKind::kUnsupported;
}

// Adds decoded key=value pairs of an encoded query (no leading '?').
core::Result<void> AddEncodedQuery(boost::urls::params_view params, service::Params& out) {
  for (const auto param : params) {
    // An empty pair (`a=1&&b=2`, a trailing `&` from a script joining `a=${X}&`) carries nothing,
    // as for the form parsers of browsers and frameworks.
    if (param.key.empty() && !param.has_value) continue;
    auto added = out.Add(param.key, param.has_value ? param.value : std::string());
    if (!added) return added;
  }
  return {};
}

core::Result<void> AddQuery(std::string_view target, service::Params& out) {
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) return Fail(Error::InvalidArgument("target", "is not a valid request target"));
  if (!url->has_query()) return {};
  return AddEncodedQuery(url->params(), out);
}

// Whether `c` may stand in a query as it is (RFC 3986: unreserved, sub-delims, ':', '@', '/',
// '?'; '%' starts an escape).
bool IsQueryChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

// A form whose producer left bytes unencoded that can only mean themselves (a space from
// `curl -d "carrier=AT T"`, UTF-8 typed into a hand-made body), with those bytes encoded, as
// browsers read such forms. A '%' that starts no escape is left for the parser to refuse: the
// body was encoded wrongly, and what it meant cannot be told.
std::string EncodeStrayBytes(std::string_view form) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  encoded.reserve(form.size() + 16);
  for (const char ch : form) {
    const auto c = static_cast<unsigned char>(ch);
    if (IsQueryChar(c)) {
      encoded.push_back(ch);
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 0xf]);
    }
  }
  return encoded;
}

core::Result<void> AddFormBody(std::string_view body, service::Params& out) {
  std::string_view form = Trim(body);
  std::string encoded;
  if (!boost::urls::parse_query(form)) {
    encoded = EncodeStrayBytes(form);
    form = encoded;
  }
  if (!boost::urls::parse_query(form)) {
    return Fail(
        Error::InvalidArgument("body", "is not a valid form body (a '%' starts no escape)"));
  }
  // Validated above, so this constructor does not throw. (libboost_url 1.81 lacks the
  // params_view(params_view, encoding_opts) constructor: it is declared but not exported.)
  return AddEncodedQuery(boost::urls::params_view(form, boost::urls::encoding_opts(true)), out);
}

// JSON numbers become the text a client would have typed: 100, not 1E2 or 100.0.
std::string NumberText(const boost::json::value& value) {
  if (value.is_int64()) return std::to_string(value.get_int64());
  if (value.is_uint64()) return std::to_string(value.get_uint64());
  const double d = value.get_double();
  if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.007199254740992e15) {
    return std::to_string(static_cast<long long>(d));
  }
  return fmt::format("{}", d);
}

core::Result<void> AddJsonBody(std::string_view body, service::Params& out) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 8;
  boost::json::value document = boost::json::parse(body, ec, {}, options);
  if (ec) return Fail(Error::InvalidArgument("body", "is not valid JSON: " + ec.message()));
  if (!document.is_object()) return Fail(Error::InvalidArgument("body", "must be a JSON object"));
  for (const auto& [key, value] : document.get_object()) {
    std::string text;
    switch (value.kind()) {
      case boost::json::kind::null:
        continue;  // absent
      case boost::json::kind::bool_:
        text = value.get_bool() ? "true" : "false";
        break;
      case boost::json::kind::int64:
      case boost::json::kind::uint64:
      case boost::json::kind::double_:
        text = NumberText(value);
        break;
      case boost::json::kind::string:
        text = std::string(value.get_string());
        break;
      case boost::json::kind::array:
      case boost::json::kind::object:
        return Fail(Error::InvalidArgument(std::string(key.substr(0, 64)),
                                           "must be a string, number or boolean"));
    }
    auto added = out.Add(std::string(key), std::move(text));
    if (!added) return added;
  }
  return {};
}

}  // namespace

core::Result<service::Params> DecodeParams(const Request& request, ParamSources sources) {
  service::Params params;
  if (auto query = AddQuery(request.target, params); !query) return Fail(std::move(query).error());
  if (sources == ParamSources::kQuery) return params;

  core::Result<void> body;
  switch (ClassifyBody(request)) {
    case BodyKind::kNone:
      break;
    case BodyKind::kForm:
      body = AddFormBody(request.body, params);
      break;
    case BodyKind::kJson:
      body = AddJsonBody(request.body, params);
      break;
    case BodyKind::kUnsupported:
      body = Fail(Error::InvalidArgument(
          "body", IsMultipart(request)
                      ? "is a multipart form (curl -F): send the fields as a form (curl -d "
                        "name=value) or as JSON"
                      : "unsupported Content-Type: send application/json or "
                        "application/x-www-form-urlencoded"));
      break;
  }
  if (!body) return Fail(std::move(body).error());
  return params;
}

std::string_view RawFormat(const Request& request) {
  const auto question = request.target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = request.target.substr(question + 1);
  std::string_view format;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
    if (pair.starts_with("format=") && pair.size() > 7) format = pair.substr(7);
  }
  return format;
}

core::Result<std::string> DecodePathSegment(std::string_view segment, std::string_view field) {
  const auto encoded = boost::urls::make_pct_string_view(segment);
  if (!encoded) {
    return Fail(Error::InvalidArgument(std::string(field), "has a malformed percent-escape"));
  }
  return encoded->decode();
}

}  // namespace cidrotor::http
