package main

// Subcommands for layerkit's tree diffs (layerkit diff):
//
//	apply-diff DEST BLOB...
//	    apply each layer blob (any compression c/storage 1.43 detects: gzip, zstd, none) in order
//	    onto DEST with pkg/archive.ApplyLayer, the applier containers/storage uses for layers
//	changes-dirs LOWER UPPER
//	    pkg/archive.ChangesDirs(UPPER, LOWER): upstream's own list of changed paths

import (
	"os"
	"sort"

	"github.com/containers/storage/pkg/archive"
	"github.com/containers/storage/pkg/idtools"
)

func applyDiff(args []string) error {
	if len(args) < 2 {
		usage()
	}
	dest := args[0]
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	var sizes []int64
	for _, blob := range args[1:] {
		f, err := os.Open(blob)
		if err != nil {
			return err
		}
		n, err := archive.ApplyLayer(dest, f)
		f.Close()
		if err != nil {
			return err
		}
		sizes = append(sizes, n)
	}
	return printJSON(map[string]interface{}{"applied": sizes})
}

func changesDirs(args []string) error {
	if len(args) != 2 {
		usage()
	}
	changes, err := archive.ChangesDirs(args[1], idtools.NewIDMappingsFromMaps(nil, nil), args[0], idtools.NewIDMappingsFromMaps(nil, nil))
	if err != nil {
		return err
	}
	type change struct {
		Path string `json:"path"`
		Kind string `json:"kind"`
	}
	out := []change{}
	for _, c := range changes {
		out = append(out, change{Path: c.Path, Kind: c.Kind.String()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return printJSON(map[string]interface{}{"changes": out})
}
