// Turns an HTTP request's query string and body into service::Params: the one place that knows
// how parameters travel over HTTP. Query strings and application/x-www-form-urlencoded bodies
// are percent-decoded (`+` is a space) with Boost.URL; JSON bodies (application/json, or a body
// starting with `{` sent without a Content-Type) must be one object whose values are strings,
// numbers or booleans: numbers and booleans become their text ("100", "true"), null counts as
// absent. Body parameters are added after the query's, so they win (Params: last value wins).
// Pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"
#include "service/params.h"

namespace cidrotor::http {

enum class ParamSources : std::uint8_t {
  kQuery,         // GET endpoints: the body is ignored
  kQueryAndBody,  // POST/PATCH endpoints: query, then form or JSON body
};

// Errors (kInvalidArgument): field `target` for a malformed query string, `body` for a
// malformed or unsupported body, or the parameter's name when it is over a Params limit or is
// a JSON array/object.
[[nodiscard]] core::Result<service::Params> DecodeParams(const Request& request,
                                                         ParamSources sources);

// The last non-empty `format` value of the request's query string, read from the raw bytes
// (no decoding, no limits): what an error found while decoding the query should answer in
// (GET /next-cid?format=plain answers errors with an empty body, whatever else is wrong).
// Empty when absent.
std::string_view RawFormat(const Request& request);

// Whether the request's body is a multipart form (Content-Type multipart/*, as `curl -F` sends):
// no route takes one, and each says so.
bool IsMultipart(const Request& request);

// Percent-decodes one path segment (the `{caller_id}` of /api/numbers/{caller_id}).
// Errors: kInvalidArgument naming `field` for a malformed escape.
[[nodiscard]] core::Result<std::string> DecodePathSegment(std::string_view segment,
                                                          std::string_view field);

}  // namespace cidrotor::http
