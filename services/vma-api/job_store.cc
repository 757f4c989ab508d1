#include "services/vma-api/job_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace migratekit::vma {
namespace {

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS jobs ("
    "  job_id TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL,"
    "  request BLOB NOT NULL,"
    "  job BLOB NOT NULL,"
    "  checkpoint_offset INTEGER NOT NULL,"
    "  checkpoint_copied INTEGER NOT NULL,"
    "  checkpoint_zeroed INTEGER NOT NULL,"
    "  checkpoint_complete INTEGER NOT NULL)";

absl::Status SqliteError(sqlite3* db, absl::string_view what) {
  return absl::InternalError(
      absl::StrCat("job store: ", what, ": ", sqlite3_errmsg(db)));
}

// Statements finalized at scope exit.
struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

}  // namespace

absl::StatusOr<std::unique_ptr<JobStore>> JobStore::Open(
    const std::string& dir) {
  std::string path = ":memory:";
  if (!dir.empty()) {
    if (mkdir(dir.c_str(), 0700) == -1 && errno != EEXIST) {
      return absl::FailedPreconditionError(absl::StrCat(
          "job store: cannot create ", dir, ": ", std::strerror(errno)));
    }
    path = dir + "/jobs.sqlite";
  }

  sqlite3* db = nullptr;
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    absl::Status status = absl::FailedPreconditionError(
        absl::StrCat("job store: cannot open ", path, ": ",
                     db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<JobStore> store(new JobStore(db));

  // A checkpoint must be on disk before the copy goes past it: WAL with
  // full sync on every commit.
  const char* setup[] = {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                         "PRAGMA busy_timeout=5000", kSchema};
  for (const char* sql : setup) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return SqliteError(db, sql);
    }
  }
  return store;
}

JobStore::~JobStore() { sqlite3_close(db_); }

absl::Status JobStore::Insert(const JobRecord& record) {
  absl::Status status = Write(
      "INSERT INTO jobs (request, job, checkpoint_offset, checkpoint_copied,"
      " checkpoint_zeroed, checkpoint_complete, job_id, seq) VALUES"
      " (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
      "  (SELECT IFNULL(MAX(seq), 0) + 1 FROM jobs))",
      record);
  if (status.code() == absl::StatusCode::kAlreadyExists) {
    return absl::AlreadyExistsError(
        absl::StrCat("job ", record.job.job_id(), " already exists"));
  }
  return status;
}

absl::Status JobStore::Update(const JobRecord& record) {
  return Write(
      "UPDATE jobs SET request = ?1, job = ?2, checkpoint_offset = ?3,"
      " checkpoint_copied = ?4, checkpoint_zeroed = ?5,"
      " checkpoint_complete = ?6 WHERE job_id = ?7",
      record);
}

absl::Status JobStore::Write(const char* sql, const JobRecord& record) {
  std::string request = record.request.SerializeAsString();
  std::string job = record.job.SerializeAsString();

  absl::MutexLock lock(&mu_);
  Statement statement;
  if (sqlite3_prepare_v2(db_, sql, -1, &statement.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare");
  }
  sqlite3_stmt* s = statement.stmt;
  sqlite3_bind_blob(s, 1, request.data(), request.size(), SQLITE_TRANSIENT);
  sqlite3_bind_blob(s, 2, job.data(), job.size(), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, record.checkpoint.offset);
  sqlite3_bind_int64(s, 4, record.checkpoint.copied);
  sqlite3_bind_int64(s, 5, record.checkpoint.zeroed);
  sqlite3_bind_int(s, 6, record.checkpoint.complete ? 1 : 0);
  sqlite3_bind_text(s, 7, record.job.job_id().c_str(), -1, SQLITE_TRANSIENT);

  int result = sqlite3_step(s);
  if (result == SQLITE_CONSTRAINT) {
    return absl::AlreadyExistsError(sqlite3_errmsg(db_));
  }
  if (result != SQLITE_DONE) return SqliteError(db_, "write");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobRecord>> JobStore::LoadAll() {
  absl::MutexLock lock(&mu_);
  Statement statement;
  if (sqlite3_prepare_v2(
          db_,
          "SELECT request, job, checkpoint_offset, checkpoint_copied,"
          " checkpoint_zeroed, checkpoint_complete FROM jobs ORDER BY seq",
          -1, &statement.stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db_, "prepare");
  }

  std::vector<JobRecord> records;
  sqlite3_stmt* s = statement.stmt;
  int result;
  while ((result = sqlite3_step(s)) == SQLITE_ROW) {
    JobRecord record;
    bool parsed = record.request.ParseFromArray(sqlite3_column_blob(s, 0),
                                                sqlite3_column_bytes(s, 0)) &&
                  record.job.ParseFromArray(sqlite3_column_blob(s, 1),
                                            sqlite3_column_bytes(s, 1));
    if (!parsed) return absl::DataLossError("job store: unreadable job row");
    record.checkpoint.offset = sqlite3_column_int64(s, 2);
    record.checkpoint.copied = sqlite3_column_int64(s, 3);
    record.checkpoint.zeroed = sqlite3_column_int64(s, 4);
    record.checkpoint.complete = sqlite3_column_int(s, 5) != 0;
    records.push_back(std::move(record));
  }
  if (result != SQLITE_DONE) return SqliteError(db_, "read");
  return records;
}

}  // namespace migratekit::vma
