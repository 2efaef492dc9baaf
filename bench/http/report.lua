-- Shared by the wrk scripts: one machine-readable line per run, read by bench/run.sh.
-- Non-2xx answers are counted as errors (wrk's own summary only counts socket errors).
non2xx = 0

function count_status(status)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT rps=%.0f p50_us=%d p99_us=%d errors=%d requests=%d\n",
                         summary.requests / (summary.duration / 1e6),
                         latency:percentile(50), latency:percentile(99), errors,
                         summary.requests))
end
