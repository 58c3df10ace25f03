// SPDX-License-Identifier: MIT
// LruMap: a hash map that keeps at most a capacity of entries, evicting the least recently used (private).
#pragma once

#include <cstddef>
#include <functional>
#include <unordered_map>
#include <utility>

// Not heyes::detail: tests that use both heyes and heyes::dns name dns::detail as plain detail.
namespace heyes::common::detail {

// A hash map threaded on a doubly linked list of its own nodes, most recently
// used first. One allocation per new key (the map node); lookups allocate
// nothing. find() marks an entry as used, peek() does not. Inserting a new
// key beyond the capacity evicts from the least recently used end. Not
// thread-safe: the owner holds its lock around every call.
template <class Key, class Value, class Hash = std::hash<Key>, class KeyEqual = std::equal_to<Key>>
class LruMap {
 public:
  // A capacity of 0 counts as 1 (an owner that wants nothing stored checks first).
  explicit LruMap(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  LruMap(const LruMap&) = delete;
  LruMap& operator=(const LruMap&) = delete;

  std::size_t size() const noexcept { return map_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return map_.empty(); }

  // The value of key, now the most recently used; null when absent.
  Value* find(const Key& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    move_to_front(it->second);
    return &it->second.value;
  }

  // The value of key without changing the order; null when absent.
  const Value* peek(const Key& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second.value;
  }

  // The value of key, inserted (value-initialized) when absent, now the most
  // recently used. Inserting evicts the least recently used beyond the capacity.
  Value& touch(const Key& key) {
    if (Value* v = find(key)) return *v;
    while (map_.size() >= capacity_) evict_oldest();
    auto [it, inserted] = map_.try_emplace(key);
    Node& n = it->second;
    n.key = &it->first;
    link_front(n);
    return n.value;
  }

  // Replaces (or inserts) the value of key; it becomes the most recently used.
  Value& insert_or_assign(const Key& key, Value value) {
    Value& v = touch(key);
    v = std::move(value);
    return v;
  }

  // Removes key; false when it was absent.
  bool erase(const Key& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    unlink(it->second);
    map_.erase(it);
    return true;
  }

  void clear() noexcept {
    map_.clear();
    head_ = tail_ = nullptr;
  }

  // fn(key, value) for every entry, most recently used first.
  template <class Fn>
  void for_each(Fn&& fn) const {
    for (const Node* n = head_; n != nullptr; n = n->next) fn(*n->key, n->value);
  }

 private:
  struct Node {
    Value value{};
    const Key* key = nullptr;  // the map's own copy (map nodes never move)
    Node* prev = nullptr;
    Node* next = nullptr;
  };

  void link_front(Node& n) noexcept {
    n.prev = nullptr;
    n.next = head_;
    if (head_ != nullptr) head_->prev = &n;
    head_ = &n;
    if (tail_ == nullptr) tail_ = &n;
  }
  void unlink(Node& n) noexcept {
    (n.prev != nullptr ? n.prev->next : head_) = n.next;
    (n.next != nullptr ? n.next->prev : tail_) = n.prev;
    n.prev = n.next = nullptr;
  }
  void move_to_front(Node& n) noexcept {
    if (head_ == &n) return;
    unlink(n);
    link_front(n);
  }
  void evict_oldest() {
    Node* oldest = tail_;
    unlink(*oldest);
    map_.erase(map_.find(*oldest->key));  // by iterator: the key lives in the node erased
  }

  std::size_t capacity_;
  std::unordered_map<Key, Node, Hash, KeyEqual> map_;
  Node* head_ = nullptr;  // most recently used
  Node* tail_ = nullptr;  // least recently used
};

}  // namespace heyes::common::detail
