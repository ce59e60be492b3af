// JournalFile: the SQLite file under a Journal (journal.h). The only file of
// the project that includes sqlite3.h.
//
// One table of rows (id, time appended, bytes) in WAL mode, with the file
// locked for this process (locking_mode=EXCLUSIVE: a second process that opens
// the same journal gets an error, never a share of it). Open checks the file
// (SQLite header, `PRAGMA quick_check`, the journal's application id), so a
// corrupt or foreign file is refused with an error naming it.
//
// Thread-safety: none; one thread at a time (the Journal opens it on the
// caller's thread, then only its writer thread uses it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace infergate::state {

// What a commit survives; see journal.h for the measurements behind it.
enum class Durability {
  kProcessCrash,  // synchronous=NORMAL: no fsync per commit
  kPowerLoss,     // synchronous=FULL: the WAL is fsync'd at every commit
};

struct JournalRow {
  uint64_t id = 0;
  int64_t appended_unix_ns = 0;  // wall-clock time of the append
  std::string data;
  int64_t size = 0;  // bytes of data (set by the reads, also when data is not read)
};

class JournalFile {
 public:
  // Opens or creates `path` (its folder must exist).
  static core::StatusOr<std::unique_ptr<JournalFile>> Open(const std::string& path,
                                                           Durability durability);
  ~JournalFile();
  JournalFile(const JournalFile&) = delete;
  JournalFile& operator=(const JournalFile&) = delete;

  // Every row, by ascending id; without `with_data` only ids, times and sizes.
  core::StatusOr<std::vector<JournalRow>> ReadAll(bool with_data = true);
  // Rows with id >= from_id, ascending, at most `max_rows`, and no more than
  // `max_bytes` of data unless the first row alone is larger.
  core::StatusOr<std::vector<JournalRow>> ReadFrom(uint64_t from_id, size_t max_rows,
                                                   int64_t max_bytes);

  // Inserts `inserts` and deletes the rows `deletes` in one transaction;
  // nothing of it is kept on an error.
  core::Status Commit(const std::vector<JournalRow>& inserts, const std::vector<uint64_t>& deletes);

  const std::string& path() const { return path_; }

 private:
  explicit JournalFile(std::string path) : path_(std::move(path)) {}
  core::Status Configure(Durability durability);
  core::Status CheckIntegrity();
  core::Status CreateOrCheckSchema();
  core::Status Prepare(const char* sql, sqlite3_stmt** stmt);
  core::Status Exec(const char* sql);
  core::Status StepDone(sqlite3_stmt* stmt);
  core::Status WriteRows(const std::vector<JournalRow>& inserts,
                         const std::vector<uint64_t>& deletes);
  // "<what> (journal <path>): <SQLite's message>".
  core::Status Error(const std::string& what, int rc) const;

  const std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  sqlite3_stmt* rollback_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* delete_ = nullptr;
  sqlite3_stmt* read_from_ = nullptr;
};

}  // namespace infergate::state
