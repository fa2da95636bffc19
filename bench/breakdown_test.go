package main

import (
	"bytes"
	"testing"

	"github.com/google/pprof/profile"
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

func TestBreakdownChargesEachSampleToItsInnermostFunctionsLayer(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	ours := fn(1, "github.com/a74b11dd/etcdkit/client/v3/internal/codec.decodeKV")
	grpc := fn(2, "google.golang.org/grpc.(*clientStream).RecvMsg")
	tls := fn(3, "crypto/tls.(*Conn).Read")
	// A location where our decoder was inlined into grpc-go: the sample
	// belongs to the decoder, the innermost of the two.
	inlined := &profile.Location{ID: 1, Line: []profile.Line{{Function: ours}, {Function: grpc}}}
	inGRPC := &profile.Location{ID: 2, Line: []profile.Line{{Function: grpc}}}
	inTLS := &profile.Location{ID: 3, Line: []profile.Line{{Function: tls}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Function:   []*profile.Function{ours, grpc, tls},
		Location:   []*profile.Location{inlined, inGRPC, inTLS},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{inlined, inGRPC}, Value: []int64{3, 30e6}},
			{Location: []*profile.Location{inGRPC}, Value: []int64{5, 50e6}},
			{Location: []*profile.Location{inTLS, inGRPC}, Value: []int64{2, 20e6}},
		},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	shares, secs, err := breakdown(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if secs != 0.1 {
		t.Errorf("total = %v s, want 0.1 s", secs)
	}
	for layer, want := range map[string]float64{"etcdkit": 0.3, "grpc-go": 0.5, otherLayer: 0.2} {
		if got := shares[layer]; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("share of %s = %v, want %v (all shares: %v)", layer, got, want, shares)
		}
	}
}

func TestBreakdownRefusesAProfileWithoutCPUSamples(t *testing.T) {
	p := &profile.Profile{SampleType: []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}}}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, _, err := breakdown(&buf); err == nil {
		t.Fatal("breakdown of a heap profile: no error, want one saying it is not a CPU profile")
	}
}
