// tcp: an asynchronous connect; the port accepting is success.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include "kinds.hpp"

namespace hftguard::probes::kinds {
namespace {
namespace asio = boost::asio;
using asio::ip::tcp;

class TcpProbe final : public Probe {
 public:
  TcpProbe(const CheckConfig& c, ProbeEnv& env)
      : env_(env), host_(c.params.str("host")), port_(std::to_string(c.params.integer("port"))) {}

  void start(Done done) override {
    auto run = std::make_shared<Run>(env_.io, std::move(done));
    current_ = run;
    const std::string target = fmt::format("{}:{}", host_, port_);
    run->resolver.async_resolve(
        host_, port_, [run, target](boost::system::error_code ec, tcp::resolver::results_type r) {
          if (ec) return run->done(ProbeOutcome::failed("cannot resolve " + target + ": " + ec.message()));
          asio::async_connect(run->socket, r, [run, target](boost::system::error_code e, const tcp::endpoint&) {
            if (e) return run->done(ProbeOutcome::failed("connect to " + target + ": " + e.message()));
            boost::system::error_code ignored;
            run->socket.close(ignored);
            run->done(ProbeOutcome::ok("connected to " + target));
          });
        });
  }

  void cancel() override {
    if (auto run = current_.lock()) {
      run->resolver.cancel();
      boost::system::error_code ignored;
      run->socket.close(ignored);
    }
  }

 private:
  struct Run {
    Run(asio::io_context& io, Done d) : resolver(io), socket(io), done(std::move(d)) {}
    tcp::resolver resolver;
    tcp::socket socket;
    Done done;
  };

  ProbeEnv& env_;
  std::string host_;
  std::string port_;
  std::weak_ptr<Run> current_;
};

}  // namespace

std::unique_ptr<Probe> makeTcp(const CheckConfig& c, ProbeEnv& env) {
  return std::make_unique<TcpProbe>(c, env);
}

}  // namespace hftguard::probes::kinds
