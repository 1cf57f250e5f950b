#pragma once
// A non-blocking TCP connect that asks the kernel, not poll(), how it went. Asio's
// async_connect costs a poll() and a getsockopt() per connection after the socket turns
// writable; asking connect() again (0 or EISCONN: connected, EALREADY: still going, any
// other errno: the connect's own error, e.g. ECONNREFUSED) costs one call, and on loopback
// the handshake is usually over by the time the first connect() returns, so the answer
// comes with no wait at all. HAProxy's checks complete their connects the same way.
// A caller may open the socket itself first, to set options before the connect.
// Asio is included here: only the probes' and plain_http's .cpp files use this.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

namespace hftguard::net {

enum class ConnectState { connected, pending, failed };

// Opens `socket` if needed and starts or continues connecting it to `to`.
inline ConnectState connectStep(boost::asio::ip::tcp::socket& socket,
                                const boost::asio::ip::tcp::endpoint& to,
                                boost::system::error_code& ec) {
  ec.clear();
  if (!socket.is_open()) {
    socket.open(to.protocol(), ec);
    if (!ec) socket.non_blocking(true, ec);
    if (ec) return ConnectState::failed;
  }
  if (::connect(socket.native_handle(), to.data(), static_cast<socklen_t>(to.size())) == 0) {
    return ConnectState::connected;
  }
  const int e = errno;
  if (e == EISCONN) return ConnectState::connected;
  if (e == EINPROGRESS || e == EALREADY || e == EINTR) return ConnectState::pending;
  ec.assign(e, boost::system::system_category());
  return ConnectState::failed;
}

// How quickConnect answers a connect whose outcome is known at once: inside the call
// (success or failure), inside the call only when connected, or always from the loop.
enum class Answer { inline_ok, inline_if_connected, from_loop };

// Connects `socket` to `to` and calls `done(ec)`. `owner` holds the socket: the handlers
// keep it alive while they wait. An outcome known at once is answered inside this call
// as `answer` allows, else posted to the loop.
template <typename Owner, typename Handler>
void quickConnect(const std::shared_ptr<Owner>& owner, boost::asio::ip::tcp::socket& socket,
                  const boost::asio::ip::tcp::endpoint& to, Answer answer, Handler done) {
  boost::system::error_code ec;
  ConnectState state = connectStep(socket, to, ec);
  if (state == ConnectState::pending) state = connectStep(socket, to, ec);  // often done now
  if ((state == ConnectState::connected && answer != Answer::from_loop) ||
      (state == ConnectState::failed && answer == Answer::inline_ok)) {
    return done(ec);
  }
  if (state != ConnectState::pending) {
    // Answered from the loop like every other outcome: post through a zero-wait on the
    // socket would cost an epoll change, so post the result instead.
    boost::asio::post(socket.get_executor(),
                      [owner, ec, done = std::move(done)]() mutable { done(ec); });
    return;
  }
  socket.async_wait(boost::asio::ip::tcp::socket::wait_write,
                    [owner, &socket, to, done = std::move(done)](
                        boost::system::error_code wait_ec) mutable {
                      if (wait_ec) return done(wait_ec);
                      if (!socket.is_open()) return done(boost::asio::error::operation_aborted);
                      boost::system::error_code step_ec;
                      const ConnectState s = connectStep(socket, to, step_ec);
                      if (s == ConnectState::pending) {
                        // Writable yet still connecting cannot happen; wait again if it does.
                        return quickConnect(owner, socket, to, Answer::from_loop,
                                            std::move(done));
                      }
                      done(step_ec);
                    });
}

}  // namespace hftguard::net
