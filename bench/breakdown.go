package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/pprof/profile"
)

// Where a client's CPU goes: each CPU profile's samples are charged to the
// function running when they were taken (the innermost frame), and that
// function to a layer. The layers answer the question the targets raise:
// how much of the cost is the client's own code, and how much is the RPC
// stack or the runtime that every client pays alike.

// layer is a named group of functions, matched by the function's full name.
type layer struct {
	name string
	re   *regexp.Regexp
}

// layers are tried in order; the first match wins.
var layers = []layer{
	{"etcdkit", regexp.MustCompile(`^github\.com/a74b11dd/etcdkit/client/`)},
	{"official client", regexp.MustCompile(`^go\.etcd\.io/etcd/client/`)},
	{"grpc-go", regexp.MustCompile(`^google\.golang\.org/grpc`)},
	{"http2 framing", regexp.MustCompile(`^golang\.org/x/net/http2`)},
	{"net/http", regexp.MustCompile(`^(net/http|net/textproto|net/url|bufio|mime)[./]`)},
	{"protobuf", regexp.MustCompile(`^google\.golang\.org/protobuf/|^go\.etcd\.io/etcd/api/`)},
	{"encoding/json", regexp.MustCompile(`^(encoding/json|strconv)[./]`)},
	{"syscalls", regexp.MustCompile(`syscall|^internal/poll|^net\.|^runtime\.(futex|netpoll|epoll|usleep|nanotime|madvise)`)},
	{"GC and allocation", regexp.MustCompile(`^runtime\.(gc|scan|mark|greyobject|findObject|heapBits|typePointers|wbBuf|bulkBarrier|sweep|tryDefer|malloc|nextFree|memclr|mcache|mcentral|mheap|refill|newobject|makeslice|growslice|spanOf|(.*[aA]lloc))|^internal/runtime/gc|^gcWriteBarrier|^runtime\.\(\*(mspan|mheap|mcache|mcentral|gcWork|spanSet|gcBits|pageAlloc|lfstack)`)},
	{"scheduler and runtime", regexp.MustCompile(`^runtime\.|^internal/runtime|^internal/sync|^sync[./]|^sync/atomic`)},
	{"bench harness", regexp.MustCompile(`^main\.`)},
}

const otherLayer = "other"

// layerOf returns the layer of the function named fn.
func layerOf(fn string) string {
	for _, l := range layers {
		if l.re.MatchString(fn) {
			return l.name
		}
	}
	return otherLayer
}

// breakdown charges the samples of the CPU profile in r to layers and
// returns each layer's share of the total, and the total in seconds.
func breakdown(r io.Reader) (map[string]float64, float64, error) {
	p, err := profile.Parse(r)
	if err != nil {
		return nil, 0, err
	}
	idx := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" {
			idx = i
		}
	}
	if idx < 0 {
		return nil, 0, fmt.Errorf("not a CPU profile")
	}
	byLayer := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[idx]
		total += v
		fn := ""
		if len(s.Location) > 0 && len(s.Location[0].Line) > 0 && s.Location[0].Line[0].Function != nil {
			// Line[0] is the innermost of the functions inlined there.
			fn = s.Location[0].Line[0].Function.Name
		}
		byLayer[layerOf(fn)] += v
	}
	shares := map[string]float64{}
	if total == 0 {
		return shares, 0, nil
	}
	for l, v := range byLayer {
		shares[l] = float64(v) / float64(total)
	}
	return shares, float64(total) / 1e9, nil
}

// writeBreakdown writes, for every CPU profile in dir, the share of each
// layer as a Markdown table.
func writeBreakdown(w io.Writer, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.pprof"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no .pprof files in %s", dir)
	}
	sort.Strings(files)
	names := []string{}
	for _, l := range layers {
		names = append(names, l.name)
	}
	names = append(names, otherLayer)
	fmt.Fprintf(w, "| profile | CPU s | %s |\n|---|--:|%s\n", strings.Join(names, " | "), strings.Repeat("--:|", len(names)))
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return err
		}
		shares, secs, err := breakdown(fh)
		fh.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		row := []string{}
		for _, n := range names {
			if s := shares[n]; s > 0 {
				row = append(row, fmt.Sprintf("%.0f%%", 100*s))
			} else {
				row = append(row, "")
			}
		}
		fmt.Fprintf(w, "| %s | %.2f | %s |\n", strings.TrimSuffix(filepath.Base(f), ".pprof"), secs, strings.Join(row, " | "))
	}
	return nil
}
