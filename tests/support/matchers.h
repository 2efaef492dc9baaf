// gmock matchers for core::Result: failures print the error (leveldb's IsOK idea).
#pragma once

#include <gmock/gmock.h>

#include "core/result.h"

namespace cidrotor::testing {

MATCHER(IsOk, "is ok") {
  if (arg.has_value()) return true;
  *result_listener << "error: " << arg.error().ToString();
  return false;
}

MATCHER_P(HasError, code, "fails with " + std::string(core::ErrorCodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "error: " << arg.error().ToString();
  return arg.error().code() == code;
}

MATCHER_P2(HasFieldError, code, field,
           "fails with " + std::string(core::ErrorCodeName(code)) + " on " + field) {
  if (arg.has_value()) {
    *result_listener << "succeeded";
    return false;
  }
  *result_listener << "error: " << arg.error().ToString();
  return arg.error().code() == code && arg.error().field() == field;
}

}  // namespace cidrotor::testing
