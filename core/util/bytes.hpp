// Little helpers for the binary checkpoint format: a writer that appends fixed-size values and
// length-prefixed blobs to a string, a reader that checks every read against the end of the data
// (a truncated file is an error, never an out-of-bounds read), and CRC-32 for integrity.
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "core/util/rng.hpp"

namespace pl {

struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ByteWriter {
 public:
  template <typename T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable<T>::value, "put needs a trivially copyable type");
    out_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  void put_bytes(const void* data, size_t n) {
    put<uint64_t>(n);
    out_.append(static_cast<const char*>(data), n);
  }
  void put_string(const std::string& s) { put_bytes(s.data(), s.size()); }
  template <typename T>
  void put_array(const T* data, size_t count) {
    put<uint64_t>(count);
    out_.append(reinterpret_cast<const char*>(data), count * sizeof(T));
  }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

class ByteReader {
 public:
  ByteReader(const char* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string get_string(const char* what) {
    uint64_t n = get<uint64_t>(what);
    need(n, what);
    std::string s(data_ + pos_, n);
    pos_ += n;
    return s;
  }
  // Reads an array whose length must equal `expected`.
  template <typename T>
  void get_array(T* out, size_t expected, const char* what) {
    uint64_t n = get<uint64_t>(what);
    if (n != expected)
      throw FormatError(std::string(what) + ": expected " + std::to_string(expected) + " values, found " +
                        std::to_string(n));
    need(n * sizeof(T), what);
    std::memcpy(out, data_ + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
  }
  size_t remaining() const { return size_ - pos_; }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > size_ - pos_) throw FormatError(std::string("truncated data while reading ") + what);
  }
  const char* data_;
  size_t size_, pos_ = 0;
};

// A generator's state, field by field (writing the struct whole would store its padding bytes).
inline void put_rng(ByteWriter& w, const Rng& rng) {
  const Rng::State s = rng.get_state();
  w.put<uint64_t>(s.state);
  w.put<uint64_t>(s.inc);
  w.put<double>(s.spare_normal);
  w.put<uint8_t>(s.has_spare_normal);
}
inline void get_rng(ByteReader& r, Rng& rng, const char* what) {
  Rng::State s;
  s.state = r.get<uint64_t>(what);
  s.inc = r.get<uint64_t>(what);
  s.spare_normal = r.get<double>(what);
  s.has_spare_normal = r.get<uint8_t>(what);
  if ((s.inc & 1u) == 0) throw FormatError(std::string(what) + ": invalid generator state");
  rng.set_state(s);
}

// CRC-32 (IEEE 802.3 polynomial, reflected), as zlib's crc32.
inline uint32_t crc32(const char* data, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= static_cast<uint8_t>(data[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

}  // namespace pl
