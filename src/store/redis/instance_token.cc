#include "store/redis/instance_token.h"

#include <unistd.h>

#include <random>

namespace cidrotor::store::redis {

const std::string& InstanceToken() {
  static const std::string token = [] {
    char host[256] = {};
    if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
    std::random_device device;
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + std::to_string(device());
  }();
  return token;
}

}  // namespace cidrotor::store::redis
