// Whether a client's address is this host's loopback (127.0.0.0/8, ::1, or
// an IPv4-mapped loopback on a dual-stack socket): the peers that may use
// loopback-only operations (auth/policy.h). Header-only, for the frontends
// that hold an Asio endpoint (net::Stream::peer()).
//
// Thread-safety: pure function; any thread.
#pragma once

#include <boost/asio/ip/address.hpp>

namespace infergate::auth {

inline bool IsLoopback(const boost::asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, address.to_v6())
        .is_loopback();
  }
  return address.is_loopback();
}

}  // namespace infergate::auth
