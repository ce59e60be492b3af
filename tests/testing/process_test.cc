// The test harness itself: a sanitizer report printed by a program started
// through Process fails the test even when the program exits with 0, and
// deadlines follow INFERGATE_TEST_TIME_SCALE.
#include "testing/process.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "testing/time_scale.h"

namespace infergate {
namespace {

using testing::Process;

TEST(ProcessTest, CleanProgramPasses) {
  Process p({"/bin/sh", "-c", "echo hello"});
  EXPECT_EQ(p.Wait(), 0);
  EXPECT_EQ(p.Output(), "hello\n");
}

TEST(ProcessTest, AddressSanitizerReportFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        Process p({"/bin/sh", "-c", "echo '==1==ERROR: AddressSanitizer: heap-buffer-overflow' >&2; exit 0"});
        p.Wait();
      },
      "sanitizer report from /bin/sh");
}

TEST(ProcessTest, UndefinedBehaviorReportFailsTheTestWhenStopped) {
  EXPECT_NONFATAL_FAILURE(
      {
        Process p({"/bin/sh", "-c", "echo 'a.cc:1:2: runtime error: shift exponent 40'; exec sleep 60"});
        EXPECT_TRUE(p.WaitForLine("runtime error"));
      },  // the destructor stops it
      "runtime error: shift exponent 40");
}

TEST(ProcessTest, LeakReportFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      {
        Process p({"/bin/sh", "-c", "echo '==1==ERROR: LeakSanitizer: detected memory leaks'; exit 86"});
        EXPECT_EQ(p.Wait(), 86);
      },
      "exit code 86");
}

TEST(TimeScaleTest, ScalesByTheEnvironment) {
  ::unsetenv("INFERGATE_TEST_TIME_SCALE");
  EXPECT_EQ(testing::Scaled(std::chrono::seconds(2)), std::chrono::milliseconds(2000));
  ::setenv("INFERGATE_TEST_TIME_SCALE", "2.5", 1);
  EXPECT_EQ(testing::Scaled(std::chrono::seconds(2)), std::chrono::milliseconds(5000));
  ::setenv("INFERGATE_TEST_TIME_SCALE", "nonsense", 1);
  EXPECT_EQ(testing::Scaled(std::chrono::seconds(2)), std::chrono::milliseconds(2000));
  ::unsetenv("INFERGATE_TEST_TIME_SCALE");
}

}  // namespace
}  // namespace infergate
