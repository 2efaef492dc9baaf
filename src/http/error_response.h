// THE one place mapping errors to HTTP (STYLE §3): core::ErrorCode -> status, and the error body
// `{"success":false,"error":CODE,"detail":"...","field":"..."}` (`field` only when one input is
// at fault). Transport-level failures that have no core code (405, 413, malformed HTTP) are
// built here too. Pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace cidrotor::http {

// The JSON error response, with the status core::StatusCodeFor gives the code. 429 adds
// `Retry-After` (at least 1 s); 401 adds `WWW-Authenticate: Bearer`.
Response ErrorResponse(const core::Error& error);

// The same status and headers with an empty text/plain body (GET /next-cid?format=plain, so that
// `${CURL(...)}` yields an empty caller-ID on error).
Response PlainErrorResponse(const core::Error& error);

// 405 with `Allow: <allow>` and error "method_not_allowed".
Response MethodNotAllowedResponse(std::string_view allow);

// 413 with error "payload_too_large", field "body"; the connection is closed after it.
Response PayloadTooLargeResponse(std::size_t body_limit);

// 400 for a request Beast could not parse; the connection is closed after it.
Response MalformedRequestResponse(std::string_view detail);

}  // namespace cidrotor::http
