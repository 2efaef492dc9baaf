#include "support/webhook_receiver.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

namespace cidrotor::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

std::string WebhookTestCaFile() {
  return std::string(CIDROTOR_TEST_FIXTURES_DIR) + "/webhook-test-cert.pem";
}

struct WebhookReceiver::Impl {
  Options options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  ssl::context tls{ssl::context::tls_server};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ReceivedHook> received;  // guarded by mu
  std::size_t answered = 0;            // guarded by mu
  std::thread thread;

  template <class Stream>
  void Serve(Stream& stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    beast::error_code ec;
    http::read(stream, buffer, request, ec);
    if (ec) return;
    ReceivedHook hook;
    hook.target = std::string(request.target());
    hook.body = request.body();
    hook.at = std::chrono::steady_clock::now();
    for (const auto& field : request) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      hook.headers[name] = std::string(field.value());
    }
    unsigned status = 200;
    {
      std::lock_guard lock(mu);
      if (answered < options.statuses.size()) status = options.statuses[answered];
      ++answered;
      received.push_back(std::move(hook));
    }
    cv.notify_all();
    if (options.delay.count() > 0) std::this_thread::sleep_for(options.delay);
    if (options.stall_body) {
      const std::string head = "HTTP/1.1 " + std::to_string(status) +
                               " OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n{";
      boost::asio::write(stream, boost::asio::buffer(head), ec);
      std::this_thread::sleep_for(std::chrono::seconds(3));
      return;
    }
    http::response<http::string_body> response{static_cast<http::status>(status), 11};
    response.body() = "{}";
    if (!options.retry_after.empty() && (status < 200 || status >= 300)) {
      response.set(http::field::retry_after, options.retry_after);
    }
    response.keep_alive(false);
    response.prepare_payload();
    http::write(stream, response, ec);
  }

  void Run() {
    for (;;) {
      tcp::socket socket(io);
      beast::error_code ec;
      acceptor.accept(socket, ec);
      if (ec) return;  // closed by the destructor
      if (options.tls) {
        ssl::stream<tcp::socket> stream(std::move(socket), tls);
        stream.handshake(ssl::stream_base::server, ec);
        if (!ec) Serve(stream);
        stream.shutdown(ec);
      } else {
        Serve(socket);
        socket.shutdown(tcp::socket::shutdown_both, ec);
      }
    }
  }
};

WebhookReceiver::WebhookReceiver(Options options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.tls) {
    const std::string dir = CIDROTOR_TEST_FIXTURES_DIR;
    impl_->tls.use_certificate_chain_file(dir + "/webhook-test-cert.pem");
    impl_->tls.use_private_key_file(dir + "/webhook-test-key.pem", ssl::context::pem);
  }
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol());
  impl_->acceptor.bind(endpoint);
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
}

WebhookReceiver::~WebhookReceiver() {
  beast::error_code ec;
  // shutdown() wakes the blocked accept(); close() alone may not.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  impl_->acceptor.close(ec);
  impl_->thread.join();
}

std::string WebhookReceiver::Url(const std::string& path) const {
  return std::string(impl_->options.tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<ReceivedHook> WebhookReceiver::WaitFor(std::size_t count,
                                                   std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->received.size() >= count; });
  return impl_->received;
}

std::size_t WebhookReceiver::count() {
  std::lock_guard lock(impl_->mu);
  return impl_->received.size();
}

}  // namespace cidrotor::test_support
