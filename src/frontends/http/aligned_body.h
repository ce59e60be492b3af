// AlignedBody: a Beast request body type that stores the body so the decoder
// can use it in place. The bytes after the JSON part (Triton's binary tensor
// data, whose JSON length the Inference-Header-Content-Length header gives)
// start 16-byte aligned, so binary tensors of any element type are borrowed
// rather than copied; and the storage keeps spare capacity after the body for
// the JSON parser's padding, so the JSON is not copied either. The storage is
// not zero-filled first: a 600 KB body costs no memset.
//
// A body of known Content-Length gets storage of its full size when its
// header is complete, so the connection can read the rest of it from the
// socket straight into place (Unfilled()); put() then sees the bytes already
// where they belong and copies nothing. Chunked bodies are appended as they
// come.
//
// Thread-safety: used by one connection's IO thread.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "protocol/v2_json.h"

namespace infergate::http {

// The bytes of one body. Allocated at the size the header announces and not
// zero-filled (the socket fills them); grown, by copying, only for a chunked
// body, whose size is not known in advance.
class BodyBuffer {
 public:
  explicit BodyBuffer(size_t capacity)
      : bytes_(std::make_unique_for_overwrite<char[]>(capacity)), capacity_(capacity) {}

  char* data() { return bytes_.get(); }
  const char* data() const { return bytes_.get(); }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }

  // Precondition: n <= capacity(). Bytes up to n that were never written are
  // indeterminate.
  void Resize(size_t n) { size_ = n; }
  // Keeps `spare` bytes of capacity after the appended ones.
  void Append(const char* p, size_t n, size_t spare) {
    if (size_ + n + spare > capacity_) {
      const size_t capacity = std::max(2 * capacity_, size_ + n + spare);
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity);
      if (size_ > 0) std::memcpy(bigger.get(), bytes_.get(), size_);
      bytes_ = std::move(bigger);
      capacity_ = capacity;
    }
    if (n > 0) std::memcpy(bytes_.get() + size_, p, n);
    size_ += n;
  }

 private:
  std::unique_ptr<char[]> bytes_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

struct AlignedBody {
  static constexpr size_t kAlignment = 16;  // >= every element size
  static constexpr size_t kPadding = 64;    // >= the JSON parser's padding

  struct value_type {
    std::shared_ptr<BodyBuffer> storage;  // null: no body
    size_t offset = 0;                    // where the body starts in *storage
    size_t received = 0;                  // body bytes stored so far
    bool sized = false;  // *storage holds offset + Content-Length bytes, filled in place

    std::string_view view() const {
      if (!storage) return {};
      return std::string_view(storage->data() + offset, received);
    }
    // Readable bytes of the storage after the body (at least kPadding).
    size_t spare() const { return storage ? storage->capacity() - offset - received : 0; }
    // Where the rest of a sized body goes: a reader of the socket may fill a
    // prefix of it and then put() that prefix (in place, no copy). Empty for
    // a chunked body or a complete one.
    std::span<char> Unfilled() {
      if (!storage || !sized) return {};
      return std::span<char>(storage->data(), storage->size()).subspan(offset + received);
    }
  };

  class reader {
   public:
    // Beast constructs the reader with the parser, before the header is read;
    // init() is called once it is complete.
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>& header, value_type& body)
        : header_(&header), lookup_(&Lookup<isRequest, Fields>), body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      size_t json_length = 0;
      const std::string_view value = lookup_(header_);
      auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), json_length);
      if (error != std::errc() || end != value.data() + value.size()) json_length = 0;
      // Shift the body so that storage.data() + offset + json_length is aligned
      // (operator new returns storage aligned to at least kAlignment).
      body_.offset = (kAlignment - json_length % kAlignment) % kAlignment;
      // Beast checked a Content-Length against the parser's body_limit
      // before this call, so `expected` is bounded.
      const size_t expected = length ? static_cast<size_t>(*length) : 0;
      body_.storage = std::make_shared<BodyBuffer>(body_.offset + expected + kPadding);
      body_.storage->Resize(body_.offset + expected);
      body_.received = 0;
      body_.sized = length.has_value();
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      size_t total = 0;
      for (auto it = boost::asio::buffer_sequence_begin(buffers);
           it != boost::asio::buffer_sequence_end(buffers); ++it) {
        const boost::asio::const_buffer b = *it;
        const char* bytes = static_cast<const char*>(b.data());
        if (!body_.sized) {
          body_.storage->Append(bytes, b.size(), kPadding);
        } else {
          std::span<char> to = body_.Unfilled();
          if (b.size() > to.size()) {  // more than Content-Length: Beast never does this
            ec = boost::beast::http::error::buffer_overflow;
            return total;
          }
          if (bytes != to.data() && b.size() > 0) std::memcpy(to.data(), bytes, b.size());
        }
        body_.received += b.size();
        total += b.size();
      }
      ec = {};
      return total;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    // The Inference-Header-Content-Length value of the header at `header`.
    template <bool isRequest, class Fields>
    static std::string_view Lookup(const void* header) {
      const auto value = (*static_cast<const boost::beast::http::header<isRequest, Fields>*>(
          header))[protocol::kInferenceHeaderContentLength];
      return std::string_view(value.data(), value.size());
    }

    const void* header_;
    std::string_view (*lookup_)(const void*);
    value_type& body_;
  };
};

}  // namespace infergate::http
