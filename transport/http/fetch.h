// Whole responses in memory over any Transport: for listings, HEADs and error bodies.
#pragma once

#include <future>

#include "transport/http/transport.h"

namespace riptide::http {

/// Starts one request whose whole response is kept in memory (bodies over 64 MiB fail).
/// Never wait on the future from the transport's own thread.
std::future<Result<Response>> FetchAsync(Transport& transport, Request request);

/// FetchAsync, waited for.
Result<Response> Fetch(Transport& transport, Request request);

}  // namespace riptide::http
