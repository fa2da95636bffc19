package codec

import (
	"bytes"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

func TestSmallRequestsInFlightTogetherKeepTheirOwnBytes(t *testing.T) {
	// A burst of renewals, as the lessor sends them: every request is
	// marshaled before any is written.
	const n = 3 * slabPieces
	sent := make([]mem.BufferSlice, n)
	for i := range sent {
		data, err := Codec{}.Marshal(&pb.LeaseKeepAliveRequest{ID: int64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		sent[i] = data
	}
	for i, data := range sent {
		var got pb.LeaseKeepAliveRequest
		if err := proto.Unmarshal(data.Materialize(), &got); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got.ID != int64(i+1) {
			t.Fatalf("request %d carries lease %d, want %d: its bytes were overwritten", i, got.ID, i+1)
		}
		if b := data[0].ReadOnlyData(); cap(b) != len(b) {
			t.Fatalf("request %d: capacity %d beyond its length %d: an append would write into the next request", i, cap(b), len(b))
		}
		data.Free()
	}
}

func TestRequestsAroundTheSlabLimitRoundTrip(t *testing.T) {
	for size := maxCarved - 8; size <= maxCarved+8; size++ {
		m := &pb.PutRequest{Key: []byte("k")}
		m.Value = bytes.Repeat([]byte{'v'}, size-proto.Size(m)-3) // tag and length of Value take 3 bytes here
		want := proto.Size(m)
		data, err := Codec{}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if data.Len() != want {
			t.Fatalf("a %d-byte request marshaled to %d bytes", want, data.Len())
		}
		var back pb.PutRequest
		if err := proto.Unmarshal(data.Materialize(), &back); err != nil {
			t.Fatal(err)
		}
		data.Free()
		if !proto.Equal(m, &back) {
			t.Fatalf("a %d-byte request did not round-trip", want)
		}
	}
}

func TestAnEmptyRequestMarshalsToNothing(t *testing.T) {
	data, err := Codec{}.Marshal(&pb.StatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if data.Len() != 0 {
		t.Fatalf("an empty StatusRequest marshaled to %d bytes", data.Len())
	}
}

func TestASmallRequestCostsNoAllocationOnAverage(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	req := &pb.LeaseKeepAliveRequest{ID: 7}
	allocs := testing.AllocsPerRun(10*slabPieces, func() {
		data, _ := Codec{}.Marshal(req)
		data.Free()
	})
	if allocs > 0.1 {
		t.Fatalf("marshaling a keep-alive request: %.2f allocations, want about %.2f (a slab's blocks per %d requests)",
			allocs, 3.0/slabPieces, slabPieces)
	}
}

// BenchmarkMarshalKeepAliveBurst marshals a lessor's burst of renewals
// before the transport frees any, as on the wire.
func BenchmarkMarshalKeepAliveBurst(b *testing.B) {
	const burst = 1000
	reqs := make([]pb.LeaseKeepAliveRequest, burst)
	for i := range reqs {
		reqs[i].ID = int64(i + 1)
	}
	held := make([]mem.BufferSlice, burst)
	b.ReportAllocs()
	for b.Loop() {
		for i := range reqs {
			held[i], _ = Codec{}.Marshal(&reqs[i])
		}
		for i := range held {
			held[i].Free()
		}
	}
}

// BenchmarkMarshalRangeRequest marshals and frees one request at a time,
// as a single caller's calls do.
func BenchmarkMarshalRangeRequest(b *testing.B) {
	req := &pb.RangeRequest{Key: []byte("/bench/some/key"), Serializable: true}
	b.ReportAllocs()
	for b.Loop() {
		data, _ := Codec{}.Marshal(req)
		data.Free()
	}
}
