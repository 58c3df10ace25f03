// SPDX-License-Identifier: MIT
// The scriptable loopback DNS server (UDP and TCP) used by tests, benchmarks and the demo.
#include "testing/test_server.hpp"

#include <asio/read.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <algorithm>
#include <array>
#include <list>
#include <map>
#include <mutex>
#include <stdexcept>

#include "dns/endpoint.hpp"

namespace heyes::dns {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

// The zone of a negative answer's SOA: the name without its first label.
std::string parent_of(const std::string& name) {
  const auto dot = name.find('.');
  return dot == std::string::npos ? std::string() : name.substr(dot + 1);
}

using Bytes = std::vector<std::uint8_t>;
using SharedBytes = std::shared_ptr<const Bytes>;

}  // namespace

struct TestServer::Impl : std::enable_shared_from_this<Impl> {
  using Reply = std::function<void(SharedBytes)>;

  asio::any_io_executor ex;
  asio::ip::udp::socket udp;
  asio::ip::tcp::acceptor acceptor;
  asio::ip::udp::endpoint from;
  std::array<std::uint8_t, 65536> buf{};
  bool closed = false;  // touched on the executor only
  std::list<std::weak_ptr<asio::steady_timer>> timers;
  std::list<std::weak_ptr<asio::ip::tcp::socket>> sessions;

  mutable std::mutex mu;
  std::map<std::pair<std::string, RecordType>, TestAnswer> script;
  std::vector<ReceivedQuery> received;

  explicit Impl(const asio::any_io_executor& e) : ex(e), udp(e), acceptor(e) {}

  void open(const IpAddress& address, std::uint16_t port);
  void start_udp();
  void start_accept();
  void read_tcp(std::shared_ptr<asio::ip::tcp::socket> s);
  void handle(const Bytes& query_bytes, bool tcp, const Reply& reply, const asio::ip::udp::endpoint& peer);
  std::optional<TestAnswer> lookup(const Question& q, bool& name_known) const;
  Bytes build(const Message& q, const TestAnswer& a, bool known, bool tcp) const;
  void send_spoof(const Message& q, const TestAnswer& a, const Reply& reply, const asio::ip::udp::endpoint& peer);
  void later(std::chrono::milliseconds delay, std::function<void()> f);
};

// UDP first on the requested port, then TCP on the same number; with port 0
// the kernel's UDP choice may be taken for TCP, so a few tries.
void TestServer::Impl::open(const IpAddress& address, std::uint16_t port) {
  const auto a = detail::to_asio(address);
  for (int attempt = 0; attempt < 20; ++attempt) {
    udp = asio::ip::udp::socket(ex);
    udp.open(a.is_v4() ? asio::ip::udp::v4() : asio::ip::udp::v6());
    // Room for a burst (a load test sends up to 2,000 queries at once); the
    // default ~200 KiB dropped some on a busy machine, which the clients then
    // saw as timeouts. The kernel caps it at net.core.rmem_max.
    asio::error_code ignored;
    udp.set_option(asio::socket_base::receive_buffer_size(4 << 20), ignored);
    udp.bind({a, port});
    const auto p = udp.local_endpoint().port();
    asio::error_code ec;
    acceptor = asio::ip::tcp::acceptor(ex);
    acceptor.open(a.is_v4() ? asio::ip::tcp::v4() : asio::ip::tcp::v6());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind({a, p}, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return;
    if (port != 0) throw std::system_error(ec, "TestServer: cannot bind TCP");
  }
  throw std::runtime_error("TestServer: no port free for both UDP and TCP");
}

void TestServer::Impl::start_udp() {
  udp.async_receive_from(asio::buffer(buf), from, [self = shared_from_this()](std::error_code ec, std::size_t n) {
    if (self->closed || ec == asio::error::operation_aborted) return;
    if (!ec) {
      const auto peer = self->from;
      Bytes q(self->buf.begin(), self->buf.begin() + static_cast<std::ptrdiff_t>(n));
      self->handle(q, false, [w = std::weak_ptr<Impl>(self), peer](SharedBytes b) {
        if (auto s = w.lock(); s && !s->closed)
          s->udp.async_send_to(asio::buffer(*b), peer, [b](std::error_code, std::size_t) {});
      }, peer);
    }
    self->start_udp();
  });
}

void TestServer::Impl::start_accept() {
  acceptor.async_accept([self = shared_from_this()](std::error_code ec, asio::ip::tcp::socket s) {
    if (self->closed || ec == asio::error::operation_aborted) return;
    if (!ec) {
      auto sp = std::make_shared<asio::ip::tcp::socket>(std::move(s));
      self->sessions.push_back(sp);
      self->read_tcp(sp);
    }
    self->start_accept();
  });
}

// RFC 7766 §8: each message is preceded by its 2-byte length.
void TestServer::Impl::read_tcp(std::shared_ptr<asio::ip::tcp::socket> s) {
  auto len = std::make_shared<std::array<std::uint8_t, 2>>();
  asio::async_read(*s, asio::buffer(*len), [self = shared_from_this(), s, len](std::error_code ec, std::size_t) {
    if (ec || self->closed) return;
    auto body = std::make_shared<Bytes>(std::size_t((*len)[0]) << 8 | (*len)[1]);
    asio::async_read(*s, asio::buffer(*body), [self, s, body](std::error_code ec2, std::size_t) {
      if (ec2 || self->closed) return;
      self->handle(*body, true, [s](SharedBytes b) {
        auto framed = std::make_shared<Bytes>(b->size() + 2);
        (*framed)[0] = static_cast<std::uint8_t>(b->size() >> 8);
        (*framed)[1] = static_cast<std::uint8_t>(b->size());
        std::copy(b->begin(), b->end(), framed->begin() + 2);
        asio::async_write(*s, asio::buffer(*framed), [s, framed](std::error_code, std::size_t) {});
      }, {});
      self->read_tcp(s);
    });
  });
}

std::optional<TestAnswer> TestServer::Impl::lookup(const Question& q, bool& name_known) const {
  std::lock_guard lock(mu);
  const auto name = lower(q.name);
  name_known = false;
  for (const auto& [key, value] : script)
    if (key.first == name) name_known = true;
  auto it = script.find({name, q.type});
  if (it == script.end()) return std::nullopt;
  return it->second;
}

// The genuine response for q, truncated for UDP when asked or too large.
Bytes TestServer::Impl::build(const Message& q, const TestAnswer& a, bool known, bool tcp) const {
  if (a.formerr_on_edns && q.edns) {
    Message r = make_response(q, Rcode::formerr);
    r.edns.reset();
    return encode(r);
  }
  Message r = make_response(q, known ? a.rcode : Rcode::nxdomain);
  if (r.header.rcode == Rcode::noerror) r.answers = a.records;
  r.header.aa = true;
  const bool negative = r.header.rcode == Rcode::nxdomain || (r.header.rcode == Rcode::noerror && r.answers.empty());
  if (negative && a.negative_ttl >= 0) {
    const auto minimum = static_cast<std::uint32_t>(a.negative_ttl);
    const auto ttl = a.soa_ttl >= 0 ? static_cast<std::uint32_t>(a.soa_ttl) : minimum;
    r.authority.push_back(Record::make_soa(parent_of(lower(q.questions[0].name)), ttl, minimum));
  }
  Bytes out = encode(r);
  const std::size_t limit = q.edns ? std::max<std::size_t>(classic_udp_size, q.edns->udp_size) : classic_udp_size;
  if (!tcp && (a.truncate || (out.size() > limit && !a.oversize))) {
    r.answers.clear();
    r.authority.clear();
    r.header.tc = true;
    out = encode(r);
  }
  return out;
}

// A forged reply with the forged addresses 192.0.2.66 / 2001:db8::66.
void TestServer::Impl::send_spoof(const Message& q, const TestAnswer& a, const Reply& reply,
                                  const asio::ip::udp::endpoint& peer) {
  Message r = make_response(q);
  const auto& question = q.questions[0];
  const char* forged = question.type == RecordType::aaaa ? "2001:db8::66" : "192.0.2.66";
  r.answers.push_back(Record::a(question.name, *IpAddress::parse(forged), 300));
  if (a.spoof == TestAnswer::Spoof::wrong_id) r.header.id = static_cast<std::uint16_t>(r.header.id + 1);
  if (a.spoof == TestAnswer::Spoof::wrong_question) {
    r.questions[0].name = "forged." + question.name;
    r.answers[0].name = r.questions[0].name;
  }
  auto bytes = std::make_shared<const Bytes>(encode(r));
  if (a.spoof != TestAnswer::Spoof::wrong_port) return reply(bytes);
  // From another socket on the same address: the client must ignore it.
  asio::ip::udp::socket other(ex);
  other.open(peer.protocol());
  other.bind({udp.local_endpoint().address(), 0});
  std::error_code ec;
  other.send_to(asio::buffer(*bytes), peer, 0, ec);
}

void TestServer::Impl::later(std::chrono::milliseconds delay, std::function<void()> f) {
  if (delay.count() <= 0) return f();
  auto t = std::make_shared<asio::steady_timer>(ex, delay);
  timers.remove_if([](const auto& w) { return w.expired(); });
  timers.push_back(t);
  t->async_wait([self = shared_from_this(), t, f = std::move(f)](std::error_code ec) {
    if (!ec && !self->closed) f();
  });
}

void TestServer::Impl::handle(const Bytes& query_bytes, bool tcp, const Reply& reply,
                              const asio::ip::udp::endpoint& peer) {
  auto d = decode(query_bytes);
  if (!d || d.message->header.qr || d.message->questions.size() != 1) return;
  const Message q = std::move(*d.message);
  const Question& question = q.questions[0];
  {
    std::lock_guard lock(mu);
    received.push_back({question.name, question.type, tcp, q.edns.has_value(), q.header.id});
  }
  bool known = false;
  const TestAnswer a = lookup(question, known).value_or(TestAnswer{});
  if (a.drop) return;
  if (!tcp && a.spoof != TestAnswer::Spoof::none) send_spoof(q, a, reply, peer);
  // Junk after a valid header and question: "matching but malformed".
  if (a.garbage) {
    Message r = make_response(q);
    r.edns.reset();
    Bytes junk = encode(r);
    junk[7] = 3;  // ancount 3
    junk.insert(junk.end(), {0xC0, 0xFF});  // a forward pointer
    junk.resize(junk.size() + 40, 0xAB);
    return later(a.delay, [reply, b = std::make_shared<const Bytes>(std::move(junk))] { reply(b); });
  }
  auto bytes = std::make_shared<const Bytes>(build(q, a, known, tcp));
  later(a.delay, [reply, bytes] { reply(bytes); });
}

TestServer::TestServer(const asio::any_io_executor& ex, const IpAddress& address, std::uint16_t port)
    : impl_(std::make_shared<Impl>(ex)) {
  impl_->open(address, port);
  impl_->start_udp();
  impl_->start_accept();
}

TestServer::~TestServer() { close(); }

std::uint16_t TestServer::port() const noexcept { return impl_->acceptor.local_endpoint().port(); }

Nameserver TestServer::nameserver() const {
  return {detail::from_asio(impl_->acceptor.local_endpoint().address()), port()};
}

void TestServer::set(std::string_view name, RecordType type, TestAnswer answer) {
  std::lock_guard lock(impl_->mu);
  impl_->script[{lower(name), type}] = std::move(answer);
}

void TestServer::add_host(std::string_view name, const std::vector<IpAddress>& addresses, std::uint32_t ttl) {
  TestAnswer v6, v4;
  for (const auto& a : addresses) (a.is_v4() ? v4 : v6).records.push_back(Record::a(std::string(name), a, ttl));
  set(name, RecordType::aaaa, std::move(v6));
  set(name, RecordType::a, std::move(v4));
}

std::vector<ReceivedQuery> TestServer::queries() const {
  std::lock_guard lock(impl_->mu);
  return impl_->received;
}

std::size_t TestServer::query_count(std::string_view name, RecordType type) const {
  std::lock_guard lock(impl_->mu);
  std::size_t n = 0;
  for (const auto& q : impl_->received) n += names_equal(q.name, name) && q.type == type;
  return n;
}

void TestServer::clear_queries() {
  std::lock_guard lock(impl_->mu);
  impl_->received.clear();
}

void TestServer::close() {
  if (!impl_ || impl_->closed) return;
  impl_->closed = true;
  std::error_code ec;
  impl_->udp.close(ec);
  impl_->acceptor.close(ec);
  for (auto& w : impl_->timers)
    if (auto t = w.lock()) t->cancel();
  for (auto& w : impl_->sessions)
    if (auto s = w.lock()) s->close(ec);
}

}  // namespace heyes::dns
