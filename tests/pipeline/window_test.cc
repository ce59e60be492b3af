#include "pipeline/window.h"

#include <gtest/gtest.h>

namespace infergate::pipeline {
namespace {

core::DeviceWindow CountWindow(int64_t count, int64_t hop, double max_gap = 0) {
  core::DeviceWindow w;
  w.kind = core::DeviceWindow::Kind::kCount;
  w.count = count;
  w.hop = hop;
  w.max_gap_secs = max_gap;
  return w;
}

core::DeviceWindow TimeWindow(double length, double hop, double period,
                              core::DeviceWindow::Fill fill, double max_gap = 0) {
  core::DeviceWindow w;
  w.kind = core::DeviceWindow::Kind::kTime;
  w.length_secs = length;
  w.hop_secs = hop;
  w.period_secs = period;
  w.fill = fill;
  w.max_gap_secs = max_gap;
  return w;
}

// Adds one scalar reading; returns the windows it completed.
std::vector<std::vector<double>> AddOne(WindowBuffer& b, double t, double v,
                                        core::Status* st = nullptr) {
  WindowBuffer::Added added;
  core::Status s = b.Add(t, 0, &v, 1, &added);
  if (st)
    *st = s;
  else
    EXPECT_TRUE(s.ok()) << s.ToString();
  return added.windows;
}

using Windows = std::vector<std::vector<double>>;

TEST(CountWindowTest, FillsThenSlidesByHop) {
  auto spec = CountWindow(4, 2);
  WindowBuffer b(&spec, 1);
  EXPECT_TRUE(AddOne(b, 1, 1).empty());
  EXPECT_TRUE(AddOne(b, 2, 2).empty());
  EXPECT_TRUE(AddOne(b, 3, 3).empty());
  EXPECT_EQ(AddOne(b, 4, 4), (Windows{{1, 2, 3, 4}}));
  EXPECT_TRUE(AddOne(b, 5, 5).empty());
  EXPECT_EQ(AddOne(b, 6, 6), (Windows{{3, 4, 5, 6}}));
}

TEST(CountWindowTest, HopEqualToCountDoesNotOverlap) {
  auto spec = CountWindow(2, 2);
  WindowBuffer b(&spec, 2);
  const double rows[] = {1, 10, 2, 20, 3, 30, 4, 40, 5, 50};
  WindowBuffer::Added added;
  ASSERT_TRUE(b.Add(0, 0, rows, 5, &added).ok());  // one message, five readings
  EXPECT_EQ(added.windows, (Windows{{1, 10, 2, 20}, {3, 30, 4, 40}}));
}

TEST(CountWindowTest, LargeBurstSendsAtMostTheCap) {
  auto spec = CountWindow(2, 1);
  WindowBuffer b(&spec, 1);
  std::vector<double> burst(100, 1.0);
  WindowBuffer::Added added;
  ASSERT_TRUE(b.Add(0, 0, burst.data(), 100, &added).ok());
  EXPECT_EQ(static_cast<int64_t>(added.windows.size()), kMaxWindowsPerAdd);
  EXPECT_EQ(static_cast<int64_t>(added.windows.size()) + added.skipped, 99);
}

TEST(CountWindowTest, OutOfOrderReadingTakesItsPlace) {
  auto spec = CountWindow(3, 3);
  WindowBuffer b(&spec, 1);
  AddOne(b, 10, 1);
  AddOne(b, 30, 3);
  EXPECT_EQ(AddOne(b, 20, 2), (Windows{{1, 2, 3}}));
}

TEST(CountWindowTest, LateReadingIsRefusedAndChangesNothing) {
  auto spec = CountWindow(2, 1);
  WindowBuffer b(&spec, 1);
  AddOne(b, 10, 1);
  EXPECT_EQ(AddOne(b, 20, 2), (Windows{{1, 2}}));
  core::Status st;
  EXPECT_TRUE(AddOne(b, 15, 9, &st).empty());
  EXPECT_EQ(st.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("older than the last window sent"), std::string::npos)
      << st.message();
  EXPECT_EQ(AddOne(b, 30, 3), (Windows{{2, 3}}));
}

TEST(CountWindowTest, GapLongerThanMaxGapStartsAfresh) {
  auto spec = CountWindow(3, 1, /*max_gap=*/5);
  WindowBuffer b(&spec, 1);
  AddOne(b, 1, 1);
  AddOne(b, 2, 2);
  EXPECT_TRUE(AddOne(b, 100, 3).empty()) << "readings before the gap are dropped";
  AddOne(b, 101, 4);
  EXPECT_EQ(AddOne(b, 102, 5), (Windows{{3, 4, 5}}));
}

TEST(TimeWindowTest, ResamplesOnThePeriodAndPadsGapsWithThePreviousValue) {
  auto spec =
      TimeWindow(/*length=*/4, /*hop=*/4, /*period=*/1, core::DeviceWindow::Fill::kPrevious);
  WindowBuffer b(&spec, 1);
  AddOne(b, 0.0, 1);
  AddOne(b, 0.5, 2);  // same slot: the last reading wins
  AddOne(b, 2.2, 3);  // slot 1 is empty: repeats 2
  EXPECT_TRUE(AddOne(b, 3.9, 4).empty());
  EXPECT_EQ(AddOne(b, 4.0, 5), (Windows{{2, 2, 3, 4}}))
      << "complete once a reading falls after its end";
}

TEST(TimeWindowTest, ZeroFillAndHop) {
  auto spec = TimeWindow(4, 2, 1, core::DeviceWindow::Fill::kZero);
  WindowBuffer b(&spec, 1);
  AddOne(b, 10, 1);
  AddOne(b, 12, 3);
  EXPECT_EQ(AddOne(b, 14, 5), (Windows{{1, 0, 3, 0}}));
  EXPECT_EQ(AddOne(b, 16, 7), (Windows{{3, 0, 5, 0}}));
}

TEST(TimeWindowTest, OutOfOrderInsideTheOpenWindowIsPlacedLateIsRefused) {
  auto spec = TimeWindow(3, 3, 1, core::DeviceWindow::Fill::kZero);
  WindowBuffer b(&spec, 1);
  AddOne(b, 0, 1);
  AddOne(b, 2, 3);
  AddOne(b, 1, 2);  // out of order, still in the open window
  EXPECT_EQ(AddOne(b, 3, 4), (Windows{{1, 2, 3}}));
  core::Status st;
  AddOne(b, 2.5, 9, &st);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("older than the open window"), std::string::npos) << st.message();
}

TEST(TimeWindowTest, BurstIsSpacedByThePeriod) {
  auto spec = TimeWindow(0.004, 0.004, 0.001, core::DeviceWindow::Fill::kZero);
  WindowBuffer b(&spec, 1);
  const double samples[] = {1, 2, 3, 4, 5};
  WindowBuffer::Added added;
  ASSERT_TRUE(b.Add(0, 0.001, samples, 5, &added).ok());
  EXPECT_EQ(added.windows, (Windows{{1, 2, 3, 4}}));
}

TEST(TimeWindowTest, LongPauseSendsAtMostTheCapAndCountsTheRest) {
  auto spec = TimeWindow(2, 1, 1, core::DeviceWindow::Fill::kPrevious);
  WindowBuffer b(&spec, 1);
  AddOne(b, 0, 1);
  WindowBuffer::Added added;
  double v = 2;
  ASSERT_TRUE(b.Add(100, 0, &v, 1, &added).ok());
  EXPECT_EQ(static_cast<int64_t>(added.windows.size()), kMaxWindowsPerAdd);
  EXPECT_EQ(static_cast<int64_t>(added.windows.size()) + added.skipped, 99);
  EXPECT_EQ(added.windows.front(), (std::vector<double>{1, 1}));
}

TEST(TimeWindowTest, MaxGapRestartsInsteadOfPadding) {
  auto spec = TimeWindow(2, 2, 1, core::DeviceWindow::Fill::kPrevious, /*max_gap=*/3);
  WindowBuffer b(&spec, 1);
  AddOne(b, 0, 1);
  EXPECT_TRUE(AddOne(b, 50, 2).empty()) << "no windows padded across the outage";
  AddOne(b, 51, 3);
  EXPECT_EQ(AddOne(b, 52, 4), (Windows{{2, 3}}));
}

TEST(WindowTest, MemoryIsAccountedAndClearedWindowKeepsWorking) {
  auto spec = CountWindow(32, 32);
  WindowBuffer b(&spec, 1);
  for (int i = 0; i < 16; ++i) AddOne(b, i, i);
  EXPECT_GE(b.MemoryBytes(), 16 * 2 * sizeof(double));
  b.Clear();
  for (int i = 0; i < 31; ++i) EXPECT_TRUE(AddOne(b, i, i).empty());
  EXPECT_EQ(AddOne(b, 31, 31).size(), 1u);
}

}  // namespace
}  // namespace infergate::pipeline
