// `migctl migrate`: one volume moved from the VMA to the OMA, start to end.
//
//   1. export-manager makes the export migration-vol-<volume_id> on the
//      volume's device;
//   2. vma-api (through the tunnel's reverse forward) starts a job copying
//      the source disk into that export through the tunnel's forward;
//   3. the job's progress is shown until it ends; Ctrl-C cancels it;
//   4. with --verify the job compares digests of source and target;
//   5. on success the export is removed.
//
// On failure it says which step failed and what it left behind (the export,
// the job) so that an operator can look or try again.
#ifndef MIGRATEKIT_CLIENTS_MIGCTL_MIGRATE_H_
#define MIGRATEKIT_CLIENTS_MIGCTL_MIGRATE_H_

#include <cstdio>
#include <string>

#include "clients/canceller.h"
#include "clients/export_client.h"
#include "clients/migctl/exit_codes.h"
#include "clients/vma_client.h"

namespace migratekit::migctl {

struct MigrateOptions {
  std::string volume_id;
  std::string device_path;
  std::string source_uri;
  std::string job_id;          // random when empty
  std::string target_address;  // vma-api's default when empty
  bool verify = false;
  bool keep_export = false;
  uint32_t connections = 0;  // vma-api's default when 0
};

class Migration {
 public:
  Migration(clients::ExportClient* exports, clients::VmaClient* vma, FILE* out,
            bool terminal);

  // Runs the steps above. `interrupt` fires on Ctrl-C.
  ExitCode Run(const MigrateOptions& options, clients::Canceller* interrupt);

  // The job as last seen, for --output json.
  const vma::v1::Job& job() const { return job_; }

 private:
  void Step(const std::string& text);

  clients::ExportClient* exports_;
  clients::VmaClient* vma_;
  FILE* out_;
  bool terminal_;
  vma::v1::Job job_;
};

}  // namespace migratekit::migctl

#endif  // MIGRATEKIT_CLIENTS_MIGCTL_MIGRATE_H_
