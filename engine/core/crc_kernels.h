// CRC kernels: a byte-table version that runs anywhere, and the x86-64 instructions
// where the CPU has them (SSE4.2's crc32 for CRC32C; PCLMULQDQ folding for CRC64/NVME).
// All take and return the raw register (no initial or final complement).
#pragma once

#include <cstddef>
#include <cstdint>

namespace riptide::engine::crc {

uint32_t Crc32cTable(uint32_t raw, const char* data, size_t size);
uint64_t Crc64NvmeTable(uint64_t raw, const char* data, size_t size);

/// Whether this CPU runs the accelerated kernels (decided once).
bool HaveCrc32cInstruction();
bool HaveCarrylessMultiply();

/// The accelerated kernels; call only where the matching Have…() is true.
uint32_t Crc32cHardware(uint32_t raw, const char* data, size_t size);
uint64_t Crc64NvmeFolded(uint64_t raw, const char* data, size_t size);

}  // namespace riptide::engine::crc
