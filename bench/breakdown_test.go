package main

import (
	"bytes"
	"runtime/pprof"
	"strings"
	"testing"
	"time"
)

func TestFunctionsAreChargedToTheirLayer(t *testing.T) {
	for fn, want := range map[string]string{
		"github.com/a74b11dd/etcdkit/client/v3/internal/codec.decodeKV":            "etcdkit",
		"go.etcd.io/etcd/client/v3.(*retryKVClient).Range":                         "official client",
		"google.golang.org/grpc/internal/transport.(*http2Client).reader":          "grpc-go",
		"golang.org/x/net/http2.(*Framer).ReadFrameHeader":                         "http2 framing",
		"net/http.(*persistConn).readLoop":                                         "net/http",
		"google.golang.org/protobuf/internal/impl.(*MessageInfo).unmarshalPointer": "protobuf",
		"internal/runtime/syscall/linux.Syscall6":                                  "syscalls",
		"runtime.scanObject":                "GC and allocation",
		"runtime.mallocgcSmallScanNoHeader": "GC and allocation",
		"runtime.findRunnable":              "scheduler and runtime",
		"main.(*etcdkitV3).Get":             "bench harness",
		"crypto/tls.(*Conn).Read":           otherLayer,
	} {
		if got := layerOf(fn); got != want {
			t.Errorf("layerOf(%q) = %q, want %q", fn, got, want)
		}
	}
}

func TestBreakdownSharesAddUpToTheWhole(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		t.Skip("CPU profiling unavailable:", err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		n += len(strings.Repeat("x", n%1000))
	}
	pprof.StopCPUProfile()
	shares, secs, err := breakdown(&buf)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, s := range shares {
		sum += s
	}
	if secs > 0 && (sum < 0.999 || sum > 1.001) {
		t.Fatalf("the layers' shares add up to %v, want 1 (%v s of samples)", sum, secs)
	}
}
