#include "service/observed_store.h"

#include <chrono>
#include <utility>

namespace cidrotor::service {

void ObservedStore::Allocate(core::AllocationRequest request,
                             store::Callback<core::Allocation> done) {
  // A steady clock for the duration (the injected clock is wall time, for the minute series).
  const auto started = std::chrono::steady_clock::now();
  inner_.Allocate(std::move(request),
                  [this, started, done = std::move(done)](core::Result<core::Allocation> result) {
                    const auto latency = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started);
                    if (result) {
                      telemetry_.RecordAllocated(*result, latency, clock_.Now());
                    } else {
                      telemetry_.RecordRefused(result.error().code(), latency);
                    }
                    done(std::move(result));
                  });
}

}  // namespace cidrotor::service
