// SPDX-License-Identifier: MIT
// The DNS wire codec: bounds-checked decoding of hostile input, compressed encoding.
#include "message.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <unordered_map>

#include <fmt/format.h>

namespace heyes::dns {
namespace {

constexpr std::size_t header_size = 12;
constexpr std::size_t max_name_wire = 255;  // RFC 1035 §3.1
constexpr std::size_t max_label = 63;       // RFC 1035 §2.3.4
constexpr std::size_t max_pointer_hops = 128;

char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

// Appends one label's bytes in presentation form (RFC 1035 §5.1 escapes).
void append_label(std::string& out, const std::uint8_t* p, std::size_t n) {
  if (!out.empty()) out += '.';
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<char>(p[i]);
    if (c == '.' || c == '\\') {
      out += '\\';
      out += c;
    } else if (p[i] < 0x21 || p[i] > 0x7e) {
      out += fmt::format("\\{:03d}", p[i]);
    } else {
      out += c;
    }
  }
}

// A bounds-checked reader over the whole message; the first failure is kept.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) : b_(b) {}

  std::size_t pos() const noexcept { return pos_; }
  std::size_t size() const noexcept { return b_.size(); }
  std::size_t remaining() const noexcept { return b_.size() - pos_; }
  void seek(std::size_t p) noexcept { pos_ = p; }
  const DecodeError& error() const noexcept { return error_; }

  bool fail(std::string field, std::size_t offset, std::string reason) {
    error_ = {std::move(field), offset, std::move(reason)};
    return false;
  }

  bool u16(const std::string& field, std::uint16_t& v) {
    if (remaining() < 2) return fail(field, pos_, "message ends inside the field");
    v = static_cast<std::uint16_t>(b_[pos_] << 8 | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }

  bool u32(const std::string& field, std::uint32_t& v) {
    if (remaining() < 4) return fail(field, pos_, "message ends inside the field");
    v = std::uint32_t{b_[pos_]} << 24 | std::uint32_t{b_[pos_ + 1]} << 16 | std::uint32_t{b_[pos_ + 2]} << 8 |
        b_[pos_ + 3];
    pos_ += 4;
    return true;
  }

  bool bytes(const std::string& field, std::size_t n, const std::uint8_t*& p) {
    if (remaining() < n) return fail(field, pos_, "message ends inside the field");
    p = b_.data() + pos_;
    pos_ += n;
    return true;
  }

  bool name(const std::string& field, std::string& out);

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
  DecodeError error_;
};

// RFC 1035 §4.1.4 name decompression. A pointer must point before the start
// of the label run it ends (so every jump goes strictly backwards and no
// loop can exist) and not into the header; the uncompressed name is at most
// 255 bytes; label types 01 and 10 (RFC 6891 §5 made them obsolete) are errors.
bool Reader::name(const std::string& field, std::string& out) {
  out.clear();
  std::size_t p = pos_, run_start = pos_, wire = 0, hops = 0;
  bool jumped = false;
  for (;;) {
    if (p >= b_.size()) return fail(field, p, "name runs past the end of the message");
    const std::uint8_t len = b_[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= b_.size()) return fail(field, p, "compression pointer cut by the end of the message");
      const std::size_t target = std::size_t(len & 0x3F) << 8 | b_[p + 1];
      if (target >= run_start) return fail(field, p, fmt::format("compression pointer to {} does not point backwards (loop or forward)", target));
      if (target < header_size) return fail(field, p, fmt::format("compression pointer to {} points into the header", target));
      if (++hops > max_pointer_hops) return fail(field, p, "too many compression pointers");
      if (!jumped) pos_ = p + 2;
      jumped = true;
      p = run_start = target;
      continue;
    }
    if (len > max_label) return fail(field, p, fmt::format("label length {} is longer than 63 bytes", len));
    wire += len + 1u;
    if (wire > max_name_wire) return fail(field, p, "name longer than 255 bytes");
    if (len == 0) break;
    if (p + 1 + len > b_.size()) return fail(field, p, "label runs past the end of the message");
    append_label(out, b_.data() + p + 1, len);
    p += 1 + len;
  }
  if (!jumped) pos_ = p + 1;
  return true;
}

// RFC 1035 §4.1.1 header flags.
void decode_flags(std::uint16_t f, Header& h) {
  h.qr = f & 0x8000;
  h.opcode = static_cast<std::uint8_t>((f >> 11) & 0xF);
  h.aa = f & 0x0400;
  h.tc = f & 0x0200;
  h.rd = f & 0x0100;
  h.ra = f & 0x0080;
  h.ad = f & 0x0020;
  h.cd = f & 0x0010;
  h.rcode = static_cast<Rcode>(f & 0xF);
}

std::uint16_t encode_flags(const Header& h) {
  std::uint16_t f = 0;
  if (h.qr) f |= 0x8000;
  f |= static_cast<std::uint16_t>((h.opcode & 0xF) << 11);
  if (h.aa) f |= 0x0400;
  if (h.tc) f |= 0x0200;
  if (h.rd) f |= 0x0100;
  if (h.ra) f |= 0x0080;
  if (h.ad) f |= 0x0020;
  if (h.cd) f |= 0x0010;
  return static_cast<std::uint16_t>(f | (static_cast<std::uint16_t>(h.rcode) & 0xF));
}

struct Counts {
  std::uint16_t qd = 0, an = 0, ns = 0, ar = 0;
};

bool read_header(Reader& r, Header& h, Counts& c) {
  if (r.size() < header_size)
    return r.fail("header", 0, fmt::format("message of {} bytes is shorter than the 12-byte header", r.size()));
  std::uint16_t flags = 0;
  r.u16("header.id", h.id);
  r.u16("header.flags", flags);
  r.u16("header.qdcount", c.qd);
  r.u16("header.ancount", c.an);
  r.u16("header.nscount", c.ns);
  r.u16("header.arcount", c.ar);
  decode_flags(flags, h);
  return true;
}

bool read_question(Reader& r, std::size_t i, Question& q) {
  const std::string f = fmt::format("question[{}]", i);
  std::uint16_t type = 0;
  if (!r.name(f + ".name", q.name) || !r.u16(f + ".type", type) || !r.u16(f + ".class", q.klass)) return false;
  q.type = static_cast<RecordType>(type);
  return true;
}

// RFC 6891 §6.1.2-6.1.3: the OPT record's fields live in its class and TTL.
bool read_opt(Reader& r, const std::string& f, const Record& rec, std::size_t at, Message& m, std::uint8_t& ext) {
  if (m.edns) return r.fail(f, at, "more than one OPT record (RFC 6891 §6.1.1)");
  if (!rec.name.empty()) return r.fail(f + ".name", at, "OPT owner name is not the root");
  Edns e;
  e.udp_size = rec.klass;
  ext = static_cast<std::uint8_t>(rec.ttl >> 24);
  e.version = static_cast<std::uint8_t>(rec.ttl >> 16);
  e.dnssec_ok = rec.ttl & 0x8000;
  m.edns = e;
  return true;
}

// The rdata of the types heyes understands; the caller skips the others.
bool read_rdata(Reader& r, const std::string& f, Record& rec, std::size_t end) {
  const std::uint8_t* p = nullptr;
  const std::size_t len = end - r.pos();
  switch (rec.type) {
    case RecordType::a:
      if (len != 4) return r.fail(f + ".rdlength", r.pos(), fmt::format("A record rdlength {} is not 4", len));
      r.bytes(f + ".rdata", 4, p);
      rec.address = IpAddress::v4({p[0], p[1], p[2], p[3]});
      return true;
    case RecordType::aaaa: {
      if (len != 16) return r.fail(f + ".rdlength", r.pos(), fmt::format("AAAA record rdlength {} is not 16", len));
      r.bytes(f + ".rdata", 16, p);
      IpAddress::Bytes b{};
      std::copy(p, p + 16, b.begin());
      rec.address = IpAddress::v6(b);
      return true;
    }
    case RecordType::cname:
      return r.name(f + ".target", rec.target);
    case RecordType::soa:
      return r.name(f + ".mname", rec.soa.mname) && r.name(f + ".rname", rec.soa.rname) &&
             r.u32(f + ".serial", rec.soa.serial) && r.u32(f + ".refresh", rec.soa.refresh) &&
             r.u32(f + ".retry", rec.soa.retry) && r.u32(f + ".expire", rec.soa.expire) &&
             r.u32(f + ".minimum", rec.soa.minimum);
    default:
      return true;
  }
}

bool is_known(RecordType t) {
  return t == RecordType::a || t == RecordType::aaaa || t == RecordType::cname || t == RecordType::soa;
}

// One resource record (RFC 1035 §4.1.3), appended to out unless its type is
// skipped. Returns false on error.
bool read_record(Reader& r, const std::string& f, Message& m, std::vector<Record>& out, bool additional,
                 std::uint8_t& ext) {
  Record rec;
  std::uint16_t type = 0, rdlength = 0;
  const std::size_t at = r.pos();
  if (!r.name(f + ".name", rec.name) || !r.u16(f + ".type", type) || !r.u16(f + ".class", rec.klass) ||
      !r.u32(f + ".ttl", rec.ttl) || !r.u16(f + ".rdlength", rdlength))
    return false;
  rec.type = static_cast<RecordType>(type);
  if (rdlength > r.remaining())
    return r.fail(f + ".rdlength", r.pos() - 2,
                  fmt::format("rdlength {} exceeds the {} bytes left", rdlength, r.remaining()));
  const std::size_t end = r.pos() + rdlength;
  if (rec.type == RecordType::opt) {
    if (!additional) return r.fail(f + ".type", at, "OPT record outside the additional section");
    r.seek(end);
    return read_opt(r, f, rec, at, m, ext);
  }
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  if (rec.ttl & 0x80000000u) rec.ttl = 0;
  if (!is_known(rec.type)) {
    r.seek(end);
    ++m.skipped_records;
    return true;
  }
  if (!read_rdata(r, f, rec, end)) return false;
  if (r.pos() != end)
    return r.fail(f + ".rdlength", end, fmt::format("rdata is {} bytes but rdlength says {}", r.pos() - (end - rdlength), rdlength));
  out.push_back(std::move(rec));
  return true;
}

bool read_section(Reader& r, const char* name, std::uint16_t count, Message& m, std::vector<Record>& out,
                  std::uint8_t& ext) {
  const bool additional = std::string_view(name) == "additional";
  for (std::size_t i = 0; i < count; ++i)
    if (!read_record(r, fmt::format("{}[{}]", name, i), m, out, additional, ext)) return false;
  return true;
}

// Counts are checked against the size before anything is allocated: a
// question takes at least 5 bytes, a record at least 11.
bool check_counts(Reader& r, const Counts& c) {
  const std::size_t need = std::size_t{c.qd} * 5 + (std::size_t{c.an} + c.ns + c.ar) * 11;
  if (need > r.remaining())
    return r.fail("header", 4,
                  fmt::format("counts ({} questions, {} records) need at least {} bytes, {} left", c.qd,
                              std::size_t{c.an} + c.ns + c.ar, need, r.remaining()));
  return true;
}

// The encoder: names compressed against every suffix already written.
class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<std::uint8_t>(v >> 8));
    out_.push_back(static_cast<std::uint8_t>(v));
  }
  void u32(std::uint32_t v) {
    u16(static_cast<std::uint16_t>(v >> 16));
    u16(static_cast<std::uint16_t>(v));
  }
  void name(std::string_view text, bool compress = true);
  std::size_t size() const noexcept { return out_.size(); }
  void patch16(std::size_t at, std::uint16_t v) {
    out_[at] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 1] = static_cast<std::uint8_t>(v);
  }
  void append(const std::vector<std::uint8_t>& b) { out_.insert(out_.end(), b.begin(), b.end()); }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
  std::unordered_map<std::string, std::uint16_t> suffixes_;  // lower-case suffix -> offset
};

// Splits a presentation name into raw labels, undoing \X and \DDD escapes.
std::vector<std::string> split_labels(std::string_view text) {
  std::vector<std::string> labels;
  if (text.empty() || text == ".") return labels;
  std::string cur;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(text[i + 2])) && std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
      const int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
      if (v > 255) throw std::invalid_argument(fmt::format("bad escape in name '{}'", text));
      cur += static_cast<char>(v);
      i += 3;
    } else if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
    } else if (c == '.') {
      if (cur.empty()) throw std::invalid_argument(fmt::format("empty label in name '{}'", text));
      labels.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) labels.push_back(std::move(cur));
  return labels;
}

void Writer::name(std::string_view text, bool compress) {
  const auto labels = split_labels(text);
  std::size_t wire = 1;
  for (const auto& l : labels) {
    if (l.size() > max_label) throw std::invalid_argument(fmt::format("label longer than 63 bytes in '{}'", text));
    wire += l.size() + 1;
  }
  if (wire > max_name_wire) throw std::invalid_argument(fmt::format("name longer than 255 bytes: '{}'", text));
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::string suffix;
    // Each label length-prefixed: a separator byte could also be label data
    // ("\000.\000" and "\000\000\000" would share a key and compress wrongly).
    for (std::size_t j = i; j < labels.size(); ++j) suffix += static_cast<char>(labels[j].size()) + lower(labels[j]);
    if (auto it = suffixes_.find(suffix); compress && it != suffixes_.end()) {
      u16(static_cast<std::uint16_t>(0xC000 | it->second));
      return;
    }
    if (out_.size() < 0x4000) suffixes_.emplace(std::move(suffix), static_cast<std::uint16_t>(out_.size()));
    u8(static_cast<std::uint8_t>(labels[i].size()));
    out_.insert(out_.end(), labels[i].begin(), labels[i].end());
  }
  u8(0);
}

void write_rdata(Writer& w, const Record& r) {
  switch (r.type) {
    case RecordType::a:
      for (auto b : r.address.v4_bytes()) w.u8(b);
      break;
    case RecordType::aaaa:
      for (auto b : r.address.bytes()) w.u8(b);
      break;
    case RecordType::cname:
      w.name(r.target);
      break;
    case RecordType::soa:
      w.name(r.soa.mname);
      w.name(r.soa.rname);
      for (auto v : {r.soa.serial, r.soa.refresh, r.soa.retry, r.soa.expire, r.soa.minimum}) w.u32(v);
      break;
    default:
      if (r.rdata.size() > 0xFFFF) throw std::invalid_argument("rdata longer than 65535 bytes");
      w.append(r.rdata);
  }
}

void write_record(Writer& w, const Record& r) {
  w.name(r.name);
  w.u16(static_cast<std::uint16_t>(r.type));
  w.u16(r.klass);
  w.u32(r.ttl);
  const std::size_t len_at = w.size();
  w.u16(0);
  write_rdata(w, r);
  w.patch16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
}

std::uint16_t count16(std::size_t n) {
  if (n > 0xFFFF) throw std::invalid_argument("section with more than 65535 entries");
  return static_cast<std::uint16_t>(n);
}

}  // namespace

std::string_view to_string(RecordType type) noexcept {
  switch (type) {
    case RecordType::a: return "A";
    case RecordType::ns: return "NS";
    case RecordType::cname: return "CNAME";
    case RecordType::soa: return "SOA";
    case RecordType::mx: return "MX";
    case RecordType::txt: return "TXT";
    case RecordType::aaaa: return "AAAA";
    case RecordType::opt: return "OPT";
  }
  return "other";
}

std::string_view to_string(Rcode rcode) noexcept {
  switch (rcode) {
    case Rcode::noerror: return "NOERROR";
    case Rcode::formerr: return "FORMERR";
    case Rcode::servfail: return "SERVFAIL";
    case Rcode::nxdomain: return "NXDOMAIN";
    case Rcode::notimp: return "NOTIMP";
    case Rcode::refused: return "REFUSED";
    case Rcode::badvers: return "BADVERS";
  }
  return "other";
}

Record Record::a(std::string name, const IpAddress& address, std::uint32_t ttl) {
  Record r;
  r.name = std::move(name);
  r.type = address.is_v4() ? RecordType::a : RecordType::aaaa;
  r.ttl = ttl;
  r.address = address;
  return r;
}

Record Record::cname(std::string name, std::string target, std::uint32_t ttl) {
  Record r;
  r.name = std::move(name);
  r.type = RecordType::cname;
  r.ttl = ttl;
  r.target = std::move(target);
  return r;
}

Record Record::make_soa(std::string zone, std::uint32_t ttl, std::uint32_t minimum) {
  Record r;
  r.type = RecordType::soa;
  r.ttl = ttl;
  r.soa.mname = zone.empty() ? "ns" : "ns." + zone;
  r.soa.rname = zone.empty() ? "hostmaster" : "hostmaster." + zone;
  r.soa.serial = 1;
  r.soa.refresh = 3600;
  r.soa.retry = 600;
  r.soa.expire = 86400;
  r.soa.minimum = minimum;
  r.name = std::move(zone);
  return r;
}

std::string DecodeError::to_string() const { return fmt::format("{} at offset {}: {}", field, offset, reason); }

Decoded decode(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  Message m;
  Counts c;
  std::uint8_t ext = 0;
  bool ok = read_header(r, m.header, c) && check_counts(r, c);
  for (std::size_t i = 0; ok && i < c.qd; ++i) ok = read_question(r, i, m.questions.emplace_back());
  ok = ok && read_section(r, "answer", c.an, m, m.answers, ext) &&
       read_section(r, "authority", c.ns, m, m.authority, ext) &&
       read_section(r, "additional", c.ar, m, m.additional, ext);
  if (!ok) return {std::nullopt, r.error()};
  // RFC 6891 §6.1.3: the extended RCODE holds the upper 8 of 12 bits.
  m.header.rcode = static_cast<Rcode>(std::uint16_t{ext} << 4 | (static_cast<std::uint16_t>(m.header.rcode) & 0xF));
  return {std::move(m), {}};
}

std::vector<std::uint8_t> encode(const Message& m) {
  Writer w;
  Header h = m.header;
  const auto rcode = static_cast<std::uint16_t>(h.rcode);
  w.u16(h.id);
  w.u16(encode_flags(h));
  w.u16(count16(m.questions.size()));
  w.u16(count16(m.answers.size()));
  w.u16(count16(m.authority.size()));
  w.u16(count16(m.additional.size() + (m.edns ? 1 : 0)));
  for (const auto& q : m.questions) {
    w.name(q.name);
    w.u16(static_cast<std::uint16_t>(q.type));
    w.u16(q.klass);
  }
  for (const auto* section : {&m.answers, &m.authority, &m.additional})
    for (const auto& r : *section) write_record(w, r);
  if (m.edns) {
    // RFC 6891 §6.1.2: root name, type OPT, class = payload size, TTL = ext-rcode|version|DO.
    w.u8(0);
    w.u16(static_cast<std::uint16_t>(RecordType::opt));
    w.u16(m.edns->udp_size);
    w.u32(std::uint32_t(rcode >> 4) << 24 | std::uint32_t{m.edns->version} << 16 | (m.edns->dnssec_ok ? 0x8000u : 0u));
    w.u16(0);
  }
  return w.take();
}

Message make_query(std::uint16_t id, std::string_view name, RecordType type, bool edns) {
  Message m;
  m.header.id = id;
  m.header.rd = true;
  m.questions.push_back({std::string(name), type, class_in});
  if (!m.questions.back().name.empty() && m.questions.back().name.back() == '.') m.questions.back().name.pop_back();
  if (edns) m.edns = Edns{};
  return m;
}

Message make_response(const Message& query, Rcode rcode) {
  Message m;
  m.header.id = query.header.id;
  m.header.qr = true;
  m.header.opcode = query.header.opcode;
  m.header.rd = query.header.rd;
  m.header.ra = true;
  m.header.rcode = rcode;
  m.questions = query.questions;
  if (query.edns) m.edns = Edns{};
  return m;
}

bool names_equal(std::string_view a, std::string_view b) noexcept {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

ResponseCheck validate_response(const Message& query, std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  Message m;
  Counts c;
  if (!read_header(r, m.header, c)) return {ResponseVerdict::not_for_us, std::nullopt, r.error().to_string()};
  if (!m.header.qr) return {ResponseVerdict::not_for_us, std::nullopt, "QR=0: not a response"};
  if (m.header.id != query.header.id)
    return {ResponseVerdict::not_for_us, std::nullopt, fmt::format("ID {} is not the query's {}", m.header.id, query.header.id)};
  // Exactly the one question we asked, or it is not our answer.
  Question q;
  if (c.qd != 1 || query.questions.size() != 1)
    return {ResponseVerdict::not_for_us, std::nullopt, fmt::format("{} questions instead of 1", c.qd)};
  if (!read_question(r, 0, q)) return {ResponseVerdict::not_for_us, std::nullopt, r.error().to_string()};
  const Question& asked = query.questions.front();
  if (!names_equal(q.name, asked.name) || q.type != asked.type || q.klass != asked.klass)
    return {ResponseVerdict::not_for_us, std::nullopt,
            fmt::format("question {} {} is not the query's {} {}", q.name, to_string(q.type), asked.name,
                        to_string(asked.type))};
  // RFC 7766 §5 / RFC 1035 §4.2.1: a truncated answer only says "ask over TCP".
  if (m.header.tc) {
    m.questions.push_back(std::move(q));
    return {ResponseVerdict::accepted, std::move(m), "truncated"};
  }
  Decoded d = decode(bytes);
  if (!d) return {ResponseVerdict::malformed, std::nullopt, d.error.to_string()};
  return {ResponseVerdict::accepted, std::move(d.message), {}};
}

}  // namespace heyes::dns
