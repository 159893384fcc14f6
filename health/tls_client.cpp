#include "health/tls_client.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>

namespace cairn::health {

void prepareTlsClient(boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>& tls,
                      const std::string& name, bool skipVerify) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  if (ec) SSL_set_tlsext_host_name(tls.native_handle(), name.c_str());
  if (!skipVerify) tls.set_verify_callback(boost::asio::ssl::host_name_verification(name));
}

}  // namespace cairn::health
