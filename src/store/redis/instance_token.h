// This process's name in Redis: `host:pid:random`, so a GET of a key holding it names the
// instance. One per process, as one `serve` process is one instance.
#pragma once

#include <string>

namespace cidrotor::store::redis {

const std::string& InstanceToken();

}  // namespace cidrotor::store::redis
