/*
 * layerkit's C surface over zlib 1.2.13, linked into wasm/zstd.wasm beside libzstd and libdeflate
 * by wasm/build-zstd.sh. zlib is here for what libdeflate cannot do: raw DEFLATE streams of any
 * length, inflated and deflated piece by piece (a plain gzip layer is one member of any size).
 * The gzip framing (header, trailer) stays in TypeScript (src/gzip/gzip.ts); the CRC-32 of the
 * bytes that pass through is kept here, while they are in WASM memory, with libdeflate's crc32,
 * so no byte is copied into the heap twice.
 *
 * Every call leaves the input bytes it consumed and the output bytes it produced in lk_z_io.
 * Results are zlib's codes (Z_OK 0, Z_STREAM_END 1, Z_BUF_ERROR -5 = no progress possible,
 * Z_DATA_ERROR -3, Z_MEM_ERROR -4). The TypeScript side is src/wasm/zlib-streams.ts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "zlib.h"

#define LK_EXPORT __attribute__((used, visibility("default")))

uint32_t libdeflate_crc32(uint32_t crc, const void *buffer, size_t len);

struct lk_zstream {
  z_stream s;
  uint32_t crc;
  int deflating;
};

/* [0] input bytes consumed, [1] output bytes produced by the last lk_zinf_run / lk_zdef_run. */
static uint32_t lk_z_io_state[2];

LK_EXPORT uint32_t *lk_z_io(void) { return lk_z_io_state; }

/* Raw inflate (no zlib/gzip wrapper), 32 KiB window. NULL when memory runs out. */
LK_EXPORT struct lk_zstream *lk_zinf_create(void) {
  struct lk_zstream *z = calloc(1, sizeof *z);
  if (z == NULL) return NULL;
  if (inflateInit2(&z->s, -15) != Z_OK) {
    free(z);
    return NULL;
  }
  return z;
}

/* Back to the start of a new stream (the next member), keeping the allocated window. */
LK_EXPORT int lk_zinf_reset(struct lk_zstream *z) {
  z->crc = 0;
  return inflateReset(&z->s);
}

/*
 * Inflates from in[0..n) into out[0..cap) until the input is used up, the output is full or the
 * DEFLATE stream ends (Z_STREAM_END: the next input byte is the first after the stream).
 */
LK_EXPORT int lk_zinf_run(struct lk_zstream *z, const uint8_t *in, uint32_t n, uint8_t *out, uint32_t cap) {
  z->s.next_in = (Bytef *)in;
  z->s.avail_in = n;
  z->s.next_out = out;
  z->s.avail_out = cap;
  int r = inflate(&z->s, Z_NO_FLUSH);
  uint32_t produced = cap - z->s.avail_out;
  lk_z_io_state[0] = n - z->s.avail_in;
  lk_z_io_state[1] = produced;
  z->crc = libdeflate_crc32(z->crc, out, produced);
  return r;
}

/* Raw deflate at `level` 0..9 with zlib's defaults (32 KiB window, memLevel 8). NULL on a bad level or no memory. */
LK_EXPORT struct lk_zstream *lk_zdef_create(int level) {
  struct lk_zstream *z = calloc(1, sizeof *z);
  if (z == NULL) return NULL;
  if (deflateInit2(&z->s, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(z);
    return NULL;
  }
  z->deflating = 1;
  return z;
}

/* Worst-case output of deflating n more bytes in one call. */
LK_EXPORT uint32_t lk_zdef_bound(struct lk_zstream *z, uint32_t n) { return (uint32_t)deflateBound(&z->s, n); }

/*
 * Deflates in[0..n) (CRC-32 taken over it) into out[0..cap); `finish` ends the stream. Returns
 * Z_OK while output is pending, Z_STREAM_END once a finishing call has written everything.
 */
LK_EXPORT int lk_zdef_run(struct lk_zstream *z, const uint8_t *in, uint32_t n, uint8_t *out, uint32_t cap, int finish) {
  z->s.next_in = (Bytef *)in;
  z->s.avail_in = n;
  z->s.next_out = out;
  z->s.avail_out = cap;
  int r = deflate(&z->s, finish ? Z_FINISH : Z_NO_FLUSH);
  uint32_t consumed = n - z->s.avail_in;
  lk_z_io_state[0] = consumed;
  lk_z_io_state[1] = cap - z->s.avail_out;
  z->crc = libdeflate_crc32(z->crc, in, consumed);
  return r;
}

LK_EXPORT uint32_t lk_z_crc(struct lk_zstream *z) { return z->crc; }

LK_EXPORT void lk_z_free(struct lk_zstream *z) {
  if (z == NULL) return;
  if (z->deflating) deflateEnd(&z->s);
  else inflateEnd(&z->s);
  free(z);
}

