#!/usr/bin/env bash
# Build wasm/zstd.wasm, layerkit's compression core: libzstd 1.5.7 + wasm/zstd-glue.c,
# libdeflate 1.14 + wasm/deflate-glue.c and zlib 1.2.13 + wasm/zlib-glue.c, as one standalone
# WebAssembly module (no emscripten JS glue; src/wasm/zstd.ts, src/wasm/deflate.ts and
# src/wasm/zlib-streams.ts are the loaders). One module so that every runtime adapter, workerd's
# imported modules included, gets every codec the same way.
#
#   npm run build:wasm                      # writes wasm/zstd.wasm
#   bash wasm/build-zstd.sh --out /tmp/x    # writes /tmp/x/zstd.wasm (CI: rebuild + cmp)
#   ZSTD_WASM_OUT=/tmp/x bash wasm/build-zstd.sh
#   bash wasm/build-zstd.sh --check         # rebuild into a temp dir, cmp with wasm/zstd.wasm
#   ZSTD_WASM_EXTRA_CFLAGS/ZSTD_WASM_EXTRA_LDFLAGS: extra flags, for trying variants only
#
# Sources: the zstd-napi npm tarball ships zstd's lib/ under deps/zstd/lib. It is fetched with
# `npm pack` into wasm/build/ (gitignored) and checked against the sha256 pinned below.
# libdeflate and zlib: Debian's source packages (the .orig tarballs from the Debian archive's
# pool), checked against the sha256 pinned below.
# Toolchain: Debian's emscripten 3.1.6 (apt-get install emscripten), LLVM 14, binaryen.
# Every source is compiled by a path relative to the source root, so no absolute path reaches the
# output and the build is byte-for-byte reproducible.
set -euo pipefail

ZSTD_NAPI_VERSION=0.0.13
ZSTD_NAPI_SHA256=5b76defc67c808989c5f3920e14f662d6318b84b8d53ac3e94b99463d8d65e76
ZSTD_VERSION=1.5.7
LIBDEFLATE_VERSION=1.14
LIBDEFLATE_SHA256=89e7df898c37c3427b0f39aadcf733731321a278771d20fc553f92da8d4808ac
LIBDEFLATE_URL="${LIBDEFLATE_URL:-http://deb.debian.org/debian/pool/main/libd/libdeflate/libdeflate_$LIBDEFLATE_VERSION.orig.tar.gz}"
ZLIB_VERSION=1.2.13
ZLIB_SHA256=71feb7947e3c00ef125f83b79a4e529bde31171e5babe48b391f06758d1ab0a1
ZLIB_URL="${ZLIB_URL:-http://deb.debian.org/debian/pool/main/z/zlib/zlib_$ZLIB_VERSION.dfsg.orig.tar.bz2}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${ZSTD_WASM_OUT:-$here}"
check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build-zstd.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [ "$check" = 1 ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  bash "$0" --out "$tmp"
  if cmp "$tmp/zstd.wasm" "$here/zstd.wasm"; then
    echo "zstd.wasm is reproducible: rebuilt bytes equal wasm/zstd.wasm"
    exit 0
  fi
  echo "zstd.wasm differs from a fresh build" >&2
  exit 1
fi

# Debian's emcc runs its JS tools with the machine's node; they need Debian's acorn & co.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
# Keep the build independent of the environment that invokes it.
export LC_ALL=C TZ=UTC SOURCE_DATE_EPOCH=0
unset EMCC_CFLAGS EMCC_DEBUG CFLAGS LDFLAGS || true
command -v emcc >/dev/null || { echo "emcc not found: apt-get install emscripten" >&2; exit 1; }

build="$here/build"
mkdir -p "$build" "$out"
# check_pinned FILE SHA256: a download that does not match its pin is deleted, so a rerun fetches it again.
check_pinned() {
  local actual
  actual="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$actual" != "$2" ]; then
    echo "sha256 mismatch for $1: got $actual, pinned $2" >&2
    rm -f "$1"
    exit 1
  fi
}
# fetch_pinned FILE URL SHA256: Debian's pool over plain http (the archive's own signatures are not
# needed: the sha256 pin is the trust anchor); .part then rename, so a cut download is never used.
fetch_pinned() {
  if [ ! -f "$1" ]; then
    curl -sSfL --retry 3 -o "$1.part" "$2" && mv "$1.part" "$1"
  fi
  check_pinned "$1" "$3"
}

tgz="$build/zstd-napi-$ZSTD_NAPI_VERSION.tgz"
if [ ! -f "$tgz" ]; then
  (cd "$build" && npm pack --silent "zstd-napi@$ZSTD_NAPI_VERSION" >/dev/null)
fi
check_pinned "$tgz" "$ZSTD_NAPI_SHA256"
ldtgz="$build/libdeflate_$LIBDEFLATE_VERSION.orig.tar.gz"
fetch_pinned "$ldtgz" "$LIBDEFLATE_URL" "$LIBDEFLATE_SHA256"
ztbz="$build/zlib_$ZLIB_VERSION.dfsg.orig.tar.bz2"
fetch_pinned "$ztbz" "$ZLIB_URL" "$ZLIB_SHA256"

src="$build/src"
rm -rf "$src"
mkdir -p "$src/libdeflate" "$src/zlib"
tar -xzf "$tgz" -C "$src" --strip-components=4 package/deps/zstd/lib
tar -xzf "$ldtgz" -C "$src/libdeflate" --strip-components=1 \
  "libdeflate-$LIBDEFLATE_VERSION/lib" "libdeflate-$LIBDEFLATE_VERSION/libdeflate.h" "libdeflate-$LIBDEFLATE_VERSION/common_defs.h"
zlib_files=(adler32.c crc32.c crc32.h deflate.c deflate.h inffast.c inffast.h inffixed.h inflate.c inflate.h
  inftrees.c inftrees.h trees.c trees.h zconf.h zlib.h zutil.c zutil.h gzguts.h)
tar -xjf "$ztbz" -C "$src/zlib" --strip-components=1 "${zlib_files[@]/#/zlib-$ZLIB_VERSION.dfsg/}"
grep -q "#define ZLIB_VERSION \"$ZLIB_VERSION\"" "$src/zlib/zlib.h" || { echo "unexpected zlib version in tarball" >&2; exit 1; }
cp "$here/zstd-glue.c" "$src/zstd-glue.c"
cp "$here/zlib-glue.c" "$src/zlib/zlib-glue.c"
cp "$here/deflate-glue.c" "$src/libdeflate/deflate-glue.c"
grep -q "#define ZSTD_VERSION_RELEASE  ${ZSTD_VERSION##*.}" "$src/zstd.h" || { echo "unexpected zstd version in tarball" >&2; exit 1; }

# Single-threaded library: no zstdmt_compress.c, pool.c, threading.c; no x86 asm; no legacy formats.
sources=(
  common/debug.c common/entropy_common.c common/error_private.c common/fse_decompress.c
  common/xxhash.c common/zstd_common.c
  compress/fse_compress.c compress/hist.c compress/huf_compress.c compress/zstd_compress.c
  compress/zstd_compress_literals.c compress/zstd_compress_sequences.c
  compress/zstd_compress_superblock.c compress/zstd_double_fast.c compress/zstd_fast.c
  compress/zstd_lazy.c compress/zstd_ldm.c compress/zstd_opt.c compress/zstd_preSplit.c
  decompress/huf_decompress.c decompress/zstd_ddict.c decompress/zstd_decompress.c
  decompress/zstd_decompress_block.c
  zstd-glue.c
)
# libdeflate: raw DEFLATE both ways and CRC-32 (no zlib/gzip wrappers: the gzip framing is ours).
deflate_sources=(
  libdeflate/lib/deflate_compress.c libdeflate/lib/deflate_decompress.c libdeflate/lib/utils.c
  libdeflate/lib/crc32.c libdeflate/deflate-glue.c
)
# zlib: streaming raw DEFLATE both ways (no gz* file I/O, no compress/uncompress helpers).
zlib_sources=(
  zlib/adler32.c zlib/crc32.c zlib/deflate.c zlib/inffast.c zlib/inflate.c zlib/inftrees.c
  zlib/trees.c zlib/zutil.c zlib/zlib-glue.c
)

exports=(
  lk_io lk_malloc lk_free lk_is_error lk_error_code lk_error_name lk_version lk_min_level
  lk_max_level
  lk_comp_create lk_comp_params lk_comp_begin lk_comp_space lk_comp_wptr lk_comp_commit
  lk_comp_end lk_comp_reset lk_comp_trim lk_comp_free
  lk_dctx_params lk_dctx_create lk_dctx_reset lk_dctx_free lk_decompress lk_decompress_frame
  lk_frame_compressed_size
  lk_dfl_io lk_dfl_create lk_dfl_bound lk_dfl_compress lk_dfl_free
  lk_dfl_member lk_inf_create lk_inf_decompress lk_inf_member lk_inf_free lk_crc32
  lk_z_io lk_zinf_create lk_zinf_reset lk_zinf_run lk_zdef_create lk_zdef_bound lk_zdef_run
  lk_z_crc lk_z_free
)
exported="$(printf '_%s,' "${exports[@]}")"

cflags=(
  -O3 -flto -DNDEBUG
  -DZSTD_DISABLE_ASM -DZSTD_LEGACY_SUPPORT=0 -DZSTD_TRACE=0
  -mbulk-memory
  -I. -Icommon
  -ffile-prefix-map="$src"=. -fdebug-prefix-map="$src"=.
  ${ZSTD_WASM_EXTRA_CFLAGS:-}
)
ldflags=(
  -O3 -flto
  -sSTANDALONE_WASM --no-entry -sFILESYSTEM=0
  -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=16MB -sMAXIMUM_MEMORY=2GB -sTOTAL_STACK=1MB
  -sABORTING_MALLOC=0 -sMALLOC=dlmalloc
  -mbulk-memory
  -sEXPORTED_FUNCTIONS="${exported%,}"
  -sERROR_ON_UNDEFINED_SYMBOLS=1
  ${ZSTD_WASM_EXTRA_LDFLAGS:-}
)

obj="$build/obj"
rm -rf "$obj"
mkdir -p "$obj"
cd "$src"
for f in "${sources[@]}"; do
  emcc "${cflags[@]}" -c "$f" -o "$obj/$(echo "$f" | tr / _).o"
done
deflate_cflags=(
  -O3 -flto -DNDEBUG -mbulk-memory -Ilibdeflate
  -ffile-prefix-map="$src"=. -fdebug-prefix-map="$src"=.
  ${ZSTD_WASM_EXTRA_CFLAGS:-}
)
for f in "${deflate_sources[@]}"; do
  emcc "${deflate_cflags[@]}" -c "$f" -o "$obj/$(echo "$f" | tr / _).o"
done
zlib_cflags=(
  -O3 -flto -DNDEBUG -mbulk-memory -Izlib
  -ffile-prefix-map="$src"=. -fdebug-prefix-map="$src"=.
  ${ZSTD_WASM_EXTRA_CFLAGS:-}
)
for f in "${zlib_sources[@]}"; do
  emcc "${zlib_cflags[@]}" -c "$f" -o "$obj/$(echo "$f" | tr / _).o"
done
objs=()
for f in "${sources[@]}" "${deflate_sources[@]}" "${zlib_sources[@]}"; do objs+=("$obj/$(echo "$f" | tr / _).o"); done
emcc "${ldflags[@]}" "${objs[@]}" -o "$build/zstd.wasm"
cp "$build/zstd.wasm" "$out/zstd.wasm"
echo "wrote $out/zstd.wasm ($(wc -c < "$out/zstd.wasm") bytes, gzip $(gzip -9n < "$out/zstd.wasm" | wc -c))"
