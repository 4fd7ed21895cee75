// The form a file system keeps a name in when it folds case or normalises Unicode: two
// names of one form are one file there, so a mirror must not write both.
#pragma once

#include <string>
#include <string_view>

namespace riptide::planner {

/// `name` as a folding and/or normalising file system compares it. Normalisation is NFC
/// (NFC and NFD forms of a name become one); case folds code point by code point to upper
/// case, as exFAT's up-case table does ("É" and "é" are one, "ß" stays "ß"). Bytes that are
/// not UTF-8 are kept as they are: such a name is only ever equal to itself.
std::string NameForm(std::string_view name, bool fold_case, bool normalize);

}  // namespace riptide::planner
