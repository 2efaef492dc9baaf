#include "e2e/e2e_fixture.h"

#include <fmt/format.h>

#include <iostream>

namespace cidrotor::e2e {

void E2eTest::TearDown() {
  if (HasFailure() && server_ != nullptr) {
    std::cerr << "---- server log ----\n" << server_->Log() << "---- end of server log ----\n";
  }
}

void E2eTest::StartServer(Env env) {
  env_ = std::move(env);
  env_.try_emplace("ADMIN_TOKEN", kAdminToken);
  RestartServer();
}

void E2eTest::RestartServer() {
  client_.reset();
  if (server_ != nullptr && server_->running()) server_->Kill();
  test_support::ServerProcess::Options options;
  options.env = env_;
  options.work_dir = dir_.path();
  std::string error;
  auto started = test_support::ServerProcess::Start(std::move(options), &error);
  ASSERT_NE(started, nullptr) << error;
  server_ = std::move(started);
  client_ = std::make_unique<HttpClient>(server_->port());
}

HttpResponse E2eTest::Admin(const std::string& method, const std::string& target,
                            const std::string& body, const std::string& content_type) {
  auto headers = test_support::BearerAuth(kAdminToken);
  if (!body.empty()) headers.emplace("Content-Type", content_type);
  return client_->Request(method, target, body, headers);
}

void E2eTest::AddNumbers(std::uint32_t npa, std::uint32_t first_line, int count,
                         const std::string& extra_form) {
  for (int i = 0; i < count; ++i) {
    std::string form = "caller_id=" + Number(npa, first_line + static_cast<std::uint32_t>(i)) +
                       "&carrier=" + test_support::UrlEncode("AT&T");
    if (!extra_form.empty()) form += "&" + extra_form;
    const auto response = Admin("POST", "/add-number", form);
    ASSERT_TRUE(response.status == 200 || response.status == 201)
        << response.status << " " << response.error << " " << response.body;
  }
}

HttpResponse E2eTest::NextCid(const std::string& query) {
  return client_->Get("/next-cid?" + query);
}

boost::json::value ParseJson(const std::string& body) {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  return ec ? boost::json::value() : value;
}

std::string Field(const boost::json::value& json, const char* key) {
  const auto* object = json.if_object();
  if (object == nullptr) return {};
  const auto* member = object->if_contains(key);
  if (member == nullptr) return {};
  if (const auto* s = member->if_string()) return std::string(s->c_str());
  if (member->is_null()) return {};
  return boost::json::serialize(*member);
}

bool ReservedForIsTtl(const boost::json::value& json, int ttl) {
  const std::string text = Field(json, "reserved_for");
  return text == std::to_string(ttl);
}

std::string Number(std::uint32_t npa, std::uint32_t line) {
  return fmt::format("{}555{:04}", npa, line);
}

}  // namespace cidrotor::e2e
