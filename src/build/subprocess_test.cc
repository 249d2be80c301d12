#include "build/subprocess.h"

#include <gtest/gtest.h>

#include "build/sha256.h"

namespace kiln {
namespace {

TEST(SubprocessTest, CapturesExitCodeAndBothStreams) {
  StatusOr<SubprocessResult> run =
      RunSubprocess({"/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 3);
  EXPECT_EQ(run->output, "to-stdout\nto-stderr\n");
}

TEST(SubprocessTest, ArgumentsArePassedVerbatimWithoutAShell) {
  // printf's format is argv[1]; a shell would have expanded $HOME and split on the spaces.
  StatusOr<SubprocessResult> run = RunSubprocess({"printf", "[%s]", "a b $HOME 'q'"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->output, "[a b $HOME 'q']");
}

TEST(SubprocessTest, ReadsOutputLargerThanThePipeBuffer) {
  // 300 KB: a driver that waited before reading would deadlock on the 64 KB pipe.
  StatusOr<SubprocessResult> run = RunSubprocess({"head", "-c", "300000", "/dev/zero"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_EQ(run->output.size(), 300000u);
}

TEST(SubprocessTest, KilledChildReportsSignalLikeAShell) {
  StatusOr<SubprocessResult> run = RunSubprocess({"/bin/sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  EXPECT_EQ(run->exit_code, 128 + 9);
}

TEST(SubprocessTest, FormatCommandLineQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(FormatCommandLine({"c++", "-O2", "-DX=1", "a b.cc", "it's", ""}),
            "c++ -O2 -DX=1 'a b.cc' 'it'\\''s' ''");
}

TEST(Sha256Test, KnownVectors) {
  // FIPS 180-4 examples; the 56-byte one exercises padding into a second block.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // One million 'a's, fed in uneven pieces to exercise the incremental path.
  Sha256 sha;
  std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    size_t n = std::min(left, chunk.size());
    sha.Update(std::string_view(chunk).substr(0, n));
    left -= n;
  }
  EXPECT_EQ(sha.FinishHex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace kiln
