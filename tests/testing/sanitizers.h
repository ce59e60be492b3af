// Whether the test is built with a sanitizer, for the few tests that cannot
// run under one (say why where it is used).
#pragma once

#ifdef __has_feature
#define INFERGATE_HAS_FEATURE(x) __has_feature(x)
#else
#define INFERGATE_HAS_FEATURE(x) 0
#endif

namespace infergate::testing {

#if defined(__SANITIZE_ADDRESS__) || INFERGATE_HAS_FEATURE(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// UndefinedBehaviorSanitizer's vptr check (clang). It reads the object it
// checks through a pipe the first time it sees a type, so with no file
// descriptor left it reports valid objects as "invalid vptr": tests that
// exhaust descriptors on purpose skip themselves under it.
inline constexpr bool kUndefinedBehaviorSanitizer = INFERGATE_HAS_FEATURE(undefined_behavior_sanitizer);

}  // namespace infergate::testing

// For the tests that exhaust file descriptors.
#define INFERGATE_SKIP_WITHOUT_FREE_DESCRIPTORS_UNDER_UBSAN()                              \
  if (::infergate::testing::kUndefinedBehaviorSanitizer) {                                  \
    GTEST_SKIP() << "UBSan's vptr check needs a free file descriptor (testing/sanitizers.h)"; \
  }
