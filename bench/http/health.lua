-- GET /health (or nginx's fixed body): the HTTP ceiling of this machine.
dofile(os.getenv("CIDROTOR_BENCH_DIR") .. "/report.lua")
wrk.method = "GET"
wrk.path = "/health"
function response(status, headers, body) count_status(status) end
