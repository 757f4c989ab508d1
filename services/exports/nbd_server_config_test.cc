#include "services/exports/nbd_server_config.h"

#include <gtest/gtest.h>

namespace migratekit::exports {
namespace {

TEST(RenderBaseConfig, HasGenericSectionAndPlaceholder) {
  absl::StatusOr<std::string> text = RenderBaseConfig(
      {{"127.0.0.1", 10809}, "/var/lib/x/conf.d", "/var/lib/x/placeholder"});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_NE(text->find("[generic]\nlistenaddr = 127.0.0.1\nport = 10809\n"
                       "includedir = /var/lib/x/conf.d\n"),
            std::string::npos);
  EXPECT_NE(text->find("[migratekit-placeholder]\nexportname = "
                       "/var/lib/x/placeholder\nreadonly = true\n"),
            std::string::npos);
}

TEST(RenderBaseConfig, RefusesValuesThatBreakTheFile) {
  EXPECT_FALSE(RenderBaseConfig({{"127.0.0.1", 1}, "/a\n[evil]", "/p"}).ok());
  EXPECT_FALSE(RenderBaseConfig({{"127.0.0.1", 1}, "/a b", "/p"}).ok());
}

TEST(RenderExportSection, RoundTrips) {
  ExportSection section{"migration-vol-42", "/links/migration-vol-42", true};
  absl::StatusOr<std::string> text = RenderExportSection(section);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "[migration-vol-42]\nexportname = /links/migration-vol-42\n"
            "readonly = true\nflush = true\nfua = true\n");
  absl::StatusOr<ExportSection> parsed = ParseExportSection(*text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, section);
}

TEST(RenderExportSection, RefusesInjection) {
  for (const char* name : {"a]\n[b", "a=b", "a#b", "a;b", "a b", ""}) {
    EXPECT_EQ(RenderExportSection({name, "/l", false}).status().code(),
              absl::StatusCode::kInvalidArgument)
        << name;
  }
  EXPECT_FALSE(RenderExportSection({"n", "/l\nreadonly = false", true}).ok());
}

TEST(ParseExportSection, ReadsFilesWrittenWithoutFlushLines) {
  absl::StatusOr<ExportSection> parsed = ParseExportSection(
      "[migration-vol-7]\nexportname = /links/migration-vol-7\n"
      "readonly = false\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->link_path, "/links/migration-vol-7");
  EXPECT_FALSE(parsed->read_only);
}

TEST(ParseExportSection, RefusesHalfWrittenFiles) {
  EXPECT_FALSE(ParseExportSection("[migration-vol-1]\nexportna").ok());
  EXPECT_FALSE(ParseExportSection("[migration-vol-1]\nexportname = /l\n").ok());
  EXPECT_FALSE(ParseExportSection("").ok());
  EXPECT_FALSE(ParseExportSection("[a]\nexportname = /l\nreadonly = true\n"
                                  "[b]\n")
                   .ok());
}

}  // namespace
}  // namespace migratekit::exports
