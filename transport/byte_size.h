// Sizes and rates as people write them: "64", "16M", "16MiB", "1.5G", "512k".
#pragma once

#include <cstdint>
#include <string>

#include "transport/result.h"

namespace riptide {

/// Bytes: a number (decimals allowed) and an optional binary unit K, M, G or T, in either
/// case, with or without "i" and "B" ("16M" = "16MiB" = "16mb" = 16 × 2^20).
Result<uint64_t> ParseByteSize(const std::string& text);

}  // namespace riptide
