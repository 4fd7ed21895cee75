// CURLcodes as riptide errors: what the retry policy and the messages read.
#pragma once

#include <curl/curl.h>

#include "transport/result.h"

namespace riptide::http {

/// The only place a CURLcode becomes a riptide Error; `detail` is curl's error buffer.
Error ErrorFromCurl(CURLcode code, const char* detail);

}  // namespace riptide::http
