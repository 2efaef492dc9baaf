#include "http/error_response.h"

#include <string>

#include "http/json_text.h"

namespace cidrotor::http {
namespace {

std::string ErrorBody(std::string_view code, std::string_view detail, std::string_view field) {
  std::string body;
  body.reserve(64 + detail.size() + field.size());
  body.append(R"({"success":false,"error":)");
  AppendJsonString(body, code);
  body.append(R"(,"detail":)");
  AppendJsonString(body, detail);
  if (!field.empty()) {
    body.append(R"(,"field":)");
    AppendJsonString(body, field);
  }
  body.push_back('}');
  return body;
}

void AddErrorHeaders(const core::Error& error, Response& response) {
  if (error.code() == core::ErrorCode::kRateLimited) {
    const std::uint32_t seconds =
        error.retry_after_seconds() == 0 ? 1 : error.retry_after_seconds();
    response.AddHeader("Retry-After", std::to_string(seconds));
  } else if (error.code() == core::ErrorCode::kUnauthorized) {
    response.AddHeader("WWW-Authenticate", "Bearer");
  }
}

}  // namespace

Response ErrorResponse(const core::Error& error) {
  Response response;
  response.status = core::StatusCodeFor(error.code());
  response.error_code = core::ErrorCodeName(error.code());
  response.body = ErrorBody(response.error_code, error.detail(), error.field());
  AddErrorHeaders(error, response);
  return response;
}

Response PlainErrorResponse(const core::Error& error) {
  Response response;
  response.status = core::StatusCodeFor(error.code());
  response.error_code = core::ErrorCodeName(error.code());
  response.content_type = kTextContentType;
  AddErrorHeaders(error, response);
  return response;
}

Response MethodNotAllowedResponse(std::string_view allow) {
  Response response;
  response.status = 405;
  response.body =
      ErrorBody("method_not_allowed", "method not allowed; allowed: " + std::string(allow), "");
  response.AddHeader("Allow", allow);
  return response;
}

Response PayloadTooLargeResponse(std::size_t body_limit) {
  Response response;
  response.status = 413;
  response.body = ErrorBody("payload_too_large",
                            "body exceeds " + std::to_string(body_limit) + " bytes", "body");
  response.close = true;
  return response;
}

Response MalformedRequestResponse(std::string_view detail) {
  Response response;
  response.status = 400;
  response.body = ErrorBody(core::ErrorCodeName(core::ErrorCode::kInvalidArgument), detail, "");
  response.close = true;
  return response;
}

}  // namespace cidrotor::http
