// OutputFile: an export's or backup's FILE is replaced only by a whole new one; links are
// followed, devices and pipes are never renamed over.
#include "cli/output_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace cidrotor::cli {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

class OutputFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "output-file-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
};

TEST_F(OutputFileTest, TheOldFileStaysUntilTheNewOneIsCommitted) {
  const fs::path file = dir_ / "pool.csv";
  Write(file, "old");
  {
    auto output = OutputFile::Prepare(file.string(), OutputFile::Streams::kRefused);
    ASSERT_TRUE(output.has_value()) << output.error().ToString();
    EXPECT_EQ(output->write_path(), file.string() + ".partial");
    Write(output->write_path(), "new");
    EXPECT_EQ(Read(file), "old");
    ASSERT_TRUE(output->Commit().has_value());
  }
  EXPECT_EQ(Read(file), "new");
  EXPECT_FALSE(fs::exists(file.string() + ".partial"));
}

TEST_F(OutputFileTest, NotCommittedLeavesTheOldFileAndNoPartialOne) {
  const fs::path file = dir_ / "pool.csv";
  Write(file, "old");
  {
    auto output = OutputFile::Prepare(file.string(), OutputFile::Streams::kRefused);
    ASSERT_TRUE(output.has_value()) << output.error().ToString();
    Write(output->write_path(), "half");
  }
  EXPECT_EQ(Read(file), "old");
  EXPECT_FALSE(fs::exists(file.string() + ".partial"));
}

TEST_F(OutputFileTest, ALinkIsFollowedAndStays) {
  fs::create_directory(dir_ / "real");
  Write(dir_ / "real" / "pool.csv", "old");
  fs::create_symlink(dir_ / "real" / "pool.csv", dir_ / "link.csv");
  auto output = OutputFile::Prepare((dir_ / "link.csv").string(), OutputFile::Streams::kRefused);
  ASSERT_TRUE(output.has_value()) << output.error().ToString();
  Write(output->write_path(), "new");
  ASSERT_TRUE(output->Commit().has_value());
  EXPECT_TRUE(fs::is_symlink(dir_ / "link.csv"));
  EXPECT_EQ(Read(dir_ / "real" / "pool.csv"), "new");
}

TEST_F(OutputFileTest, KeepsTheReplacedFilesModeOrTheOneAskedFor) {
  const fs::path file = dir_ / "pool.csv";
  Write(file, "old");
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  auto output = OutputFile::Prepare(file.string(), OutputFile::Streams::kRefused);
  ASSERT_TRUE(output.has_value()) << output.error().ToString();
  ASSERT_TRUE(output->Commit().has_value());
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);

  auto owners = OutputFile::Prepare(file.string(), OutputFile::Streams::kRefused, 0600);
  ASSERT_TRUE(owners.has_value()) << owners.error().ToString();
  ASSERT_TRUE(owners->Commit().has_value());
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

// As root, renaming over /dev/null would replace the device node with a regular file. (The
// stream case is tried on a FIFO of the test's own: a regression must not cost /dev/null.)
TEST_F(OutputFileTest, ADeviceOrPipeIsWrittenInPlaceOrRefusedNeverRenamedOver) {
  auto refused = OutputFile::Prepare("/dev/null", OutputFile::Streams::kRefused);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().detail().find("not a regular file"), std::string::npos);
  EXPECT_TRUE(fs::is_character_file("/dev/null"));

  const fs::path fifo = dir_ / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_FALSE(OutputFile::Prepare(fifo.string(), OutputFile::Streams::kRefused));
  auto stream = OutputFile::Prepare(fifo.string(), OutputFile::Streams::kWrittenInPlace);
  ASSERT_TRUE(stream.has_value()) << stream.error().ToString();
  EXPECT_TRUE(stream->is_stream());
  EXPECT_EQ(stream->write_path(), fifo.string());
  ASSERT_TRUE(stream->Commit().has_value());
  EXPECT_TRUE(fs::is_fifo(fifo));
}

TEST_F(OutputFileTest, ADirectoryOrAMissingDirectoryIsAnErrorNamingIt) {
  auto directory = OutputFile::Prepare(dir_.string(), OutputFile::Streams::kWrittenInPlace);
  ASSERT_FALSE(directory.has_value());
  EXPECT_NE(directory.error().detail().find("is a directory"), std::string::npos);

  const std::string missing = (dir_ / "no-such-dir" / "pool.csv").string();
  auto unwritable = OutputFile::Prepare(missing, OutputFile::Streams::kWrittenInPlace);
  ASSERT_FALSE(unwritable.has_value());
  EXPECT_NE(unwritable.error().detail().find(missing + ".partial"), std::string::npos);
  EXPECT_NE(unwritable.error().detail().find("No such file or directory"), std::string::npos);
}

}  // namespace
}  // namespace cidrotor::cli
