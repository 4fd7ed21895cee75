// Names as a file system that folds case or normalises Unicode compares them.
#include <gtest/gtest.h>

#include "planner/name_form.h"

namespace riptide::planner {
namespace {

const std::string kNfc = "caf\xC3\xA9";    // "café", é as one code point
const std::string kNfd = "cafe\xCC\x81";   // "café", e and a combining acute accent
const std::string kUpperNfc = "CAF\xC3\x89";

TEST(NameForm, NormalisingMakesNfcAndNfdOne) {
  EXPECT_EQ(NameForm(kNfc, false, true), NameForm(kNfd, false, true));
  EXPECT_NE(NameForm(kNfc, false, false), NameForm(kNfd, false, false));
  EXPECT_NE(NameForm(kNfc, false, true), NameForm(kUpperNfc, false, true));  // case kept
}

TEST(NameForm, FoldingMakesCasesOneBeyondAscii) {
  EXPECT_EQ(NameForm("README", true, false), NameForm("readme", true, false));
  EXPECT_EQ(NameForm(kNfc, true, false), NameForm(kUpperNfc, true, false));
  EXPECT_NE(NameForm(kNfc, true, false), NameForm(kNfd, true, false));  // no normalising: two names
  EXPECT_EQ(NameForm(kNfd, true, true), NameForm(kUpperNfc, true, true));
  // Simple, per code point: "ß" is not "SS" (exFAT's up-case table keeps it).
  EXPECT_NE(NameForm("stra\xC3\x9F" "e", true, true), NameForm("STRASSE", true, true));
}

TEST(NameForm, BytesThatAreNotUtf8StayThemselves) {
  const std::string bad = "a\xFF\xC3(b";
  EXPECT_EQ(NameForm(bad, true, true), "A\xFF\xC3(B");
  EXPECT_EQ(NameForm(bad, false, true), bad);
  EXPECT_NE(NameForm("a\xFF", true, true), NameForm("a\xFE", true, true));
  EXPECT_EQ(NameForm("", true, true), "");
}

}  // namespace
}  // namespace riptide::planner
