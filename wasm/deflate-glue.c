/*
 * layerkit's C surface over libdeflate 1.14, linked into wasm/zstd.wasm next to libzstd by
 * wasm/build-zstd.sh (one module, so every runtime adapter loads both codecs the same way).
 *
 * libdeflate works on whole buffers: a member is compressed in one call, which is what eStargz
 * needs (one gzip member per chunk, bounded by the chunk size), and an inflate reports the input
 * it consumed, which is the member boundary. Results: sizes (0 = output did not fit) for
 * compression, libdeflate_result values for inflation; the consumed/produced byte counts of the
 * last inflate are left in lk_dfl_io. The TypeScript side is src/wasm/deflate.ts.
 */
#include <stddef.h>
#include <stdint.h>
#include "libdeflate.h"

#define LK_EXPORT __attribute__((used, visibility("default")))

/*
 * [0] input bytes consumed, [1] output bytes produced by the last lk_inf_decompress or
 * lk_inf_member; [2] the CRC-32 of that output (lk_inf_member) or of the input (lk_dfl_member).
 */
static size_t lk_dfl_io_state[3];

LK_EXPORT size_t *lk_dfl_io(void) { return lk_dfl_io_state; }

/* NULL for a level outside 0..12 or when memory runs out. */
LK_EXPORT struct libdeflate_compressor *lk_dfl_create(int level) { return libdeflate_alloc_compressor(level); }
LK_EXPORT size_t lk_dfl_bound(struct libdeflate_compressor *c, size_t n) { return libdeflate_deflate_compress_bound(c, n); }
LK_EXPORT size_t lk_dfl_compress(struct libdeflate_compressor *c, const void *in, size_t n, void *out, size_t cap) {
  return libdeflate_deflate_compress(c, in, n, out, cap);
}
/*
 * A gzip member's body in one call: the CRC-32 of the input and its DEFLATE stream, from the same
 * heap copy (the trailer needs both). Returns the compressed size, 0 when it did not fit.
 */
LK_EXPORT size_t lk_dfl_member(struct libdeflate_compressor *c, const void *in, size_t n, void *out, size_t cap) {
  lk_dfl_io_state[2] = libdeflate_crc32(0, in, n);
  return libdeflate_deflate_compress(c, in, n, out, cap);
}
LK_EXPORT void lk_dfl_free(struct libdeflate_compressor *c) { libdeflate_free_compressor(c); }

LK_EXPORT struct libdeflate_decompressor *lk_inf_create(void) { return libdeflate_alloc_decompressor(); }
LK_EXPORT int lk_inf_decompress(struct libdeflate_decompressor *d, const void *in, size_t n, void *out, size_t cap) {
  size_t used = 0, produced = 0;
  enum libdeflate_result r = libdeflate_deflate_decompress_ex(d, in, n, out, cap, &used, &produced);
  lk_dfl_io_state[0] = used;
  lk_dfl_io_state[1] = produced;
  return (int)r;
}
/* lk_inf_decompress, plus the CRC-32 of the output while it is in the heap (for the gzip trailer). */
LK_EXPORT int lk_inf_member(struct libdeflate_decompressor *d, const void *in, size_t n, void *out, size_t cap) {
  int r = lk_inf_decompress(d, in, n, out, cap);
  lk_dfl_io_state[2] = r == LIBDEFLATE_SUCCESS ? libdeflate_crc32(0, out, lk_dfl_io_state[1]) : 0;
  return r;
}
LK_EXPORT void lk_inf_free(struct libdeflate_decompressor *d) { libdeflate_free_decompressor(d); }

LK_EXPORT uint32_t lk_crc32(uint32_t crc, const void *p, size_t n) { return libdeflate_crc32(crc, p, n); }
