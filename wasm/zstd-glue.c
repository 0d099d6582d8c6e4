/*
 * layerkit's C surface over libzstd 1.5.7, compiled by wasm/build-zstd.sh into wasm/zstd.wasm.
 *
 * Kept deliberately small: compression where the caller ends frames (see below), streaming
 * decompression over concatenated (and skippable) frames, one-frame decompression, and the
 * helpers the TypeScript loader (src/wasm/zstd.ts) needs to map errors. Every function returns a
 * libzstd result (`size_t`, test with lk_is_error) or a pointer (NULL = allocation failure); none
 * of them aborts, so the TS side can always reset a context and carry on.
 *
 * Positions reached by the streaming calls are reported through a small static array (lk_io)
 * instead of out-parameters, so JS never has to allocate ZSTD_inBuffer/ZSTD_outBuffer structs.
 */
#include <stddef.h>
#include <stdlib.h>

#define ZSTD_STATIC_LINKING_ONLY
#define ZSTD_DISABLE_DEPRECATE_WARNINGS
#include "zstd.h"
#include "zstd_errors.h"

#define LK_EXPORT __attribute__((used, visibility("default")))

/* [0] input bytes consumed, [1] output bytes produced by the last lk_decompress. */
static size_t lk_io_state[2];

LK_EXPORT size_t *lk_io(void) { return lk_io_state; }

LK_EXPORT void *lk_malloc(size_t size) { return malloc(size); }
LK_EXPORT void lk_free(void *ptr) { free(ptr); }

LK_EXPORT unsigned lk_is_error(size_t result) { return ZSTD_isError(result); }
LK_EXPORT int lk_error_code(size_t result) { return (int)ZSTD_getErrorCode(result); }
LK_EXPORT const char *lk_error_name(size_t result) { return ZSTD_getErrorName(result); }
LK_EXPORT unsigned lk_version(void) { return ZSTD_versionNumber(); }
LK_EXPORT int lk_min_level(void) { return ZSTD_minCLevel(); }
LK_EXPORT int lk_max_level(void) { return ZSTD_maxCLevel(); }

/* ---- compression ---------------------------------------------------------------------- *
 *
 * A compressor owns a ring buffer that JS writes input into directly (lk_comp_wptr/lk_comp_space),
 * and frames are produced with ZSTD_compressBegin_advanced/ZSTD_compressContinue/ZSTD_compressEnd
 * over full 128 KiB blocks of that ring. Compared with ZSTD_compressStream2's internal buffer
 * (window + one block, so after the first wrap every block is compressed in "extDict" mode, which
 * is markedly slower in WASM), the ring is at least 2 windows + a chunk: most blocks see a
 * contiguous window, and zstd needs no second copy of the input. Previously compressed data stays
 * in place and unmodified while it is inside the window, as ZSTD_compressContinue requires: a wrap
 * only overwrites data older than ringSize - (chunk + block) >= 2 windows.
 * A compact compressor skips the 16 MiB minimum: for callers keeping several compressors alive
 * at once (zstd:chunked's TOC and tar-split frames grow alongside the payload), where resident
 * memory matters more than the few blocks per wrap compressed in extDict mode. A window log
 * below the level's own shrinks the ring (and the tables zstd sizes from it) further.
 * Those functions are deprecated upstream but present and supported in the pinned 1.5.7.
 */
#define LK_CHUNK ((size_t)1 << 20) /* most JS may write before the next commit */
#define LK_RING_MIN ((size_t)16 << 20)

typedef struct {
  ZSTD_CCtx *cctx;
  int level;
  int checksum;
  char *ring;
  size_t ringCap;  /* allocated */
  size_t ringSize; /* in use for the current frame, a multiple of block */
  size_t block;
  size_t pos;      /* end of the data written by JS */
  size_t done;     /* end of the data compressed; done <= pos, and pos - done < block after a commit */
  int inFrame;
  int compact;     /* no LK_RING_MIN: ring = 2 windows + chunk + block */
  int windowLog;   /* 0, or the most windowLog may be for this compressor's frames */
} lk_comp;

static size_t lk_err(ZSTD_ErrorCode code) { return (size_t)-(ptrdiff_t)code; }

LK_EXPORT lk_comp *lk_comp_create(int level, int checksum, int compact, int windowLog) {
  lk_comp *c = (lk_comp *)calloc(1, sizeof(lk_comp));
  if (c == NULL) return NULL;
  c->cctx = ZSTD_createCCtx();
  if (c->cctx == NULL) {
    free(c);
    return NULL;
  }
  c->level = level;
  c->checksum = checksum;
  c->compact = compact;
  c->windowLog = windowLog;
  return c;
}

/* Level and checksum for the next frame (the TS side validates them). */
LK_EXPORT void lk_comp_params(lk_comp *c, int level, int checksum) {
  c->level = level;
  c->checksum = checksum;
}

/* Start a frame. pledged < 0: size unknown; otherwise the exact size (written to the header). */
LK_EXPORT size_t lk_comp_begin(lk_comp *c, double pledged) {
  unsigned long long const size = pledged < 0 ? ZSTD_CONTENTSIZE_UNKNOWN : (unsigned long long)pledged;
  ZSTD_parameters params = ZSTD_getParams(c->level, size, 0);
  size_t window;
  if (c->windowLog > 0 && (unsigned)c->windowLog < params.cParams.windowLog) {
    params.cParams.windowLog = (unsigned)c->windowLog;
    params.cParams = ZSTD_adjustCParams(params.cParams, size == ZSTD_CONTENTSIZE_UNKNOWN ? 0 : size, 0);
  }
  window = (size_t)1 << params.cParams.windowLog;
  size_t const block = window < ZSTD_BLOCKSIZE_MAX ? window : ZSTD_BLOCKSIZE_MAX;
  size_t want = 2 * window + LK_CHUNK + block;
  size_t r;
  params.fParams.checksumFlag = c->checksum ? 1 : 0;
  params.fParams.contentSizeFlag = 1;
  if (!c->compact && window <= ((size_t)8 << 20) && want < LK_RING_MIN) want = LK_RING_MIN;
  if (size != ZSTD_CONTENTSIZE_UNKNOWN && size < want) want = (size_t)size; /* never wraps */
  want = (want + block - 1) / block * block;
  if (want == 0) want = block;
  c->inFrame = 0;
  c->pos = c->done = 0;
  if (c->ringCap < want) {
    free(c->ring);
    c->ring = (char *)malloc(want);
    c->ringCap = c->ring ? want : 0;
    if (c->ring == NULL) return lk_err(ZSTD_error_memory_allocation);
  }
  c->ringSize = want;
  c->block = block;
  r = ZSTD_compressBegin_advanced(c->cctx, NULL, 0, params, size);
  if (!ZSTD_isError(r)) c->inFrame = 1;
  return r;
}

/* Contiguous bytes JS may write at lk_comp_wptr() before the next commit (0 outside a frame). */
LK_EXPORT size_t lk_comp_space(lk_comp *c) {
  size_t room;
  if (!c->inFrame) return 0;
  if (c->pos == c->ringSize && c->done == c->pos) c->pos = c->done = 0; /* wrap */
  room = c->ringSize - c->pos;
  return room < LK_CHUNK ? room : LK_CHUNK;
}

LK_EXPORT char *lk_comp_wptr(lk_comp *c) { return c->ring + c->pos; }

/*
 * JS wrote n bytes at lk_comp_wptr(): compress the full blocks pending. Returns bytes written to dst.
 * One ZSTD_compressContinue call per block: libzstd's pre-splitter cuts blocks inside each call
 * and forces a block end where the call's input ends, so handing it several blocks at once made
 * the frame depend on how the caller's writes were cut. One block per call makes it a function
 * of the input bytes alone.
 */
LK_EXPORT size_t lk_comp_commit(lk_comp *c, size_t n, void *dst, size_t dstCap) {
  size_t total = 0;
  if (!c->inFrame) return lk_err(ZSTD_error_stage_wrong);
  c->pos += n;
  while (c->pos - c->done >= c->block) {
    size_t const r = ZSTD_compressContinue(c->cctx, (char *)dst + total, dstCap - total, c->ring + c->done, c->block);
    if (ZSTD_isError(r)) return r;
    c->done += c->block;
    total += r;
  }
  return total;
}

/* Compress what is pending and finish the frame (last block, checksum). Returns bytes written. */
LK_EXPORT size_t lk_comp_end(lk_comp *c, void *dst, size_t dstCap) {
  size_t r;
  if (!c->inFrame) return lk_err(ZSTD_error_stage_wrong);
  r = ZSTD_compressEnd(c->cctx, dst, dstCap, c->ring + c->done, c->pos - c->done);
  c->inFrame = 0;
  c->pos = c->done = 0;
  return r;
}

/* Drop the frame in progress (after an error). */
LK_EXPORT void lk_comp_reset(lk_comp *c) {
  c->inFrame = 0;
  c->pos = c->done = 0;
}

/* Release the ring when it is larger than keep bytes (between frames). */
LK_EXPORT void lk_comp_trim(lk_comp *c, size_t keep) {
  if (!c->inFrame && c->ringCap > keep) {
    free(c->ring);
    c->ring = NULL;
    c->ringCap = 0;
  }
}

LK_EXPORT void lk_comp_free(lk_comp *c) {
  if (c == NULL) return;
  ZSTD_freeCCtx(c->cctx);
  free(c->ring);
  free(c);
}

/* ---- decompression -------------------------------------------------------------------- */

LK_EXPORT size_t lk_dctx_params(ZSTD_DCtx *dctx, int maxWindowLog) {
  size_t const r = ZSTD_DCtx_reset(dctx, ZSTD_reset_session_and_parameters);
  if (ZSTD_isError(r)) return r;
  return ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, maxWindowLog);
}

/* NULL when allocation failed (the TS side validates maxWindowLog beforehand). */
LK_EXPORT ZSTD_DCtx *lk_dctx_create(int maxWindowLog) {
  ZSTD_DCtx *dctx = ZSTD_createDCtx();
  if (dctx == NULL) return NULL;
  if (ZSTD_isError(lk_dctx_params(dctx, maxWindowLog))) {
    ZSTD_freeDCtx(dctx);
    return NULL;
  }
  return dctx;
}

LK_EXPORT void lk_dctx_reset(ZSTD_DCtx *dctx) { ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only); }
LK_EXPORT void lk_dctx_free(ZSTD_DCtx *dctx) { ZSTD_freeDCtx(dctx); }

/*
 * Streaming decompression over concatenated frames (skippable frames are skipped by libzstd).
 * Returns when src is consumed or dst is full. The result is libzstd's: 0 means the last frame
 * touched is complete and fully flushed (the input stopped on a frame boundary).
 */
LK_EXPORT size_t lk_decompress(ZSTD_DCtx *dctx, const void *src, size_t srcSize, void *dst, size_t dstCap) {
  ZSTD_inBuffer in = {src, srcSize, 0};
  ZSTD_outBuffer out = {dst, dstCap, 0};
  size_t r;
  for (;;) {
    size_t const inBefore = in.pos, outBefore = out.pos;
    r = ZSTD_decompressStream(dctx, &out, &in);
    if (ZSTD_isError(r)) break;
    if (out.pos == out.size || in.pos == in.size) break;
    if (in.pos == inBefore && out.pos == outBefore) break; /* no progress */
  }
  lk_io_state[0] = in.pos;
  lk_io_state[1] = out.pos;
  return r;
}

/* One-shot decompression of exactly the frame(s) in src into dst (used with exactly one frame). */
LK_EXPORT size_t lk_decompress_frame(ZSTD_DCtx *dctx, void *dst, size_t dstCap, const void *src, size_t srcSize) {
  return ZSTD_decompressDCtx(dctx, dst, dstCap, src, srcSize);
}

LK_EXPORT size_t lk_frame_compressed_size(const void *src, size_t srcSize) {
  return ZSTD_findFrameCompressedSize(src, srcSize);
}
