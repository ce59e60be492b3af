#include "state/journal_file.h"

#include <sqlite3.h>

#include <utility>

namespace infergate::state {
namespace {

// PRAGMA application_id of a journal file ("IGJ1") and its format version.
constexpr int kApplicationId = 0x49474A31;
constexpr int kFormatVersion = 1;

// A query's single integer result (PRAGMA application_id, ...).
int QueryInt(sqlite3* db, const char* sql, int* rc) {
  sqlite3_stmt* stmt = nullptr;
  int value = 0;
  *rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (*rc == SQLITE_OK) {
    *rc = sqlite3_step(stmt);
    if (*rc == SQLITE_ROW) {
      value = sqlite3_column_int(stmt, 0);
      *rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(stmt);
  return value;
}

}  // namespace

core::StatusOr<std::unique_ptr<JournalFile>> JournalFile::Open(const std::string& path,
                                                               Durability durability) {
  std::unique_ptr<JournalFile> file(new JournalFile(path));
  // NOMUTEX: the caller serialises use (one thread at a time).
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &file->db_, flags, nullptr);
  if (rc != SQLITE_OK) return file->Error("cannot open", rc);
  sqlite3_extended_result_codes(file->db_, 1);
  RETURN_IF_ERROR(file->Configure(durability));
  RETURN_IF_ERROR(file->CheckIntegrity());
  RETURN_IF_ERROR(file->CreateOrCheckSchema());
  RETURN_IF_ERROR(file->Prepare("BEGIN IMMEDIATE", &file->begin_));
  RETURN_IF_ERROR(file->Prepare("COMMIT", &file->commit_));
  RETURN_IF_ERROR(file->Prepare("ROLLBACK", &file->rollback_));
  RETURN_IF_ERROR(file->Prepare("INSERT INTO records (id, appended_unix_ns, data) VALUES (?, ?, ?)",
                                &file->insert_));
  RETURN_IF_ERROR(file->Prepare("DELETE FROM records WHERE id = ?", &file->delete_));
  RETURN_IF_ERROR(file->Prepare(
      "SELECT id, appended_unix_ns, data FROM records WHERE id >= ? ORDER BY id LIMIT ?",
      &file->read_from_));
  return file;
}

JournalFile::~JournalFile() {
  for (sqlite3_stmt* stmt : {begin_, commit_, rollback_, insert_, delete_, read_from_})
    sqlite3_finalize(stmt);
  // The last connection's close checkpoints the WAL into the file and removes it.
  sqlite3_close_v2(db_);
}

core::Status JournalFile::Configure(Durability durability) {
  // EXCLUSIVE before WAL: no shared-memory index, and the file stays locked for
  // this process from the first read on.
  RETURN_IF_ERROR(Exec("PRAGMA locking_mode=EXCLUSIVE"));
  sqlite3_stmt* stmt = nullptr;
  RETURN_IF_ERROR(Prepare("PRAGMA journal_mode=WAL", &stmt));
  int rc = sqlite3_step(stmt);
  const bool wal =
      rc == SQLITE_ROW &&
      std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal";
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Error("cannot read", rc);
  if (!wal) return Error("cannot switch to WAL mode", SQLITE_ERROR);
  return Exec(durability == Durability::kPowerLoss ? "PRAGMA synchronous=FULL"
                                                   : "PRAGMA synchronous=NORMAL");
}

core::Status JournalFile::CheckIntegrity() {
  sqlite3_stmt* stmt = nullptr;
  RETURN_IF_ERROR(Prepare("PRAGMA quick_check", &stmt));
  int rc = sqlite3_step(stmt);
  std::string result =
      rc == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)) : "";
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Error("cannot check", rc);
  if (result != "ok") {
    return core::InvalidArgument("journal " + path_ + " is corrupt (quick_check: " + result + ")");
  }
  return core::Status::Ok();
}

core::Status JournalFile::CreateOrCheckSchema() {
  int rc = SQLITE_OK;
  const int app_id = QueryInt(db_, "PRAGMA application_id", &rc);
  if (rc != SQLITE_OK) return Error("cannot read", rc);
  const int tables = QueryInt(db_, "SELECT count(*) FROM sqlite_schema", &rc);
  if (rc != SQLITE_OK) return Error("cannot read", rc);
  if (app_id == 0 && tables == 0) {  // a new file
    const std::string sql =
        "CREATE TABLE records (id INTEGER PRIMARY KEY, appended_unix_ns INTEGER NOT NULL,"
        " data BLOB NOT NULL); PRAGMA application_id=" +
        std::to_string(kApplicationId) + "; PRAGMA user_version=" + std::to_string(kFormatVersion);
    return Exec(sql.c_str());
  }
  if (app_id != kApplicationId) {
    return core::InvalidArgument("journal " + path_ +
                                 " is an SQLite file of something else (application_id " +
                                 std::to_string(app_id) + ")");
  }
  const int version = QueryInt(db_, "PRAGMA user_version", &rc);
  if (rc != SQLITE_OK) return Error("cannot read", rc);
  if (version != kFormatVersion) {
    return core::InvalidArgument("journal " + path_ + " has format version " +
                                 std::to_string(version) + ", this build reads " +
                                 std::to_string(kFormatVersion));
  }
  return core::Status::Ok();
}

namespace {

// The current row of a SELECT id, appended_unix_ns, data|length(data).
JournalRow RowOf(sqlite3_stmt* stmt, bool with_data) {
  JournalRow row;
  row.id = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
  row.appended_unix_ns = sqlite3_column_int64(stmt, 1);
  if (with_data) {
    const void* blob = sqlite3_column_blob(stmt, 2);
    const int size = sqlite3_column_bytes(stmt, 2);
    if (size > 0) row.data.assign(static_cast<const char*>(blob), static_cast<size_t>(size));
    row.size = size;
  } else {
    row.size = sqlite3_column_int64(stmt, 2);
  }
  return row;
}

}  // namespace

core::StatusOr<std::vector<JournalRow>> JournalFile::ReadAll(bool with_data) {
  sqlite3_stmt* stmt = nullptr;
  RETURN_IF_ERROR(Prepare(with_data ? "SELECT id, appended_unix_ns, data FROM records ORDER BY id"
                                    : "SELECT id, appended_unix_ns, length(data) FROM records"
                                      " ORDER BY id",
                          &stmt));
  std::vector<JournalRow> rows;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) rows.push_back(RowOf(stmt, with_data));
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) return Error("cannot read", rc);
  return rows;
}

core::StatusOr<std::vector<JournalRow>> JournalFile::ReadFrom(uint64_t from_id, size_t max_rows,
                                                              int64_t max_bytes) {
  sqlite3_bind_int64(read_from_, 1, static_cast<sqlite3_int64>(from_id));
  sqlite3_bind_int64(read_from_, 2, static_cast<sqlite3_int64>(max_rows));
  std::vector<JournalRow> rows;
  int64_t bytes = 0;
  int rc;
  while ((rc = sqlite3_step(read_from_)) == SQLITE_ROW) {
    if (!rows.empty() && bytes + sqlite3_column_bytes(read_from_, 2) > max_bytes) {
      rc = SQLITE_DONE;
      break;
    }
    rows.push_back(RowOf(read_from_, true));
    bytes += rows.back().size;
  }
  sqlite3_reset(read_from_);
  sqlite3_clear_bindings(read_from_);
  if (rc != SQLITE_DONE) return Error("cannot read", rc);
  return rows;
}

core::Status JournalFile::Commit(const std::vector<JournalRow>& inserts,
                                 const std::vector<uint64_t>& deletes) {
  RETURN_IF_ERROR(StepDone(begin_));
  core::Status status = WriteRows(inserts, deletes);
  if (status.ok()) status = StepDone(commit_);
  // A failed statement or COMMIT may leave the transaction open: roll it back.
  if (!status.ok() && sqlite3_get_autocommit(db_) == 0) StepDone(rollback_).IgnoreError();
  return status;
}

core::Status JournalFile::WriteRows(const std::vector<JournalRow>& inserts,
                                    const std::vector<uint64_t>& deletes) {
  for (const JournalRow& row : inserts) {
    sqlite3_bind_int64(insert_, 1, static_cast<sqlite3_int64>(row.id));
    sqlite3_bind_int64(insert_, 2, row.appended_unix_ns);
    // The row outlives the step (SQLITE_STATIC: no copy); an empty record binds
    // an empty blob, not NULL, since data() is never null.
    sqlite3_bind_blob64(insert_, 3, row.data.data(), row.data.size(), SQLITE_STATIC);
    RETURN_IF_ERROR(StepDone(insert_));
  }
  for (uint64_t id : deletes) {
    sqlite3_bind_int64(delete_, 1, static_cast<sqlite3_int64>(id));
    RETURN_IF_ERROR(StepDone(delete_));
  }
  return core::Status::Ok();
}

core::Status JournalFile::Prepare(const char* sql, sqlite3_stmt** stmt) {
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr);
  return rc == SQLITE_OK ? core::Status::Ok() : Error("cannot read", rc);
}

core::Status JournalFile::Exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? core::Status::Ok() : Error("cannot write", rc);
}

core::Status JournalFile::StepDone(sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  core::Status status = rc == SQLITE_DONE ? core::Status::Ok() : Error("cannot write", rc);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return status;
}

core::Status JournalFile::Error(const std::string& what, int rc) const {
  std::string message = "journal " + path_ + ": " + what + ": ";
  message += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return core::InvalidArgument(message + " (corrupt or not a journal)");
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return core::Unavailable(message + " (in use by another process)");
    default:
      return core::Internal(message);
  }
}

}  // namespace infergate::state
