// SPDX-License-Identifier: MIT
// Boost flavour: std::error_code to boost::system::error_code, and heyes::errc against a Boost error code.
#include "common/asio.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "heyes/error.hpp"

namespace heyes {
namespace {

// A Boost category standing for one std::error_category: same name, same
// messages, and the generic condition std gives the value.
class StdCategory final : public boost::system::error_category {
 public:
  explicit StdCategory(const std::error_category& cat) : cat_(cat) {}
  const std::error_category& std_category() const noexcept { return cat_; }

  const char* name() const noexcept override { return cat_.name(); }
  std::string message(int ev) const override { return cat_.message(ev); }
  boost::system::error_condition default_error_condition(int ev) const noexcept override {
    const std::error_condition c = cat_.default_error_condition(ev);
    if (c.category() == std::generic_category()) return {c.value(), boost::system::generic_category()};
    return {ev, *this};
  }

 private:
  const std::error_category& cat_;
};

// One StdCategory per std category, for the life of the process (error
// codes holding them may outlive any owner).
const boost::system::error_category& boost_category_for(const std::error_category& cat) {
  static std::mutex mutex;
  static auto* categories = new std::map<const std::error_category*, std::unique_ptr<StdCategory>>;
  std::lock_guard lock(mutex);
  auto& slot = (*categories)[&cat];
  if (!slot) slot = std::make_unique<StdCategory>(cat);
  return *slot;
}

}  // namespace

asio_error_code flavour::to_asio_error(const std::error_code& ec) noexcept {
  if (!ec) return {};
  const std::error_category& cat = ec.category();
  // Boost's own categories seen through std (an asio error converted to
  // std::error_code inside the library) and std's system and generic ones.
  if (cat == std::system_category() || cat == boost::system::system_category())
    return {ec.value(), boost::system::system_category()};
  if (cat == std::generic_category() || cat == boost::system::generic_category())
    return {ec.value(), boost::system::generic_category()};
  try {
    return {ec.value(), boost_category_for(cat)};
  } catch (...) {  // no memory for a new category: the value, as a system error
    return {ec.value(), boost::system::system_category()};
  }
}

std::error_code flavour::to_std_error(const asio_error_code& ec) noexcept {
  if (const auto* cat = dynamic_cast<const StdCategory*>(&ec.category())) return {ec.value(), cat->std_category()};
  return ec;
}

bool operator==(const asio_error_code& ec, errc e) noexcept {
  return ec == flavour::to_asio_error(make_error_code(e));
}

}  // namespace heyes
