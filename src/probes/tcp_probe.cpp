// tcp: an asynchronous connect; the port accepting is success. The socket is closed with
// a reset (linger 0), as HAProxy's tcp-check does, so thousands of checks per second leave
// no TIME_WAIT sockets behind to exhaust the ephemeral ports.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include "hftguard/net/quick_connect.hpp"
#include "kinds.hpp"

namespace hftguard::probes::kinds {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

class TcpProbe final : public Probe {
 public:
  TcpProbe(const CheckConfig& c, ProbeEnv& env)
      : env_(env),
        host_(c.params.str("host")),
        port_(static_cast<unsigned short>(c.params.integer("port"))),
        target_(fmt::format("{}:{}", host_, port_)) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host_, ec);
    if (!ec) numeric_ = tcp::endpoint(address, port_);  // no resolver round trip needed
  }

  void start(Done done) override {
    auto run = std::make_shared<Run>(env_.io, std::move(done));
    current_ = run;
    if (numeric_) return connect(run, *numeric_, target_);
    // Handlers hold the run and copies, never the probe, which may be gone when they run.
    run->resolver.emplace(env_.io);
    run->resolver->async_resolve(
        host_, std::to_string(port_),
        [run, target = target_](boost::system::error_code ec, tcp::resolver::results_type r) {
          // Cancelled at the deadline: a late answer must not open a socket nobody closes.
          if (ec == asio::error::operation_aborted || run->closed) return;
          if (ec)
            return run->done(
                ProbeOutcome::failed("cannot resolve " + target + ": " + ec.message()));
          connect(run, *r.begin(), target);
        });
  }

  ~TcpProbe() override { cancel(); }

  void cancel() override {
    if (auto run = current_.lock()) run->close();
  }

 private:
  struct Run {
    Run(asio::io_context& io, Done d) : socket(io), done(std::move(d)) {}
    void close() {
      closed = true;
      if (resolver) resolver->cancel();
      boost::system::error_code ignored;
      if (socket.is_open()) socket.set_option(asio::socket_base::linger(true, 0), ignored);
      socket.close(ignored);
    }
    std::optional<tcp::resolver> resolver;  // only for a host name
    tcp::socket socket;
    Done done;
    bool closed = false;  // cancelled or finished: a late handler does nothing
  };

  static void connect(const std::shared_ptr<Run>& run, const tcp::endpoint& endpoint,
                      const std::string& target) {
    // Delayed ACKs from the start (HAProxy's tcp check does the same): the SYN-ACK already
    // proves the port open, the handshake's last ACK is never sent before the reset, so the
    // target builds no accepted connection for nothing. On loopback that halves the
    // kernel's work per connect (measured). Not for http: with delayed ACKs a server that
    // writes its header and body apart under Nagle would wait ~40 ms for our ACK.
    boost::system::error_code opened;
    run->socket.open(endpoint.protocol(), opened);
    if (!opened) run->socket.non_blocking(true, opened);
    if (opened) {
      run->closed = true;
      return run->done(ProbeOutcome::failed("connect to " + target + ": " + opened.message()));
    }
    const int off = 0;
    ::setsockopt(run->socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &off, sizeof off);
    // An outcome known at once is answered inside start(): CheckRunner allows it.
    net::quickConnect(run, run->socket, endpoint, net::Answer::inline_ok, [run, target](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted || run->closed) return;
      run->close();
      if (ec) return run->done(ProbeOutcome::failed("connect to " + target + ": " + ec.message()));
      run->done(ProbeOutcome::ok("connected to " + target));
    });
  }

  ProbeEnv& env_;
  std::string host_;
  unsigned short port_;
  std::string target_;
  std::optional<tcp::endpoint> numeric_;
  std::weak_ptr<Run> current_;
};

}  // namespace

std::unique_ptr<Probe> makeTcp(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<TcpProbe>(c, env);
}

}  // namespace hftguard::probes::kinds
