#include "services/common/flag_config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "absl/flags/flag.h"
#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/logging.h"

ABSL_FLAG(std::string, config, "",
          "Optional text-format protobuf file with settings; its field names "
          "are the flag names. Flags on the command line win over it.");

namespace migratekit {
namespace {

using google::protobuf::FieldDescriptor;

// Collects the parser's complaints with their line and column (1-based).
class ParseErrors : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ = absl::StrCat("line ", line + 1, " column ", column + 1, ": ",
                            message);
    }
  }
  const std::string& first() const { return first_; }

 private:
  std::string first_;
};

std::string ScalarAsFlagText(const google::protobuf::Message& message,
                             const FieldDescriptor& field, int index) {
  const auto* reflection = message.GetReflection();
  bool repeated = field.is_repeated();
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING:
      return repeated ? reflection->GetRepeatedString(message, &field, index)
                      : reflection->GetString(message, &field);
    case FieldDescriptor::CPPTYPE_BOOL:
      return (repeated ? reflection->GetRepeatedBool(message, &field, index)
                       : reflection->GetBool(message, &field))
                 ? "true"
                 : "false";
    case FieldDescriptor::CPPTYPE_INT32:
      return absl::StrCat(
          repeated ? reflection->GetRepeatedInt32(message, &field, index)
                   : reflection->GetInt32(message, &field));
    case FieldDescriptor::CPPTYPE_INT64:
      return absl::StrCat(
          repeated ? reflection->GetRepeatedInt64(message, &field, index)
                   : reflection->GetInt64(message, &field));
    case FieldDescriptor::CPPTYPE_UINT32:
      return absl::StrCat(
          repeated ? reflection->GetRepeatedUInt32(message, &field, index)
                   : reflection->GetUInt32(message, &field));
    case FieldDescriptor::CPPTYPE_UINT64:
      return absl::StrCat(
          repeated ? reflection->GetRepeatedUInt64(message, &field, index)
                   : reflection->GetUInt64(message, &field));
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return absl::StrCat(
          repeated ? reflection->GetRepeatedDouble(message, &field, index)
                   : reflection->GetDouble(message, &field));
    case FieldDescriptor::CPPTYPE_FLOAT:
      return absl::StrCat(
          repeated ? reflection->GetRepeatedFloat(message, &field, index)
                   : reflection->GetFloat(message, &field));
    case FieldDescriptor::CPPTYPE_ENUM:
      return (repeated ? reflection->GetRepeatedEnum(message, &field, index)
                       : reflection->GetEnum(message, &field))
          ->name();
    case FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return "";
}

// The --config=PATH or --config PATH argument, if any. Read before absl
// parses the command line, so that the file's values can be set first and
// the command line then overrides them.
std::string FindConfigArgument(int argc, char** argv) {
  std::string path;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, "--config=")) {
      path = std::string(arg.substr(9));
    } else if (arg == "--config" && i + 1 < argc) {
      path = argv[i + 1];
    }
  }
  return path;
}

bool IsOurFlag(absl::string_view file) {
  return absl::StartsWith(file, "services/") ||
         absl::StartsWith(file, "clients/");
}

[[noreturn]] void ExitWithUsageError(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(2);
}

}  // namespace

absl::Status CheckConfigMatchesFlags(
    const google::protobuf::Descriptor& config) {
  for (int i = 0; i < config.field_count(); ++i) {
    const FieldDescriptor* field = config.field(i);
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(field->name());
    if (flag == nullptr) {
      return absl::InternalError(
          absl::StrCat("config field ", config.full_name(), ".", field->name(),
                       " has no flag of that name"));
    }
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      return absl::InternalError(
          absl::StrCat("config field ", field->full_name(),
                       " is a message; only scalars "
                       "and repeated scalars map onto flags"));
    }
  }
  return absl::OkStatus();
}

absl::Status ApplyConfigFile(const std::string& path,
                             const google::protobuf::Message& prototype) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("config ", path, ": cannot open: ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();

  std::unique_ptr<google::protobuf::Message> config(prototype.New());
  google::protobuf::TextFormat::Parser parser;
  ParseErrors errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text.str(), config.get())) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", path, ": ", errors.first()));
  }

  std::vector<const FieldDescriptor*> fields;
  config->GetReflection()->ListFields(*config, &fields);
  for (const FieldDescriptor* field : fields) {
    std::string value;
    if (field->is_repeated()) {
      std::vector<std::string> items;
      int count = config->GetReflection()->FieldSize(*config, field);
      for (int i = 0; i < count; ++i) {
        items.push_back(ScalarAsFlagText(*config, *field, i));
      }
      value = absl::StrJoin(items, ",");
    } else {
      value = ScalarAsFlagText(*config, *field, 0);
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(field->name());
    std::string error;
    if (flag == nullptr || !flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("config ", path, ": ", field->name(), ": ",
                       flag == nullptr ? "no such setting" : error));
    }
  }
  return absl::OkStatus();
}

std::vector<char*> InitService(int argc, char** argv, const char* usage,
                               const google::protobuf::Message& config) {
  // Blocked here, before gRPC or anything else starts a thread, so that no
  // thread but the one that waits for them ever takes these signals.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGTERM);
  sigaddset(&shutdown_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  // A peer that closes a socket must be an error return, not a death.
  signal(SIGPIPE, SIG_IGN);

  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = IsOurFlag;
  usage_config.contains_helpshort_flags = IsOurFlag;
  usage_config.version_string = [] { return std::string("migratekit 0.1\n"); };
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(usage);

  absl::Status status = CheckConfigMatchesFlags(*config.GetDescriptor());
  if (!status.ok()) ExitWithUsageError(std::string(status.message()));
  std::string config_path = FindConfigArgument(argc, argv);
  if (!config_path.empty()) {
    status = ApplyConfigFile(config_path, config);
    if (!status.ok()) ExitWithUsageError(std::string(status.message()));
  }

  // absl (20220623) exits 1 after printing --help; a help that was asked
  // for and given is a success, so usage flags are handled here instead.
  std::vector<char*> positional = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  int usage_exit = absl::flags_internal::HandleUsageFlags(
      std::cout, absl::ProgramUsageMessage());
  if (usage_exit != -1) std::exit(0);
  InitLogging();
  CaptureGrpcLogs();
  return positional;
}

}  // namespace migratekit
