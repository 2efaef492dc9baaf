// One FastAGI connection: read the environment block, run `next-cid`, `release` or `lookup` against
// the store within the AGI deadline, answer with SET VARIABLE commands (each waiting for Asterisk's
// `200 result=1`), close. A watchdog coroutine on the same strand closes the socket when the
// current read deadline passes, so a silent peer never holds a connection.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agi/agi_parser.h"
#include "agi/agi_reply.h"
#include "agi/agi_request.h"
#include "agi/agi_state.h"
#include "net/loggable.h"
#include "service/requests.h"

namespace cidrotor::agi {
namespace {

constexpr auto kToken = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> Watchdog(std::shared_ptr<AgiConnection> connection) {
  while (!connection->finished) {
    connection->watchdog.expires_at(connection->deadline);
    co_await connection->watchdog.async_wait(kToken);
    if (connection->finished) break;
    if (connection->deadline <= SteadyClock::now()) {
      // The pending read or write ends with operation_aborted; the session releases what it
      // must and closes the socket itself, so the peer sees the close after that.
      connection->timed_out = true;
      connection->deadline = SteadyClock::time_point::max();
      boost::system::error_code ignored;
      connection->socket.cancel(ignored);
    }
  }
}

// Runs `start(store::Callback<T>)` and waits for its result at most `limit`. Returns nullopt when
// the limit passed first; a result arriving later goes to `on_late` (on the store's thread).
// g++ 12 destroys temporaries of a co_await expression twice when they own memory: callers pass
// named callables, taken by reference here, and build strings and vectors before co_await.
template <class T, class Start, class OnLate>
asio::awaitable<std::optional<core::Result<T>>> CallStoreWithin(SteadyClock::duration limit,
                                                                const Start& start,
                                                                const OnLate& on_late) {
  struct Race {
    explicit Race(const asio::any_io_executor& ex) : timer(ex) {}
    std::mutex mu;
    std::optional<core::Result<T>> result;  // guarded by mu
    bool abandoned = false;                 // guarded by mu
    asio::steady_timer timer;               // on the session's strand
  };
  const auto executor = co_await asio::this_coro::executor;
  auto race = std::make_shared<Race>(executor);
  race->timer.expires_after(limit);
  start(store::Callback<T>([race, executor, on_late](core::Result<T> result) mutable {
    {
      std::lock_guard lock(race->mu);
      if (!race->abandoned) {
        race->result = std::move(result);
        asio::post(executor, [race] { race->timer.cancel(); });
        return;
      }
    }
    on_late(std::move(result));
  }));
  bool ready = false;
  {
    std::lock_guard lock(race->mu);
    ready = race->result.has_value();
  }
  if (!ready) co_await race->timer.async_wait(kToken);
  std::lock_guard lock(race->mu);
  if (race->result) co_return std::move(race->result);
  race->abandoned = true;
  co_return std::nullopt;
}

enum class Answer { kOk, kRefused, kHangup, kLost };

// One command as a list (g++ 12 rejects a braced list inside a co_await expression).
std::vector<std::string> Single(std::string command) {
  std::vector<std::string> commands;
  commands.push_back(std::move(command));
  return commands;
}

// CALLERID(num) first: once Asterisk confirmed it the channel carries the number. Never
// CALLERID(name) and never `SET CALLERID` (which sets the name too): VICIdial tracks calls by it.
// (Built outside the coroutines: g++ 12 double-frees braced lists inside one.)
std::vector<std::string> SuccessCommands(const core::Reservation& reservation) {
  const std::string number = reservation.caller_id.ToString();
  std::vector<std::string> commands;
  commands.push_back(SetVariableCommand("CALLERID(num)", number));
  commands.push_back(SetVariableCommand("CIDROTOR_CID", number));
  commands.push_back(SetVariableCommand("CIDROTOR_MATCH", core::MatchTierName(reservation.match)));
  commands.push_back(SetVariableCommand("CIDROTOR_RESERVATION", std::to_string(reservation.id)));
  commands.push_back(SetVariableCommand("CIDROTOR_STATUS", kOkStatus));
  return commands;
}

// The call that reached an inbound caller (`called`, or none), as channel variables, and
// CIDROTOR_STATUS: `status`. Every variable is set (empty without a call), also on errors, so
// none is left over from an earlier lookup on the channel.
std::vector<std::string> LookupCommands(const store::ReservationRecord* called,
                                        std::string_view status) {
  std::vector<std::string> commands;
  const core::Reservation* r = called ? &called->reservation : nullptr;
  commands.push_back(SetVariableCommand("CIDROTOR_CAMPAIGN", r ? r->campaign : ""));
  commands.push_back(SetVariableCommand("CIDROTOR_AGENT", r ? r->agent : ""));
  commands.push_back(SetVariableCommand(
      "CIDROTOR_LEAD", r && r->lead_id ? std::to_string(*r->lead_id) : std::string()));
  commands.push_back(SetVariableCommand("CIDROTOR_POOL", r ? r->pool : ""));
  commands.push_back(
      SetVariableCommand("CIDROTOR_RESERVATION", r ? std::to_string(r->id) : std::string()));
  commands.push_back(SetVariableCommand("CIDROTOR_STATUS", status));
  return commands;
}

// A lookup over FastAGI searches at most this many of the number's reservations: a search
// that finds nothing walks them all, which must fit the AGI deadline (DESIGN-NOTES §8).
constexpr std::size_t kAgiLookupMaxDepth = 1'000;

class Session {
 public:
  Session(std::shared_ptr<AgiState> state, std::shared_ptr<AgiConnection> connection)
      : state_(std::move(state)), conn_(std::move(connection)) {}

  asio::awaitable<void> Run() {
    conn_->SetDeadline(SteadyClock::now() + state_->context.read_timeout);
    if (!co_await ReadEnvironment()) co_return;
    conn_->awaiting_environment = false;
    conn_->SetDeadline(SteadyClock::time_point::max());  // the store call has its own deadline
    started_ = SteadyClock::now();
    who_ = DescribeChannel(env_);
    boost::system::error_code ec;
    if (const auto peer = conn_->socket.remote_endpoint(ec); !ec) {
      peer_ = peer.address().to_string();
    }
    auto request = ParseAgiRequest(env_);
    // A refused lookup answers with its variables emptied too (SendStatus).
    const std::optional<AgiScript> script = AgiScriptOf(env_);
    answers_lookup_ = script == AgiScript::kLookup;
    if (!request) {
      spdlog::warn("agi: {} refused: {}", who_, request.error().ToString());
      // A known script with bad arguments is logged as that script.
      Log(script ? "agi:" + std::string(AgiScriptName(*script)) : std::string("agi:unknown"),
          core::StatusCodeFor(request.error().code()));
      co_await SendStatus(StatusFor(request.error()));
      co_return;
    }
    switch (request->script) {
      case AgiScript::kNextCid:
        co_await NextCid(*request);
        break;
      case AgiScript::kRelease:
        co_await Release(*request);
        break;
      case AgiScript::kLookup:
        co_await Lookup(*request);
        break;
    }
  }

 private:
  asio::awaitable<void> NextCid(const AgiRequest& request) {
    log_.endpoint = "agi:next-cid";
    auto names = service::NamesToLog(request.params);  // also for a refused request
    log_.agent = std::move(names.agent);
    log_.campaign = std::move(names.campaign);
    const std::string channel = ChannelOf(request);
    // Asking again (a carrier failover's second Gosub), the channel gives up the number it was
    // given: released now, whether or not this request gets another. Were it released only on
    // success, a refused second request would leave it held to its TTL: the channel falls back
    // to its default caller-ID, and the hang-up handler skips the release after an error.
    if (const auto earlier = state_->memo.Find(channel, state_->clock.Now())) {
      state_->memo.Forget(channel, *earlier);
      spdlog::info("agi: {} asked again: its earlier reservation {} released", who_, *earlier);
      ReleaseNow(state_->store, *earlier);
    }
    auto parsed = service::ParseAllocateRequest(request.params);
    if (!parsed) co_return co_await Fail(parsed.error());
    store::Store& store = state_->store;
    const std::string who = who_;
    const auto start = [&](store::Callback<core::Allocation> done) {
      store.Allocate(*parsed, std::move(done));
    };
    const auto on_late = [&store, who](core::Result<core::Allocation> late) {
      if (!late) return;
      spdlog::warn("agi: {} allocation of {} completed after the deadline: released", who,
                   late->reservation.caller_id.ToString());
      ReleaseNow(store, late->reservation.id);
    };
    auto allocation =
        co_await CallStoreWithin<core::Allocation>(state_->context.deadline, start, on_late);
    if (!allocation) co_return co_await TimedOut("allocation");
    if (!*allocation) co_return co_await Fail(allocation->error());

    const core::Reservation& reservation = (*allocation)->reservation;
    const std::string number = reservation.caller_id.ToString();
    log_.caller_id_allocated = number;
    Log(log_.endpoint, 200);
    // Another request of the channel's may have been remembered meanwhile (two at once).
    if (auto replaced = state_->memo.Remember(channel, reservation.id, state_->clock.Now())) {
      spdlog::info("agi: {} asked again: its earlier reservation {} released", who_, *replaced);
      ReleaseNow(state_->store, *replaced);
    }
    const std::vector<std::string> commands = SuccessCommands(reservation);
    std::size_t confirmed = 0;
    const Answer answer = co_await Send(commands, &confirmed);
    // The channel never got the number, or it is gone: nobody else will release it now.
    if (answer != Answer::kOk && (confirmed == 0 || answer != Answer::kRefused)) {
      if (confirmed == 0) {
        spdlog::warn("agi: {} did not take caller-ID {}: released", who_, number);
      } else {  // CALLERID(num) was set; the channel hung up or went silent after that
        spdlog::warn("agi: {} took caller-ID {} but did not answer for its variables: released",
                     who_, number);
      }
      state_->memo.Forget(channel, reservation.id);
      ReleaseNow(state_->store, reservation.id);
    }
  }

  asio::awaitable<void> Release(AgiRequest& request) {
    log_.endpoint = "agi:release";
    service::Params& params = request.params;
    if (!params.Has("reservation_id") && !params.Has("caller_id")) {
      if (auto id = state_->memo.Find(ChannelOf(request), state_->clock.Now())) {
        if (auto added = params.Add("reservation_id", std::to_string(*id)); !added) {
          co_return co_await Fail(added.error());
        }
      } else {
        co_return co_await Fail(core::Error::NotFound(
            "no reservation= argument and no reservation made for this uniqueid", "reservation"));
      }
    }
    auto parsed = service::ParseReleaseRequest(params);
    if (!parsed) co_return co_await Fail(parsed.error());
    store::Store& store = state_->store;
    const auto start = [&](store::Callback<core::ReleaseResult> done) {
      store.Release(*parsed, std::move(done));
    };
    const auto on_late = [](core::Result<core::ReleaseResult>) {};  // it took effect anyway
    auto released =
        co_await CallStoreWithin<core::ReleaseResult>(state_->context.deadline, start, on_late);
    if (!released) co_return co_await TimedOut("release");
    if (!*released) co_return co_await Fail(released->error());
    // Ended (or ended before): the channel's entry has nothing more to release.
    if (parsed->reservation_id) state_->memo.Forget(ChannelOf(request), *parsed->reservation_id);
    if ((*released)->reservation) {
      log_.caller_id_allocated = (*released)->reservation->caller_id.ToString();
      log_.agent = (*released)->reservation->agent;
      log_.campaign = (*released)->reservation->campaign;
    }
    Log(log_.endpoint, 200);
    released_ = true;
    co_await SendStatus(kOkStatus);
  }

  // An inbound call to one of the pool's numbers: which of its calls reached the caller, so the
  // dialplan routes the callback to that campaign or agent (GET /api/lookup's `called`).
  asio::awaitable<void> Lookup(const AgiRequest& request) {
    log_.endpoint = "agi:lookup";
    auto parsed = service::ParseLookupQuery(request.params);
    if (!parsed) co_return co_await Fail(parsed.error());
    // Within the AGI deadline even when nothing matches and the pages are cold (store.h).
    parsed->max_depth = std::min(parsed->max_depth, kAgiLookupMaxDepth);
    log_.caller_id_allocated = parsed->caller_id.ToString();
    store::Store& store = state_->store;
    const auto start = [&](store::Callback<store::LookupData> done) {
      store.Lookup(*parsed, std::move(done));
    };
    const auto on_late = [](core::Result<store::LookupData>) {};  // a read: nothing to undo
    auto found =
        co_await CallStoreWithin<store::LookupData>(state_->context.deadline, start, on_late);
    if (!found) co_return co_await TimedOut("lookup");
    if (!*found) co_return co_await Fail(found->error());
    if (!(*found)->known) {
      co_return co_await Fail(core::Error::NotFound(
          "caller_id " + parsed->caller_id.ToString() + " is not in the pool", "caller_id"));
    }
    const std::optional<store::ReservationRecord>& called = (*found)->called;
    if (called) {
      log_.agent = called->reservation.agent;
      log_.campaign = called->reservation.campaign;
    }
    Log(log_.endpoint, 200);
    const std::vector<std::string> commands =
        LookupCommands(called ? &*called : nullptr, called ? kOkStatus : kNoMatchStatus);
    co_await Send(commands);
  }

  // The memo's key of the request's channel: the Asterisk server's address and the uniqueid.
  std::string ChannelOf(const AgiRequest& request) const {
    return ChannelKey(peer_, request.uniqueid);
  }

  static void ReleaseNow(store::Store& store, std::uint64_t reservation_id) {
    core::ReleaseRequest release;
    release.reservation_id = reservation_id;
    store.Release(release, [reservation_id](core::Result<core::ReleaseResult> result) {
      if (!result) {
        spdlog::warn("agi: releasing reservation {} failed: {}", reservation_id,
                     result.error().ToString());
      }
    });
  }

  asio::awaitable<void> Fail(const core::Error& error) {
    // A dry pool, or an agent over its limit, refuses call after call: one warn line per 10 s
    // says so, with the count (as HTTP's 503s).
    const std::uint64_t times =
        error.code() == core::ErrorCode::kNoCallerIdAvailable ? state_->dry_pool_log.Pass()
        : error.code() == core::ErrorCode::kRateLimited       ? state_->rate_limited_log.Pass()
                                                              : 1;
    if (times > 0) {
      spdlog::warn("agi: {} {} failed: {}{}", who_, log_.endpoint, error.ToString(),
                   times > 1 ? fmt::format(" ({} times since the last such line)", times) : "");
    }
    Log(log_.endpoint, core::StatusCodeFor(error.code()));
    co_await SendStatus(StatusFor(error));
  }

  asio::awaitable<void> TimedOut(std::string_view what) {
    spdlog::warn("agi: {} {} not done within {} ms: answered {}", who_, what,
                 state_->context.deadline.count(), kTimeoutStatus);
    Log(log_.endpoint, kTimeoutLogStatus);
    co_await SendStatus(kTimeoutStatus);
  }

  void Log(std::string_view endpoint, std::uint16_t status) {
    if (logged_) return;
    logged_ = true;
    log_.timestamp = state_->clock.Now();
    log_.endpoint = std::string(endpoint);
    log_.method = "AGI";
    log_.status_code = status;
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - started_);
    log_.response_time_us = static_cast<std::uint32_t>(
        std::min<std::int64_t>(elapsed.count(), std::numeric_limits<std::uint32_t>::max()));
    state_->store.AppendLog(log_);
  }

  // SET VARIABLE CIDROTOR_STATUS "status" (a lookup's: with its variables emptied). REQUIRES:
  // `status` outlives the call.
  asio::awaitable<Answer> SendStatus(std::string_view status) {
    const std::vector<std::string> commands =
        answers_lookup_ ? LookupCommands(nullptr, status)
                        : Single(SetVariableCommand("CIDROTOR_STATUS", status));
    co_return co_await Send(commands);
  }

  // Sends the commands one by one, each after the previous one's `200 result=1`. `confirmed`
  // counts the commands Asterisk acknowledged.
  asio::awaitable<Answer> Send(const std::vector<std::string>& commands,
                               std::size_t* confirmed = nullptr) {
    for (const std::string& command : commands) {
      conn_->SetDeadline(SteadyClock::now() + state_->context.read_timeout);
      auto [ec, written] = co_await asio::async_write(conn_->socket, asio::buffer(command), kToken);
      if (ec || conn_->timed_out) {
        co_return Lost("writing a command", ec ? ec : asio::error::timed_out);
      }
      ReplyParser parser;
      for (;;) {
        const ParseStep step = parser.Feed(buffer_);
        buffer_.erase(0, step.consumed);
        if (step.state == ParseState::kError) {
          spdlog::warn("agi: {} sent a malformed reply: {}", who_, parser.error());
          co_return Answer::kLost;
        }
        if (step.state == ParseState::kDone) break;
        if (auto lost = co_await ReadMore("waiting for a reply"); lost) co_return *lost;
      }
      const Reply& reply = parser.reply();
      if (reply.kind == Reply::Kind::kHangup || reply.kind == Reply::Kind::kDeadChannel) {
        // A hang-up handler's channel is dead before it asks: its release is done by now, and
        // Asterisk saying so is no problem (one a call, at call-center volume).
        spdlog::log(released_ ? spdlog::level::debug : spdlog::level::warn,
                    "agi: {} hung up during the exchange ({}): stopped", who_,
                    reply.kind == Reply::Kind::kHangup ? "HANGUP" : "511");
        co_return Answer::kHangup;
      }
      if (reply.kind != Reply::Kind::kResult || reply.result != 1) {
        // result=0 and result=-1 say different things: the line keeps N (the review found it
        // missing).
        const std::string answer = reply.kind == Reply::Kind::kResult
                                       ? fmt::format("200 result={}", reply.result)
                                       : std::to_string(reply.code);
        spdlog::warn("agi: {} refused `{}`: {} {}", who_, command.substr(0, command.size() - 1),
                     answer, net::Loggable(reply.data, 200));
        co_return Answer::kRefused;
      }
      if (confirmed) ++*confirmed;
    }
    co_return Answer::kOk;
  }

  asio::awaitable<bool> ReadEnvironment() {
    EnvironmentParser parser;
    for (;;) {
      const ParseStep step = parser.Feed(buffer_);
      buffer_.erase(0, step.consumed);
      if (step.state == ParseState::kDone) break;
      if (step.state == ParseState::kError) {
        env_ = parser.TakeEnvironment();
        spdlog::warn("agi: {} sent a bad environment block: {}", DescribeChannel(env_),
                     parser.error());
        co_return false;
      }
      if (co_await ReadMore("waiting for the environment block")) {
        if (!state_->stopping.load()) {
          spdlog::warn("agi: {} environment block incomplete",
                       DescribeChannel(parser.environment()));
        }
        co_return false;
      }
    }
    env_ = parser.TakeEnvironment();
    co_return true;
  }

  // Appends what the socket has to buffer_. Returns nullopt, or kLost (logged) when it failed.
  asio::awaitable<std::optional<Answer>> ReadMore(std::string_view waiting_for) {
    char chunk[2048];
    auto [ec, n] = co_await conn_->socket.async_read_some(asio::buffer(chunk), kToken);
    // A read that completed as the deadline passed was not cancelled: the deadline stands anyway
    // (the watchdog does not arm again once it fired).
    if (ec || conn_->timed_out) co_return Lost(waiting_for, ec ? ec : asio::error::timed_out);
    buffer_.append(chunk, n);
    co_return std::nullopt;
  }

  Answer Lost(std::string_view doing, const boost::system::error_code& ec) {
    if (conn_->closed_for_new) {
      // One throttled line says how many (AgiState::EvictSilent): a flood would flood the log.
      spdlog::debug("agi: {} closed for a new connection {}", who_, doing);
    } else if (conn_->timed_out && conn_->stop_by <= SteadyClock::now()) {
      spdlog::warn("agi: {} {} when the stop's {} ms were over: closed", who_, doing,
                   state_->context.stop_grace.count());
    } else if (conn_->timed_out) {
      spdlog::warn("agi: {} silent for {} ms {}: closed", who_,
                   state_->context.read_timeout.count(), doing);
    } else if (ec == asio::error::eof) {
      spdlog::warn("agi: {} closed the connection {}", who_, doing);
    } else if (!state_->stopping.load()) {
      spdlog::warn("agi: {} connection failed {}: {}", who_, doing, ec.message());
    }
    return Answer::kLost;
  }

  std::shared_ptr<AgiState> state_;
  std::shared_ptr<AgiConnection> conn_;
  std::string buffer_;  // received, not yet parsed; bounded by the parsers' line limit
  Environment env_;
  std::string who_ = "peer";
  std::string peer_;  // the Asterisk server's address: with agi_uniqueid, names the channel
  SteadyClock::time_point started_ = SteadyClock::now();
  store::ApiLogEntry log_;
  bool logged_ = false;
  bool answers_lookup_ = false;  // the script is `lookup`
  bool released_ = false;        // the script is `release`, and the store has released
};

}  // namespace

asio::awaitable<void> RunAgiSession(std::shared_ptr<AgiState> state,
                                    std::shared_ptr<AgiConnection> connection) {
  asio::co_spawn(connection->socket.get_executor(), Watchdog(connection), asio::detached);
  {
    Session session(state, connection);
    co_await session.Run();
  }
  connection->finished = true;
  connection->watchdog.cancel();
  boost::system::error_code ignored;
  connection->socket.shutdown(tcp::socket::shutdown_both, ignored);
  connection->socket.close(ignored);
  state->Unregister(connection);
}

}  // namespace cidrotor::agi
