#include "state/journal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "state/journal_crash_record.h"
#include "testing/gate.h"
#include "testing/process.h"
#include "testing/temp_dir.h"

namespace infergate::state {
namespace {

using std::chrono::hours;
using std::chrono::seconds;
using ::testing::HasSubstr;

// Collects on_durable calls; Wait() blocks until enough arrived.
class DurableLog {
 public:
  Journal::OnDurable Callback() {
    return [this](const core::Status& status) {
      std::lock_guard lock(mu_);
      statuses_.push_back(status);
      cv_.notify_all();
    };
  }
  bool Wait(size_t n) {
    std::unique_lock lock(mu_);
    return testing::WaitFor(cv_, lock, [&] { return statuses_.size() >= n; });
  }
  std::vector<core::Status> statuses() {
    std::lock_guard lock(mu_);
    return statuses_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<core::Status> statuses_;
};

class JournalTest : public ::testing::Test {
 protected:
  // A journal on the steady clock that commits at once (no window).
  JournalOptions Options() const {
    JournalOptions options;
    options.path = path_;
    options.name = "test";
    options.max_commit_delay = core::Duration::zero();
    return options;
  }
  core::StatusOr<std::unique_ptr<Journal>> Open(JournalOptions options) {
    return Journal::Open(std::move(options), &metrics_, &core::SteadyClock::Instance(),
                         &wall_clock_);
  }
  std::unique_ptr<Journal> OpenOk(JournalOptions options) {
    auto journal = Open(std::move(options));
    EXPECT_TRUE(journal.ok()) << journal.status().ToString();
    return journal.ok() ? std::move(journal).value() : nullptr;
  }
  // A journal whose window never ends by itself (a manual clock): nothing is
  // committed before Close.
  std::unique_ptr<Journal> OpenHeld() {
    JournalOptions options = Options();
    options.max_commit_delay = hours(1);
    auto journal = Journal::Open(options, &metrics_, &manual_clock_, &wall_clock_);
    EXPECT_TRUE(journal.ok()) << journal.status().ToString();
    return journal.ok() ? std::move(journal).value() : nullptr;
  }
  uint64_t CounterValue(const std::string& name) const {
    const core::Counter* c = metrics_.FindCounter(name, {{"journal", "test"}});
    return c == nullptr ? 0 : c->value();
  }
  uint64_t CommitsWritten() const {
    const core::Histogram* h =
        metrics_.FindHistogram("infergate_journal_commit_changes", {{"journal", "test"}});
    return h == nullptr ? 0 : static_cast<uint64_t>(h->sum());
  }
  // Open fails with INVALID_ARGUMENT naming the file and saying `why`.
  void ExpectRefusedAsInvalid(const std::string& why) {
    auto journal = Open(Options());
    ASSERT_FALSE(journal.ok());
    EXPECT_EQ(journal.status().code(), core::StatusCode::kInvalidArgument);
    EXPECT_THAT(journal.status().message(), HasSubstr(path_));
    EXPECT_THAT(journal.status().message(), HasSubstr(why));
  }
  std::vector<JournalRecord> Reopen() {
    auto journal = OpenOk(Options());
    return journal ? journal->Recovered() : std::vector<JournalRecord>{};
  }

  testing::TempDir dir_;
  const std::string path_ = (dir_.path() / "inbox.db").string();
  core::MetricsRegistry metrics_;
  core::ManualClock manual_clock_;
  core::ManualWallClock wall_clock_{core::WallTime(seconds(1'800'000'000))};
};

TEST_F(JournalTest, RecordsAreRecoveredAfterReopenOldestFirst) {
  const std::string binary("a\0b\xff", 4);
  {
    auto journal = OpenOk(Options());
    DurableLog log;
    ASSERT_EQ(*journal->Append("first", log.Callback()), 1u);
    wall_clock_.Advance(seconds(5));
    ASSERT_EQ(*journal->Append(binary, log.Callback()), 2u);
    ASSERT_EQ(*journal->Append("", log.Callback()), 3u);
    ASSERT_TRUE(log.Wait(3));
    for (const core::Status& s : log.statuses()) EXPECT_TRUE(s.ok()) << s.ToString();
  }
  auto journal = OpenOk(Options());
  std::vector<JournalRecord> records = journal->Recovered();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].id, 1u);
  EXPECT_EQ(records[0].data, "first");
  EXPECT_EQ(records[0].appended, core::WallTime(seconds(1'800'000'000)));
  EXPECT_EQ(records[1].data, binary);
  EXPECT_EQ(records[1].appended, core::WallTime(seconds(1'800'000'005)));
  EXPECT_EQ(records[2].data, "");
  EXPECT_TRUE(journal->Recovered().empty());  // handed over once
  EXPECT_EQ(journal->records(), 3);
  EXPECT_EQ(journal->bytes(), 9);
  // New ids follow the recovered ones; recovered records can be removed.
  DurableLog log;
  EXPECT_EQ(*journal->Append("next", log.Callback()), 4u);
  journal->Remove(2);
  journal->Close();
  std::vector<JournalRecord> again = Reopen();
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].id, 1u);
  EXPECT_EQ(again[1].id, 3u);
  EXPECT_EQ(again[2].id, 4u);
}

TEST_F(JournalTest, RemovedRecordsAreDeleted) {
  {
    auto journal = OpenOk(Options());
    DurableLog log;
    for (const char* r : {"a", "b", "c"}) ASSERT_TRUE(journal->Append(r, log.Callback()).ok());
    ASSERT_TRUE(log.Wait(3));
    journal->Remove(2);
    journal->Remove(2);   // twice: ignored
    journal->Remove(99);  // unknown: ignored
    EXPECT_EQ(journal->records(), 2);
    EXPECT_EQ(CounterValue("infergate_journal_removes_total"), 1u);
  }
  std::vector<JournalRecord> records = Reopen();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].data, "a");
  EXPECT_EQ(records[1].data, "c");
}

TEST_F(JournalTest, AnAppendRemovedBeforeItsCommitIsNeverWritten) {
  auto journal = OpenHeld();
  DurableLog log;
  auto id = journal->Append("answered before its commit", log.Callback());
  ASSERT_TRUE(id.ok());
  journal->Remove(*id);
  EXPECT_EQ(journal->records(), 0);
  journal->Close();
  // Its callback ran (OK), and no transaction was written for it.
  ASSERT_EQ(log.statuses().size(), 1u);
  EXPECT_TRUE(log.statuses()[0].ok());
  EXPECT_EQ(CounterValue("infergate_journal_commits_total"), 0u);
  EXPECT_TRUE(Reopen().empty());
}

TEST_F(JournalTest, OneCommitHoldsEverythingPending) {
  auto journal = OpenHeld();
  DurableLog log;
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < 25; ++i) ASSERT_TRUE(journal->Append("r", log.Callback()).ok());
    });
  }
  for (std::thread& p : producers) p.join();
  journal->Remove(1);  // folded into the same commit: never written
  journal->Close();
  EXPECT_EQ(log.statuses().size(), 100u);
  EXPECT_EQ(CounterValue("infergate_journal_commits_total"), 1u);
  EXPECT_EQ(CommitsWritten(), 99u);
  EXPECT_EQ(Reopen().size(), 99u);
}

TEST_F(JournalTest, TheWindowEndsByItselfOnTheSteadyClock) {
  JournalOptions options = Options();
  options.max_commit_delay = std::chrono::milliseconds(2);
  auto journal = OpenOk(options);
  DurableLog log;
  ASSERT_TRUE(journal->Append("r", log.Callback()).ok());
  ASSERT_TRUE(log.Wait(1));  // without Close
  EXPECT_EQ(CounterValue("infergate_journal_commits_total"), 1u);
}

TEST_F(JournalTest, AppendsBeyondTheBoundsAreRefusedAtOnce) {
  JournalOptions options = Options();
  options.max_records = 3;
  options.max_bytes = 10;
  {
    auto journal = OpenOk(options);
    DurableLog log;
    ASSERT_TRUE(journal->Append("123456", log.Callback()).ok());
    auto too_big = journal->Append("12345", log.Callback());
    ASSERT_FALSE(too_big.ok());
    EXPECT_EQ(too_big.status().code(), core::StatusCode::kResourceExhausted);
    EXPECT_THAT(too_big.status().message(), HasSubstr("full"));
    ASSERT_TRUE(journal->Append("1234", log.Callback()).ok());  // 10 bytes exactly
    ASSERT_TRUE(log.Wait(2));
    journal->Remove(1);  // frees 6 bytes
    ASSERT_TRUE(journal->Append("a", log.Callback()).ok());
    ASSERT_TRUE(journal->Append("b", log.Callback()).ok());
    auto too_many = journal->Append("c", log.Callback());  // a 4th record
    EXPECT_EQ(too_many.status().code(), core::StatusCode::kResourceExhausted);
    journal->Close();
    EXPECT_EQ(log.statuses().size(), 4u);  // never for a refused append
  }
  const core::Counter* full = metrics_.FindCounter("infergate_journal_failures_total",
                                                   {{"journal", "test"}, {"reason", "full"}});
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->value(), 2u);
  // The counts are recovered at open: the reopened journal is full.
  auto journal = OpenOk(options);
  DurableLog log;
  EXPECT_EQ(journal->Append("d", log.Callback()).status().code(),
            core::StatusCode::kResourceExhausted);
  EXPECT_EQ(journal->records(), 3);
  EXPECT_EQ(journal->bytes(), 6);
}

// Appends `records` and waits until each is committed.
void AppendDurably(Journal& journal, const std::vector<std::string>& records) {
  DurableLog log;
  for (const std::string& r : records) ASSERT_TRUE(journal.Append(r, log.Callback()).ok());
  ASSERT_TRUE(log.Wait(records.size()));
}

TEST_F(JournalTest, WithoutRecoverDataRecoveredHasSizesButNoData) {
  {
    auto journal = OpenOk(Options());
    AppendDurably(*journal, {"abc", "", "defgh"});
  }
  JournalOptions options = Options();
  options.recover_data = false;
  auto journal = OpenOk(options);
  std::vector<JournalRecord> records = journal->Recovered();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].size, 3);
  EXPECT_EQ(records[1].size, 0);
  EXPECT_EQ(records[2].size, 5);
  for (const JournalRecord& r : records) EXPECT_TRUE(r.data.empty());
  EXPECT_EQ(records[2].appended, core::WallTime(seconds(1'800'000'000)));
  EXPECT_EQ(journal->bytes(), 8);
  // With data (the default), the sizes are set too.
  journal->Close();
  std::vector<JournalRecord> full = Reopen();
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(full[2].data, "defgh");
  EXPECT_EQ(full[2].size, 5);
}

TEST_F(JournalTest, ReadCommittedPagesByIdAndBytes) {
  auto journal = OpenOk(Options());
  AppendDurably(*journal, {"aaaa", "bbbb", "cccc", "dddd", "eeeeeeeeeeee"});
  auto page = journal->ReadCommitted(2, 10, 8);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 2u);  // 8 bytes: two records of 4
  EXPECT_EQ((*page)[0].id, 2u);
  EXPECT_EQ((*page)[0].data, "bbbb");
  EXPECT_EQ((*page)[1].data, "cccc");
  EXPECT_EQ((*page)[1].size, 4);
  page = journal->ReadCommitted(1, 2, 1000);  // by count
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[1].id, 2u);
  page = journal->ReadCommitted(5, 10, 1);  // one record even when larger than max_bytes
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].data, "eeeeeeeeeeee");
  EXPECT_TRUE(journal->ReadCommitted(6, 10, 1000)->empty());
}

TEST_F(JournalTest, ReadCommittedSkipsRemovedAndPendingRecords) {
  auto journal = OpenOk(Options());
  AppendDurably(*journal, {"a", "b", "c"});
  journal->Remove(1);
  journal->Remove(2);
  auto page = journal->ReadCommitted(1, 1, 1000);  // pages past the removed ones
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].data, "c");
  journal->Close();
  EXPECT_EQ(journal->ReadCommitted(1, 1, 1000).status().code(),
            core::StatusCode::kFailedPrecondition);
  // Not committed yet (a window that never ends): not returned.
  auto held = OpenHeld();
  ASSERT_TRUE(held->Append("pending", nullptr).ok());
  page = held->ReadCommitted(1, 10, 1000);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].data, "c");
}

TEST_F(JournalTest, AppendAfterCloseFails) {
  auto journal = OpenOk(Options());
  journal->Close();
  journal->Close();
  DurableLog log;
  EXPECT_EQ(journal->Append("r", log.Callback()).status().code(),
            core::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(log.statuses().empty());
}

TEST_F(JournalTest, AnAppendMayHaveNoCallback) {
  auto journal = OpenOk(Options());
  ASSERT_TRUE(journal->Append("kept", nullptr).ok());
  auto removed = journal->Append("removed at once", nullptr);
  ASSERT_TRUE(removed.ok());
  journal->Remove(*removed);
  journal->Close();
  std::vector<JournalRecord> records = Reopen();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].data, "kept");
}

TEST_F(JournalTest, EveryAppendGetsExactlyOneCallback) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  std::vector<std::atomic<int>> calls(kThreads * kPerThread);
  JournalOptions options = Options();
  options.max_commit_delay = std::chrono::microseconds(500);
  auto journal = OpenOk(options);
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int key = t * kPerThread + i;
        auto id = journal->Append(std::to_string(key), [&calls, key](const core::Status& s) {
          EXPECT_TRUE(s.ok()) << s.ToString();
          ++calls[static_cast<size_t>(key)];
        });
        ASSERT_TRUE(id.ok());
        if (i % 3 == 0) journal->Remove(*id);               // mostly before its commit
        if (i % 3 == 1 && i > 1) journal->Remove(*id - 1);  // another thread's, committed or not
      }
    });
  }
  for (std::thread& p : producers) p.join();
  journal->Close();
  for (size_t k = 0; k < calls.size(); ++k) ASSERT_EQ(calls[k].load(), 1) << "append " << k;
  EXPECT_EQ(CounterValue("infergate_journal_appends_total"),
            static_cast<uint64_t>(kThreads * kPerThread));
  std::vector<JournalRecord> left = Reopen();
  EXPECT_EQ(static_cast<int64_t>(left.size()), journal->records());
}

TEST_F(JournalTest, ACorruptFileIsAnErrorNamingIt) {
  {
    auto journal = OpenOk(Options());
    DurableLog log;
    for (int i = 0; i < 200; ++i)
      ASSERT_TRUE(journal->Append(std::string(1000, 'x'), log.Callback()).ok());
    ASSERT_TRUE(log.Wait(200));
  }
  // Overwrite the middle of the file (the records' pages) with garbage.
  const auto size = std::filesystem::file_size(path_);
  ASSERT_GT(size, 64u * 1024);
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    const std::string garbage(16 * 1024, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  ExpectRefusedAsInvalid("corrupt");
}

TEST_F(JournalTest, AFileThatIsNoDatabaseIsAnErrorNamingIt) {
  dir_.Write("inbox.db", std::string(8192, 'n'));
  ExpectRefusedAsInvalid("not a journal");
}

// Writes an SQLite file with `sql` run in it.
void WriteDatabase(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST_F(JournalTest, AnotherApplicationsDatabaseIsRefused) {
  WriteDatabase(path_, "CREATE TABLE settings (k TEXT, v TEXT)");
  ExpectRefusedAsInvalid("something else");
}

TEST_F(JournalTest, AnotherFormatVersionIsRefused) {
  { auto journal = OpenOk(Options()); }
  WriteDatabase(path_, "PRAGMA user_version=7");
  ExpectRefusedAsInvalid("format version 7");
}

TEST_F(JournalTest, AnUnreadablePathIsAnErrorNamingIt) {
  std::filesystem::create_directories(path_);  // a folder where the file should be
  auto journal = Open(Options());
  ASSERT_FALSE(journal.ok());
  EXPECT_THAT(journal.status().message(), HasSubstr(path_));
}

TEST_F(JournalTest, AJournalInUseIsRefused) {
  auto first = OpenOk(Options());
  auto second = Open(Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), core::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr(path_));
  first->Close();  // releases the file
  EXPECT_TRUE(Open(Options()).ok());
}

TEST_F(JournalTest, MetricsCarryTheJournalLabel) {
  auto journal = OpenOk(Options());
  DurableLog log;
  ASSERT_TRUE(journal->Append("abc", log.Callback()).ok());
  ASSERT_TRUE(log.Wait(1));
  const std::string text = metrics_.RenderPrometheus();
  EXPECT_THAT(text, HasSubstr("infergate_journal_records{journal=\"test\"} 1"));
  EXPECT_THAT(text, HasSubstr("infergate_journal_bytes{journal=\"test\"} 3"));
  EXPECT_THAT(text, HasSubstr("infergate_journal_appends_total{journal=\"test\"} 1"));
  EXPECT_THAT(text, HasSubstr("infergate_journal_commits_total{journal=\"test\"} 1"));
  EXPECT_THAT(text, HasSubstr("infergate_journal_commit_seconds_count{journal=\"test\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("infergate_journal_failures_total{journal=\"test\",reason=\"write\"} 0"));
}

// Crash safety: a child process journals records and is killed with SIGKILL
// once on_durable reported them; they are all in the file.
void ExpectCrashRecords(const std::vector<JournalRecord>& records, int n) {
  ASSERT_GE(records.size(), static_cast<size_t>(n));
  for (int i = 1; i <= n; ++i) {
    ASSERT_EQ(records[static_cast<size_t>(i - 1)].id, static_cast<uint64_t>(i));
    ASSERT_EQ(records[static_cast<size_t>(i - 1)].data, CrashRecord(i)) << "record " << i;
  }
  for (const JournalRecord& r : records) EXPECT_EQ(r.data, CrashRecord(static_cast<int>(r.id)));
}

TEST_F(JournalTest, RecordsReportedDurableSurviveSigkillAtOnce) {
  constexpr int kRecords = 500;
  testing::Process child({JOURNAL_CRASH_CHILD, path_, std::to_string(kRecords), "self"});
  ASSERT_TRUE(child.started());
  ASSERT_EQ(child.Wait(), 128 + SIGKILL) << child.Output();
  std::vector<JournalRecord> records = Reopen();
  EXPECT_EQ(records.size(), static_cast<size_t>(kRecords));
  ExpectCrashRecords(records, kRecords);
}

TEST_F(JournalTest, RecordsReportedDurableSurviveSigkillMidCommit) {
  constexpr int kRecords = 300;
  testing::Process child({JOURNAL_CRASH_CHILD, path_, std::to_string(kRecords), "busy"});
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(child.WaitForLine("^durable " + std::to_string(kRecords) + "$")) << child.Output();
  ASSERT_EQ(child.Stop(SIGKILL), 128 + SIGKILL);
  ExpectCrashRecords(Reopen(), kRecords);
}

}  // namespace
}  // namespace infergate::state
