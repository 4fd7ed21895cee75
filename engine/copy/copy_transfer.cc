#include "engine/copy/copy_transfer.h"

#include "engine/copy/object_copy.h"

namespace riptide::engine {

void StartCopy(CopyContext& ctx, CopyTaskPtr task, std::function<void(CopyTaskPtr)> done) {
  std::make_shared<copy_internal::ObjectCopy>(ctx, std::move(task), std::move(done))->Start();
}

}  // namespace riptide::engine
