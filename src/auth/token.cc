#include "auth/token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <set>

namespace infergate::auth {
namespace {

constexpr size_t kMaxGlobBytes = 255;
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kTokenRandomBytes = 32;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string Base64Url(const uint8_t* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

std::string EntryWhere(std::string_view origin, const TokenEntry& e) {
  std::string m(origin);
  if (e.line > 0) m += ": line " + std::to_string(e.line);
  return m + ": token '" + e.name + "'";
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kInfer:
      return "infer";
    case Scope::kRead:
      return "read";
    case Scope::kAdmin:
      return "admin";
  }
  return "?";
}

core::StatusOr<Scope> ParseScope(std::string_view name) {
  for (Scope s : {Scope::kInfer, Scope::kRead, Scope::kAdmin}) {
    if (name == ScopeName(s)) return s;
  }
  return core::InvalidArgument("unknown scope '" + std::string(name) +
                               "' (known: infer, read, admin)");
}

Digest Sha256(std::string_view data) {
  // Every request with a token is hashed here. OpenSSL 3's one-shot
  // SHA256() looks the algorithm up and allocates a context on each call,
  // which costs more than hashing a token: the algorithm is fetched once per
  // process and each thread keeps one context.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 &EVP_MD_CTX_free);
  Digest d{};
  unsigned int size = 0;
  if (sha256 == nullptr || ctx == nullptr || EVP_DigestInit_ex2(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), d.data(), &size) != 1 || size != d.size()) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data());
  }
  return d;
}

std::string HexDigest(const Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

core::StatusOr<Digest> ParseHexDigest(std::string_view hex) {
  Digest d{};
  if (hex.size() != 2 * d.size()) {
    return core::InvalidArgument("sha256 must be 64 hex characters, got " +
                                 std::to_string(hex.size()));
  }
  for (size_t i = 0; i < d.size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return core::InvalidArgument("sha256 must be 64 hex characters (0-9, a-f)");
    d[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return d;
}

core::Status ValidateTokenName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes)
    return core::InvalidArgument("a token name has 1 to 64 characters");
  for (char c : name) {
    if (!NameChar(c))
      return core::InvalidArgument("a token name may use only letters, digits, '-', '_' and '.'");
  }
  return core::Status::Ok();
}

core::Status ValidateModelGlob(std::string_view glob) {
  if (glob.empty()) return core::InvalidArgument("a model glob must not be empty");
  if (glob.size() > kMaxGlobBytes)
    return core::InvalidArgument("a model glob is longer than 255 bytes");
  for (char c : glob) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return core::InvalidArgument("a model glob must not contain control characters");
    if (c == '/' || c == '[' || c == ']' || c == '\\') {
      return core::InvalidArgument("model glob '" + std::string(glob) + "': '" + std::string(1, c) +
                                   "' is not allowed (only '*' and '?' are wildcards)");
    }
  }
  return core::Status::Ok();
}

bool GlobMatch(std::string_view glob, std::string_view name) {
  size_t g = 0, n = 0;
  size_t star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == name[n])) {
      ++g;
      ++n;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = n;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool TokenEntry::AllowsModel(std::string_view model) const {
  if (models.empty()) return true;
  for (const auto& glob : models) {
    if (GlobMatch(glob, model)) return true;
  }
  return false;
}

core::StatusOr<std::shared_ptr<const TokenSet>> TokenSet::Create(std::vector<TokenEntry> entries,
                                                                 std::string_view origin) {
  std::set<std::string> names;
  std::set<Digest> digests;
  for (const auto& e : entries) {
    if (e.name.empty()) {
      return core::InvalidArgument(std::string(origin) +
                                   (e.line > 0 ? ": line " + std::to_string(e.line) : "") +
                                   ": a token needs a name");
    }
    const std::string where = EntryWhere(origin, e);
    if (auto st = ValidateTokenName(e.name); !st.ok()) return st.WithPrefix(where);
    if (e.scopes == 0)
      return core::InvalidArgument(where + ": needs at least one scope (infer, read, admin)");
    for (const auto& glob : e.models) {
      if (auto st = ValidateModelGlob(glob); !st.ok()) return st.WithPrefix(where);
    }
    if (!names.insert(e.name).second)
      return core::InvalidArgument(where + ": the name is used twice");
    if (!digests.insert(e.sha256).second) {
      return core::InvalidArgument(
          where + ": the same sha256 as another entry (each token must be unique)");
    }
  }
  return std::shared_ptr<const TokenSet>(new TokenSet(std::move(entries)));
}

const TokenEntry* TokenSet::Find(const Digest& digest) const {
  const TokenEntry* found = nullptr;
  for (const auto& e : entries_) {
    // No early exit: every entry is compared whatever matched before.
    const bool same = CRYPTO_memcmp(e.sha256.data(), digest.data(), digest.size()) == 0;
    found = same ? &e : found;
  }
  return found;
}

core::StatusOr<std::string> NewToken() {
  uint8_t bytes[kTokenRandomBytes];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1)
    return core::Internal("the random generator failed (RAND_bytes)");
  std::string token = Base64Url(bytes, sizeof(bytes));
  OPENSSL_cleanse(bytes, sizeof(bytes));
  return token;
}

std::string TokenEntryYaml(const TokenEntry& entry) {
  std::string y =
      "- name: " + entry.name + "\n  sha256: " + HexDigest(entry.sha256) + "\n  scopes: [";
  bool first = true;
  for (Scope s : {Scope::kInfer, Scope::kRead, Scope::kAdmin}) {
    if (!entry.Has(s)) continue;
    y += (first ? "" : ", ") + std::string(ScopeName(s));
    first = false;
  }
  y += "]\n";
  if (!entry.models.empty()) {
    y += "  models: [";
    for (size_t i = 0; i < entry.models.size(); ++i)
      y += (i ? ", \"" : "\"") + entry.models[i] + "\"";
    y += "]\n";
  }
  return y;
}

}  // namespace infergate::auth
