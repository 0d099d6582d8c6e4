// Command layerkit-harness runs upstream Go code (Debian 12's containers/storage 1.43 and
// stargz-snapshotter estargz 0.12) on blobs so layerkit's tests can compare against it.
//
// Every subcommand prints one JSON document on stdout. Errors go to stderr as
// {"error": "..."} with exit status 1 (2 for usage errors).
//
// Subcommands:
//
//	cstorage-write [--level N] IN.tar OUT.blob
//	    compress IN.tar with c/storage 1.43 pkg/chunked/compressor.ZstdCompressor
//	cstorage-read [--map-current-keys] BLOB ANNOTATIONS.json|-
//	    read the TOC with c/storage 1.43's own readZstdChunkedManifest, unmarshalToc and
//	    mergeTocEntries (exported for this harness by the build-time overlay, see build.sh)
//	cstorage-apply [--map-current-keys] BLOB ANNOTATIONS.json|- DEST
//	    the whole upstream partial-pull path: chunked.GetDiffer + Differ.ApplyDiff into DEST
//	    (fetches every file's ranges, decompresses, checks every file digest), then lists DEST
//	stargz-zstd-write IN.tar OUT.blob
//	    estargz.Build with estargz/zstdchunked.Compressor (stargz-snapshotter's zstd variant)
//	apply-diff DEST BLOB..., changes-dirs LOWER UPPER
//	    c/storage's layer applier and tree differ, for layerkit diff (see diff.go)
//	tar-list IN.tar|-
//	    read the tar with Go's archive/tar, every payload to the end (sparse files as their
//	    logical content); prints the entries and, if the reader failed, its error (exit 0)
//	tar-list-stream
//	    tar-list for many tars on one process (the fuzz campaign's differential oracle): reads
//	    frames of a 4-byte big-endian length and that many tar bytes from stdin, and prints one
//	    tar-list document per frame, on one line each, until stdin ends
package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/containerd/stargz-snapshotter/estargz"
	"github.com/containerd/stargz-snapshotter/estargz/zstdchunked"
	storage "github.com/containers/storage"
	"github.com/containers/storage/pkg/archive"
	"github.com/containers/storage/pkg/chunked"
	"github.com/containers/storage/pkg/chunked/compressor"
	"github.com/klauspost/compress/zstd"
)

const (
	oldChecksumKey = "io.containers.zstd-chunked.manifest-checksum"
	oldPositionKey = "io.containers.zstd-chunked.manifest-position"
	newChecksumKey = "io.github.containers.zstd-chunked.manifest-checksum"
	newPositionKey = "io.github.containers.zstd-chunked.manifest-position"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "cstorage-write":
		err = cstorageWrite(os.Args[2:])
	case "cstorage-read":
		err = cstorageRead(os.Args[2:])
	case "cstorage-apply":
		err = cstorageApply(os.Args[2:])
	case "stargz-zstd-write":
		err = stargzZstdWrite(os.Args[2:])
	case "tar-list":
		err = tarList(os.Args[2:])
	case "tar-list-stream":
		err = tarListStream()
	case "apply-diff":
		err = applyDiff(os.Args[2:])
	case "changes-dirs":
		err = changesDirs(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		fmt.Fprintln(os.Stderr, string(b))
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  layerkit-harness cstorage-write [--level N] IN.tar OUT.blob
  layerkit-harness tar-list IN.tar|-
  layerkit-harness tar-list-stream
  layerkit-harness cstorage-read [--map-current-keys] BLOB ANNOTATIONS.json|-
  layerkit-harness cstorage-apply [--map-current-keys] BLOB ANNOTATIONS.json|- DEST
  layerkit-harness stargz-zstd-write IN.tar OUT.blob
  layerkit-harness apply-diff DEST BLOB...
  layerkit-harness changes-dirs LOWER UPPER`)
	os.Exit(2)
}

func printJSON(v interface{}) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

// ---- cstorage-write -------------------------------------------------------------------------

func cstorageWrite(args []string) error {
	fl := flag.NewFlagSet("cstorage-write", flag.ExitOnError)
	level := fl.Int("level", -1, "zstd level (default: upstream's default, 10)")
	fl.Parse(args)
	if fl.NArg() != 2 {
		usage()
	}
	in, err := os.Open(fl.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(fl.Arg(1))
	if err != nil {
		return err
	}
	defer out.Close()
	var lp *int
	if *level >= 0 {
		lp = level
	}
	annotations := map[string]string{}
	w, err := compressor.ZstdCompressor(out, annotations, lp)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, in); err != nil {
		w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	d, n, err := fileDigest(fl.Arg(1))
	if err != nil {
		return err
	}
	return printJSON(map[string]interface{}{
		"producer":    "containers/storage 1.43 pkg/chunked/compressor.ZstdCompressor",
		"annotations": annotations,
		"size":        n,
		"digest":      d,
	})
}

// ---- blob source for upstream's ImageSourceSeekable ----------------------------------------

type request struct {
	Offset uint64 `json:"offset"`
	Length uint64 `json:"length"`
}

// fileSource serves GetBlobAt from a local file and records every range requested. A range
// outside the file fails the whole request, as an HTTP 416 would.
type fileSource struct {
	f        *os.File
	size     int64
	mu       sync.Mutex
	requests [][]request
}

func (s *fileSource) GetBlobAt(chunks []chunked.ImageSourceChunk) (chan io.ReadCloser, chan error, error) {
	rs := make([]request, 0, len(chunks))
	for _, c := range chunks {
		rs = append(rs, request{c.Offset, c.Length})
		if c.Offset > uint64(s.size) || c.Length > uint64(s.size)-c.Offset {
			return nil, nil, fmt.Errorf("range %d+%d outside blob of %d bytes", c.Offset, c.Length, s.size)
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, rs)
	s.mu.Unlock()
	streams := make(chan io.ReadCloser)
	errs := make(chan error)
	go func() {
		for _, c := range chunks {
			streams <- io.NopCloser(io.NewSectionReader(s.f, int64(c.Offset), int64(c.Length)))
		}
		close(streams)
		close(errs)
	}()
	return streams, errs, nil
}

func openSource(path string) (*fileSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &fileSource{f: f, size: st.Size()}, nil
}

// loadAnnotations reads a JSON object of string values ("-" = no annotations). With mapKeys the
// current io.github.containers.* TOC keys are copied to the old io.containers.* keys that 1.43
// reads; the returned list says which keys were mapped.
func loadAnnotations(path string, mapKeys bool) (map[string]string, []string, error) {
	ann := map[string]string{}
	if path != "-" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		if err := json.Unmarshal(b, &ann); err != nil {
			return nil, nil, fmt.Errorf("annotations file: %w", err)
		}
	}
	var mapped []string
	if mapKeys {
		for _, kv := range [][2]string{{newChecksumKey, oldChecksumKey}, {newPositionKey, oldPositionKey}} {
			if v, ok := ann[kv[0]]; ok {
				if _, exists := ann[kv[1]]; !exists {
					ann[kv[1]] = v
					mapped = append(mapped, kv[0]+" -> "+kv[1])
				}
			}
		}
	}
	return ann, mapped, nil
}

// ---- cstorage-read --------------------------------------------------------------------------

func cstorageRead(args []string) error {
	fl := flag.NewFlagSet("cstorage-read", flag.ExitOnError)
	mapKeys := fl.Bool("map-current-keys", false, "copy io.github.containers.zstd-chunked.* to the io.containers.* keys 1.43 reads")
	fl.Parse(args)
	if fl.NArg() != 2 {
		usage()
	}
	src, err := openSource(fl.Arg(0))
	if err != nil {
		return err
	}
	defer src.f.Close()
	ann, mapped, err := loadAnnotations(fl.Arg(1), *mapKeys)
	if err != nil {
		return err
	}
	manifest, tocOffset, err := chunked.LayerkitReadZstdChunkedManifest(src, src.size, ann)
	if err != nil {
		return fmt.Errorf("readZstdChunkedManifest: %w", err)
	}
	raw, merged, version, err := chunked.LayerkitParseAndMerge(manifest, tocOffset, false)
	if err != nil {
		return fmt.Errorf("unmarshalToc/mergeTocEntries: %w", err)
	}
	sum := sha256.Sum256(manifest)
	return printJSON(map[string]interface{}{
		"reader":            "containers/storage 1.43 readZstdChunkedManifest + unmarshalToc + mergeTocEntries",
		"keyMapping":        mapped,
		"blobSize":          src.size,
		"tocOffset":         tocOffset,
		"manifestLength":    len(manifest),
		"manifestSha256":    "sha256:" + hex.EncodeToString(sum[:]),
		"version":           version,
		"entries":           raw,
		"merged":            merged,
		"requests":          src.requests,
	})
}

// ---- cstorage-apply -------------------------------------------------------------------------

// fakeStore implements only what the 1.43 differ calls on a store (the layers cache asks for
// the list of layers; we have none). Any other method panics through the nil embedded interface.
type fakeStore struct{ storage.Store }

func (fakeStore) Layers() ([]storage.Layer, error) { return nil, nil }

type listedFile struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Mode     string `json:"mode"`
	Size     int64  `json:"size,omitempty"`
	Digest   string `json:"digest,omitempty"`
	Linkname string `json:"linkName,omitempty"`
}

func cstorageApply(args []string) error {
	fl := flag.NewFlagSet("cstorage-apply", flag.ExitOnError)
	mapKeys := fl.Bool("map-current-keys", false, "copy io.github.containers.zstd-chunked.* to the io.containers.* keys 1.43 reads")
	fl.Parse(args)
	if fl.NArg() != 3 {
		usage()
	}
	dest := fl.Arg(2)
	src, err := openSource(fl.Arg(0))
	if err != nil {
		return err
	}
	defer src.f.Close()
	ann, mapped, err := loadAnnotations(fl.Arg(1), *mapKeys)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	// ApplyDiff reads the pull options from storage.conf; give it one that enables partial pulls.
	tmp, err := os.MkdirTemp("", "layerkit-harness-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	conf := filepath.Join(tmp, "storage.conf")
	confText := fmt.Sprintf("[storage]\ndriver = \"vfs\"\nrunroot = %q\ngraphroot = %q\n[storage.options.pull_options]\nenable_partial_images = \"true\"\n",
		filepath.Join(tmp, "run"), filepath.Join(tmp, "graph"))
	if err := os.WriteFile(conf, []byte(confText), 0o644); err != nil {
		return err
	}
	os.Setenv("CONTAINERS_STORAGE_CONF", conf)

	differ, err := chunked.GetDiffer(context.Background(), fakeStore{}, src.size, ann, src)
	if err != nil {
		return fmt.Errorf("GetDiffer: %w", err)
	}
	out, err := differ.ApplyDiff(dest, &archive.TarOptions{})
	if err != nil {
		return fmt.Errorf("ApplyDiff: %w", err)
	}
	var files []listedFile
	err = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dest, p)
		if rel == "." {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		lf := listedFile{Name: filepath.ToSlash(rel), Mode: fmt.Sprintf("%o", info.Mode().Perm())}
		switch {
		case info.Mode().IsRegular():
			lf.Type = "reg"
			lf.Digest, lf.Size, err = fileDigest(p)
			if err != nil {
				return err
			}
		case info.IsDir():
			lf.Type = "dir"
		case info.Mode()&fs.ModeSymlink != 0:
			lf.Type = "symlink"
			lf.Linkname, _ = os.Readlink(p)
		default:
			lf.Type = info.Mode().Type().String()
		}
		files = append(files, lf)
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return printJSON(map[string]interface{}{
		"reader":         "containers/storage 1.43 chunked.GetDiffer + ApplyDiff",
		"keyMapping":     mapped,
		"manifestLength": len(out.BigData["zstd-chunked-manifest"]),
		"files":          files,
		"requests":       src.requests,
	})
}

// ---- stargz-zstd-write ----------------------------------------------------------------------

// zstdCompression pairs upstream's zstdchunked compressor and decompressor (estargz.Compression
// needs both, as in upstream's own tests).
type zstdCompression struct {
	*zstdchunked.Compressor
	*zstdchunked.Decompressor
}

func stargzZstdWrite(args []string) error {
	if len(args) != 2 {
		usage()
	}
	in, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	annotations := map[string]string{}
	blob, err := estargz.Build(io.NewSectionReader(in, 0, st.Size()),
		estargz.WithCompression(zstdCompression{
			&zstdchunked.Compressor{CompressionLevel: zstd.SpeedDefault, Metadata: annotations},
			&zstdchunked.Decompressor{},
		}))
	if err != nil {
		return err
	}
	defer blob.Close()
	out, err := os.Create(args[1])
	if err != nil {
		return err
	}
	defer out.Close()
	if _, err := io.Copy(out, blob); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	d, n, err := fileDigest(args[1])
	if err != nil {
		return err
	}
	if d == "" {
		return errors.New("empty output")
	}
	return printJSON(map[string]interface{}{
		"producer":    "stargz-snapshotter estargz 0.12 Build + estargz/zstdchunked.Compressor",
		"annotations": annotations,
		"tocDigest":   blob.TOCDigest().String(),
		"diffID":      blob.DiffID().String(),
		"size":        n,
		"digest":      d,
	})
}

type tarListEntry struct {
	Name     string `json:"name"`
	Typeflag string `json:"typeflag"`
	Size     int64  `json:"size"`
	Linkname string `json:"linkname"`
	Digest   string `json:"digest"`
}

// tarList reads a whole tar with Go's archive/tar and reports what it read, or where it failed.
func tarList(args []string) error {
	if len(args) != 1 {
		return errors.New("tar-list IN.tar|-")
	}
	in := os.Stdin
	if args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	return printJSON(listTar(in))
}

// listTar is what tar-list prints for one tar.
func listTar(in io.Reader) map[string]interface{} {
	tr := tar.NewReader(in)
	entries := []tarListEntry{}
	var readErr error
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			readErr = err
			break
		}
		d := sha256.New()
		if _, err := io.Copy(d, tr); err != nil {
			readErr = err
			break
		}
		entries = append(entries, tarListEntry{h.Name, string([]byte{h.Typeflag}), h.Size, h.Linkname, "sha256:" + hex.EncodeToString(d.Sum(nil))})
	}
	out := map[string]interface{}{"entries": entries}
	if readErr != nil {
		out["error"] = readErr.Error()
	}
	return out
}

// tarListStream answers length-prefixed tars from stdin, one JSON line each.
func tarListStream() error {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	var n [4]byte
	for {
		if _, err := io.ReadFull(in, n[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		size := int64(n[0])<<24 | int64(n[1])<<16 | int64(n[2])<<8 | int64(n[3])
		body := io.LimitReader(in, size)
		if err := enc.Encode(listTar(body)); err != nil {
			return err
		}
		// Whatever the reader left of this frame (after an error or the end blocks) is skipped.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
}
