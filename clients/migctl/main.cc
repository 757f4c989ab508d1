// migctl: the command line of operators and of the migration orchestrator
// for the three migratekit services. `migctl --help` lists the commands.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "clients/canceller.h"
#include "clients/export_client.h"
#include "clients/migctl/exit_codes.h"
#include "clients/migctl/migrate.h"
#include "clients/migctl/output.h"
#include "clients/migctl/progress.h"
#include "clients/tunnel_client.h"
#include "clients/vma_client.h"

namespace migratekit::migctl {
namespace {

struct Globals {
  std::string output = "table";
  std::string tunnel_address = "127.0.0.1:8082";
  std::string exports_address = "127.0.0.1:8083";
  std::string vma_address = "127.0.0.1:9081";
  double timeout_seconds = 30;

  clients::CallOptions call_options() const {
    clients::CallOptions options;
    options.deadline = absl::Seconds(timeout_seconds);
    options.retry_budget = absl::Seconds(timeout_seconds);
    return options;
  }
  bool json() const { return output == "json"; }
};

// Where CLI11 stores the subcommands' arguments; lives as long as Main().
struct Arguments {
  std::string reason = "migctl tunnel reconnect";
  std::string volume_id;
  std::string device;
  bool read_only = false;
  std::string job_id;
  std::string source;
  std::string export_name;
  std::string target;
  bool verify = false;
  MigrateOptions migrate;
};

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "migctl: %s\n", std::string(status.message()).c_str());
  return ExitCodeFor(status);
}

// Ctrl-C and SIGTERM cancel whatever stream is running. The signals are
// blocked before gRPC starts its threads, so only this thread takes them.
void WatchSignals(clients::Canceller* interrupt) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals, interrupt] {
    int number = 0;
    sigwait(&signals, &number);
    interrupt->Cancel();
  }).detach();
}

void AddTunnelCommands(CLI::App& app, Globals& g, Arguments& a, int& code,
                       clients::Canceller& interrupt) {
  CLI::App* tunnel = app.add_subcommand(
      "tunnel", "The VMA's SSH tunnel (tunnel-manager, --tunnel-address).");
  tunnel->require_subcommand(1);

  tunnel->add_subcommand("status", "The session and every forward now.")
      ->callback([&] {
        auto status = clients::TunnelClient(g.tunnel_address, g.call_options())
                          .GetStatus();
        if (!status.ok()) return void(code = Fail(status.status()));
        std::cout << (g.json() ? ToJson(*status) : TunnelStatusTable(*status));
      });

  tunnel
      ->add_subcommand("watch",
                       "Print the status at every change until Ctrl-C.")
      ->callback([&] {
        clients::TunnelClient client(g.tunnel_address, g.call_options());
        absl::Status status = client.Watch(
            [&](const tunnel::v1::TunnelStatus& change) {
              std::cout << (g.json() ? ToJson(change)
                                     : TunnelStatusTable(change) + "\n")
                        << std::flush;
              return true;
            },
            &interrupt);
        code = status.ok() ? kExitOk : Fail(status);
      });

  CLI::App* reconnect = tunnel->add_subcommand(
      "reconnect", "Tear the session down and build a new one now.");
  reconnect->add_option("--reason", a.reason, "Why; written to the log.");
  reconnect->callback([&] {
    absl::Status status =
        clients::TunnelClient(g.tunnel_address, g.call_options())
            .Reconnect(a.reason);
    if (!status.ok()) return void(code = Fail(status));
    std::cout << "reconnect requested\n";
  });
}

void AddExportCommands(CLI::App& app, Globals& g, Arguments& a, int& code) {
  CLI::App* group = app.add_subcommand(
      "exports", "The OMA's NBD exports (export-manager, --exports-address).");
  group->require_subcommand(1);

  CLI::App* create = group->add_subcommand(
      "create", "Export a device as migration-vol-<volume-id>.");
  create->add_option("--volume-id", a.volume_id, "The cloud volume's id.")
      ->required();
  create->add_option("--device", a.device, "Its block device, /dev/vdX.")
      ->required();
  create->add_flag("--read-only", a.read_only, "Serve it read-only.");
  create->callback([&] {
    auto made = clients::ExportClient(g.exports_address, g.call_options())
                    .Create(a.volume_id, a.device, a.read_only);
    if (!made.ok()) return void(code = Fail(made.status()));
    std::cout << (g.json() ? ToJson(*made) : ExportDetails(*made));
  });

  CLI::App* get = group->add_subcommand("get", "One export, live.");
  get->add_option("--volume-id", a.volume_id, "The volume's id.")->required();
  get->callback([&] {
    auto found = clients::ExportClient(g.exports_address, g.call_options())
                     .Get(a.volume_id);
    if (!found.ok()) return void(code = Fail(found.status()));
    std::cout << (g.json() ? ToJson(*found) : ExportDetails(*found));
  });

  group->add_subcommand("list", "Every export, live.")->callback([&] {
    auto all =
        clients::ExportClient(g.exports_address, g.call_options()).List();
    if (!all.ok()) return void(code = Fail(all.status()));
    if (!g.json()) return void(std::cout << ExportsTable(*all));
    exports::v1::ListExportsResponse response;
    for (const auto& one : *all) *response.add_exports() = one;
    std::cout << ToJson(response);
  });

  CLI::App* remove = group->add_subcommand(
      "delete", "Stop serving an export to new connections.");
  remove->add_option("--volume-id", a.volume_id, "The volume's id.")
      ->required();
  remove->callback([&] {
    absl::Status status =
        clients::ExportClient(g.exports_address, g.call_options())
            .Delete(a.volume_id);
    if (!status.ok()) return void(code = Fail(status));
    std::cout << "export migration-vol-" << a.volume_id << " deleted\n";
  });
}

void AddJobCommands(CLI::App& app, Globals& g, Arguments& a, int& code,
                    clients::Canceller& interrupt) {
  CLI::App* group = app.add_subcommand(
      "jobs", "Replication jobs on the VMA (vma-api, --vma-address).");
  group->require_subcommand(1);

  CLI::App* start = group->add_subcommand(
      "start", "Start copying a source disk into an export.");
  start->add_option("--job-id", a.job_id, "Default: a random id.");
  start->add_option("--source", a.source, "The source disk's NBD URI.")
      ->required();
  start->add_option("--export", a.export_name, "migration-vol-<volume-id>.")
      ->required();
  start->add_option("--target-address", a.target,
                    "NBD server as the VMA reaches it (default: vma-api's, "
                    "the tunnel's 127.0.0.1:10808).");
  start->add_flag("--verify", a.verify, "Compare digests at the end.");
  start->callback([&] {
    vma::v1::StartReplicationRequest request;
    request.set_job_id(a.job_id);
    request.set_source_uri(a.source);
    request.set_export_name(a.export_name);
    request.set_target_address(a.target);
    request.set_verify(a.verify);
    auto job =
        clients::VmaClient(g.vma_address, g.call_options()).Start(request);
    if (!job.ok()) return void(code = Fail(job.status()));
    std::cout << (g.json() ? ToJson(*job) : JobDetails(*job));
  });

  CLI::App* get = group->add_subcommand("get", "One job.");
  get->add_option("job_id", a.job_id, "The job's id.")->required();
  get->callback([&] {
    auto job =
        clients::VmaClient(g.vma_address, g.call_options()).Get(a.job_id);
    if (!job.ok()) return void(code = Fail(job.status()));
    std::cout << (g.json() ? ToJson(*job) : JobDetails(*job));
  });

  group->add_subcommand("list", "Every job, newest first.")->callback([&] {
    auto jobs = clients::VmaClient(g.vma_address, g.call_options()).List();
    if (!jobs.ok()) return void(code = Fail(jobs.status()));
    if (!g.json()) return void(std::cout << JobsTable(*jobs));
    vma::v1::ListJobsResponse response;
    for (const auto& one : *jobs) *response.add_jobs() = one;
    std::cout << ToJson(response);
  });

  CLI::App* watch = group->add_subcommand(
      "watch", "Follow a job's progress until it ends or Ctrl-C.");
  watch->add_option("job_id", a.job_id, "The job's id.")->required();
  watch->callback([&] {
    ProgressPrinter progress(stdout, !g.json() && isatty(STDOUT_FILENO));
    vma::v1::Job last;
    absl::Status status = clients::VmaClient(g.vma_address, g.call_options())
                              .Watch(
                                  a.job_id,
                                  [&](const vma::v1::Job& job) {
                                    last = job;
                                    if (g.json()) {
                                      std::cout << ToJson(job) << std::flush;
                                    } else {
                                      progress.Update(job);
                                    }
                                    return true;
                                  },
                                  &interrupt);
    progress.Finish();
    if (interrupt.cancelled()) return void(code = kExitInterrupted);
    if (!status.ok()) return void(code = Fail(status));
    if (!g.json() && !last.error().empty()) {
      std::cout << "error: " << last.error() << "\n";
    }
    code = last.phase() == vma::v1::JOB_PHASE_DONE ? kExitOk : kExitFailed;
  });

  CLI::App* cancel = group->add_subcommand("cancel", "Stop a running job.");
  cancel->add_option("job_id", a.job_id, "The job's id.")->required();
  cancel->callback([&] {
    auto job =
        clients::VmaClient(g.vma_address, g.call_options()).Cancel(a.job_id);
    if (!job.ok()) return void(code = Fail(job.status()));
    std::cout << (g.json() ? ToJson(*job) : JobDetails(*job));
  });
}

void AddMigrateCommand(CLI::App& app, Globals& g, Arguments& a, int& code,
                       clients::Canceller& interrupt) {
  // The callback runs after this function has returned: it must name
  // nothing local, only what Main() owns.
  MigrateOptions* options = &a.migrate;
  CLI::App* migrate = app.add_subcommand(
      "migrate",
      "Move one volume: create its export on the OMA, copy the source disk "
      "into it through the tunnel, verify, remove the export. Run on the OMA "
      "(vma-api is reached through the reverse forward).");
  migrate
      ->add_option("--volume-id", options->volume_id, "The cloud volume's id.")
      ->required();
  migrate
      ->add_option("--device", options->device_path,
                   "The volume's block device on the OMA, /dev/vdX.")
      ->required();
  migrate
      ->add_option("--source", options->source_uri,
                   "The source disk's NBD URI, as the VMA reaches it.")
      ->required();
  migrate->add_option("--job-id", options->job_id, "Default: a random id.");
  migrate->add_option("--target-address", options->target_address,
                      "NBD server as the VMA reaches it (default: vma-api's, "
                      "the tunnel's 127.0.0.1:10808).");
  migrate->add_option("--connections", options->connections,
                      "NBD connections per side (default: vma-api's).");
  migrate->add_flag("--verify", options->verify,
                    "Compare source and target digests at the end.");
  migrate->add_flag("--keep-export", options->keep_export,
                    "Leave the export in place after a successful copy.");
  migrate->callback([&] {
    clients::ExportClient exports(g.exports_address, g.call_options());
    clients::VmaClient vma(g.vma_address, g.call_options());
    FILE* out = g.json() ? stderr : stdout;
    Migration migration(&exports, &vma, out, isatty(fileno(out)) == 1);
    code = migration.Run(a.migrate, &interrupt);
    if (g.json()) std::cout << ToJson(migration.job());
  });
}

}  // namespace

int Main(int argc, char** argv) {
  clients::Canceller interrupt;
  WatchSignals(&interrupt);

  Globals g;
  Arguments a;
  int code = kExitOk;
  CLI::App app(
      "migctl: operate the migratekit network plane (tunnel-manager, "
      "export-manager, vma-api).",
      "migctl");
  app.footer(kExitCodesHelp);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--output,-o", g.output, "table or json.")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--tunnel-address", g.tunnel_address,
                 "tunnel-manager's gRPC address.")
      ->capture_default_str();
  app.add_option("--exports-address", g.exports_address,
                 "export-manager's gRPC address.")
      ->capture_default_str();
  app.add_option("--vma-address", g.vma_address,
                 "vma-api's gRPC address; from the OMA, the tunnel's reverse "
                 "forward.")
      ->capture_default_str();
  app.add_option("--timeout", g.timeout_seconds,
                 "Seconds for each call, and for retrying an unreachable "
                 "service.")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();

  AddTunnelCommands(app, g, a, code, interrupt);
  AddExportCommands(app, g, a, code);
  AddJobCommands(app, g, a, code, interrupt);
  AddMigrateCommand(app, g, a, code, interrupt);
  for (CLI::App* sub : app.get_subcommands({})) {
    sub->fallthrough();
    for (CLI::App* leaf : sub->get_subcommands({})) leaf->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int exit = app.exit(e);
    return exit == 0 ? kExitOk : kExitUsage;
  }
  return code;
}

}  // namespace migratekit::migctl

int main(int argc, char** argv) { return migratekit::migctl::Main(argc, argv); }
