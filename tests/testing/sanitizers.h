// Whether the test is built with a sanitizer, for the few tests that cannot
// run under one (say why where it is used).
#pragma once

namespace infergate::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// UndefinedBehaviorSanitizer's vptr check (clang). It reads the object it
// checks through a pipe the first time it sees a type, so with no file
// descriptor left it reports valid objects as "invalid vptr": tests that
// exhaust descriptors on purpose skip themselves under it.
#if defined(__has_feature)
#if __has_feature(undefined_behavior_sanitizer)
inline constexpr bool kUndefinedBehaviorSanitizer = true;
#else
inline constexpr bool kUndefinedBehaviorSanitizer = false;
#endif
#else
inline constexpr bool kUndefinedBehaviorSanitizer = false;
#endif

}  // namespace infergate::testing

// For the tests that exhaust file descriptors.
#define INFERGATE_SKIP_WITHOUT_FREE_DESCRIPTORS_UNDER_UBSAN()                              \
  if (::infergate::testing::kUndefinedBehaviorSanitizer) {                                  \
    GTEST_SKIP() << "UBSan's vptr check needs a free file descriptor (testing/sanitizers.h)"; \
  }
