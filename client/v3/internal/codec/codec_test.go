package codec

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.uber.org/goleak"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func randomKV(r *rand.Rand) *mvccpb.KeyValue {
	kv := &mvccpb.KeyValue{
		CreateRevision: r.Int64N(1 << 40),
		ModRevision:    r.Int64N(1 << 40),
		Version:        r.Int64N(100),
		Lease:          r.Int64() - r.Int64(),
	}
	if r.IntN(4) > 0 {
		kv.Key = []byte(fmt.Sprintf("/key/%d", r.IntN(1000)))
	}
	if r.IntN(4) > 0 {
		kv.Value = bytes.Repeat([]byte{byte(r.IntN(256))}, r.IntN(300))
	}
	return kv
}

func randomHeader(r *rand.Rand) *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: r.Uint64(), MemberId: r.Uint64(), Revision: r.Int64N(1 << 40), RaftTerm: r.Uint64N(100)}
}

func randomRange(r *rand.Rand) *pb.RangeResponse {
	m := &pb.RangeResponse{Header: randomHeader(r), More: r.IntN(2) == 0, Count: r.Int64N(1 << 20)}
	for range []int{0, 1, 1, 2, 7, 100}[r.IntN(6)] {
		m.Kvs = append(m.Kvs, randomKV(r))
	}
	return m
}

func randomWatch(r *rand.Rand) *pb.WatchResponse {
	m := &pb.WatchResponse{Header: randomHeader(r), WatchId: r.Int64N(100), Created: r.IntN(5) == 0,
		Canceled: r.IntN(5) == 0, CompactRevision: r.Int64N(3), Fragment: r.IntN(3) == 0}
	if r.IntN(5) == 0 {
		m.CancelReason = "mvcc: required revision has been compacted"
	}
	for range []int{0, 1, 1, 2, 50}[r.IntN(5)] {
		ev := &mvccpb.Event{Type: mvccpb.Event_EventType(r.IntN(2)), Kv: randomKV(r)}
		if r.IntN(2) == 0 {
			ev.PrevKv = randomKV(r)
		}
		m.Events = append(m.Events, ev)
	}
	return m
}

// decodeBoth decodes b with the codec and with proto.Unmarshal into fresh
// messages of proto's type and reports any difference.
func decodeBoth(t *testing.T, b []byte, want proto.Message) {
	t.Helper()
	ref := want.ProtoReflect().New().Interface()
	errRef := proto.Unmarshal(b, ref)
	// One buffer: the codec copies keys and values; several: it decodes
	// from a copy of its own.
	split := len(b) / 2
	for _, data := range []mem.BufferSlice{{mem.SliceBuffer(b)}, {mem.SliceBuffer(b[:split]), mem.SliceBuffer(b[split:])}, splitEvery(b, 3), splitEvery(b, 7)} {
		decodeAgainst(t, b, data, ref, errRef)
		// The codec reads only large ranges where the transport's
		// buffers hold them; small ones test that decoder as well.
		if got := ref.ProtoReflect().New().Interface(); decodeSpans(data, got) {
			if errRef != nil || !proto.Equal(got, ref) || nilBytes(got) != nilBytes(ref) {
				t.Fatalf("decoding %x from %d buffers:\nspans gave      %v\nproto.Unmarshal %v (error %v)", b, len(data), got, ref, errRef)
			}
		}
	}
}

// splitEvery cuts b into buffers of n bytes (and empty ones between them,
// which the transport may hand over too), so that tags, lengths and values
// are cut at every place.
func splitEvery(b []byte, n int) mem.BufferSlice {
	var data mem.BufferSlice
	for len(b) > n {
		data = append(data, mem.SliceBuffer(b[:n:n]), mem.SliceBuffer(nil))
		b = b[n:]
	}
	return append(data, mem.SliceBuffer(b))
}

func decodeAgainst(t *testing.T, b []byte, data mem.BufferSlice, ref proto.Message, errRef error) {
	t.Helper()
	got := ref.ProtoReflect().New().Interface()
	errGot := Codec{}.Unmarshal(data, got)
	if (errGot == nil) != (errRef == nil) {
		t.Fatalf("decoding %x: codec error %v, proto.Unmarshal error %v", b, errGot, errRef)
	}
	if errRef != nil {
		return
	}
	if !proto.Equal(got, ref) {
		t.Fatalf("decoding %x:\ncodec gave       %v\nproto.Unmarshal %v", b, got, ref)
	}
	if g, r := nilBytes(got), nilBytes(ref); g != r {
		t.Fatalf("decoding %x: nil byte fields differ: codec %s, proto.Unmarshal %s", b, g, r)
	}
}

// nilBytes lists which key and value fields are nil, which proto.Equal
// does not tell apart from empty ones.
func nilBytes(m proto.Message) string {
	var kvs []*mvccpb.KeyValue
	switch m := m.(type) {
	case *pb.RangeResponse:
		kvs = m.Kvs
	case *pb.RangeStreamResponse:
		kvs = m.GetRangeResponse().GetKvs()
	case *pb.WatchResponse:
		for _, ev := range m.Events {
			kvs = append(kvs, ev.Kv, ev.PrevKv)
		}
	}
	var s []byte
	for _, kv := range kvs {
		if kv == nil {
			s = append(s, '-')
			continue
		}
		s = append(s, "01"[btoi(kv.Key == nil)], "01"[btoi(kv.Value == nil)])
	}
	return string(s)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestDecodedResponsesEqualProtoUnmarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var m proto.Message
		switch i % 4 {
		case 0:
			m = randomRange(r)
		case 1:
			m = randomWatch(r)
		case 2:
			m = &pb.RangeStreamResponse{RangeResponse: randomRange(r)}
		case 3:
			m = &pb.RangeStreamResponse{} // a chunk with nothing in it
		}
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		decodeBoth(t, b, m)
	}
}

func TestUnexpectedFieldsFallBackToProtoUnmarshal(t *testing.T) {
	kv, _ := proto.Marshal(&mvccpb.KeyValue{Key: []byte("k"), Value: []byte("v")})
	hdr, _ := proto.Marshal(&pb.ResponseHeader{Revision: 7})
	cases := map[string][]byte{
		"unknown top-level field":  protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 5),
		"unknown field in a kv":    protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), protowire.AppendVarint(protowire.AppendTag(kv, 42, protowire.VarintType), 1)),
		"header sent twice":        protowire.AppendBytes(protowire.AppendTag(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), hdr), 1, protowire.BytesType), hdr),
		"key as a varint":          protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 3)),
		"truncated kv":             protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), kv[:len(kv)-1]),
		"length beyond the buffer": append(protowire.AppendTag(nil, 2, protowire.BytesType), 0x7f),
		"kv sent twice in event":   protowire.AppendBytes(protowire.AppendTag(nil, 11, protowire.BytesType), protowire.AppendBytes(protowire.AppendTag(protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), kv), 2, protowire.BytesType), kv)),
		"invalid UTF-8 reason":     protowire.AppendBytes(protowire.AppendTag(nil, 6, protowire.BytesType), []byte{0xff, 0xfe}),
	}
	// A RangeStream chunk wraps a RangeResponse in field 1.
	inner := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), kv)
	chunk := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), inner)
	chunkCases := map[string][]byte{
		"range response sent twice in a chunk": append(append([]byte(nil), chunk...), chunk...),
		"unknown field in a chunk":             protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), chunk...), 7, protowire.VarintType), 1),
		"range response as a varint":           protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 3),
		"truncated range response":             chunk[:len(chunk)-1],
	}
	for name, b := range chunkCases {
		t.Run(name, func(t *testing.T) { decodeBoth(t, b, &pb.RangeStreamResponse{}) })
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			decodeBoth(t, b, &pb.RangeResponse{})
			decodeBoth(t, b, &pb.WatchResponse{})
		})
	}
}

func TestDecodedBytesDoNotShareCapacity(t *testing.T) {
	m := &pb.RangeResponse{Kvs: []*mvccpb.KeyValue{
		{Key: []byte("a"), Value: []byte("1")},
		{Key: []byte("b"), Value: []byte("2")},
	}}
	b, _ := proto.Marshal(m)
	for _, data := range []mem.BufferSlice{{mem.SliceBuffer(b)}, {mem.SliceBuffer(b[:3]), mem.SliceBuffer(b[3:])}} {
		var got pb.RangeResponse
		if err := (Codec{}).Unmarshal(data, &got); err != nil {
			t.Fatal(err)
		}
		_ = append(got.Kvs[0].Value, 'X')
		_ = append(got.Kvs[0].Key, 'Y')
		if k, v := string(got.Kvs[1].Key), string(got.Kvs[1].Value); k != "b" || v != "2" {
			t.Fatalf("%d buffers: appending to the first key-value changed the second: key %q value %q, want \"b\" \"2\"", len(data), k, v)
		}
	}
}

func TestMarshalRoundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		m := randomRange(r)
		data, err := Codec{}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back pb.RangeResponse
		if err := proto.Unmarshal(data.Materialize(), &back); err != nil {
			t.Fatal(err)
		}
		data.Free()
		if !proto.Equal(m, &back) {
			t.Fatalf("marshal round trip: got %v, want %v", &back, m)
		}
	}
	if _, err := (Codec{}).Marshal("not a message"); err == nil {
		t.Fatal("marshaling a string: no error")
	}
}

func FuzzDecodeMatchesProtoUnmarshal(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		b, _ := proto.Marshal(randomRange(r))
		f.Add(b)
		b, _ = proto.Marshal(randomWatch(r))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBoth(t, b, &pb.RangeResponse{})
		decodeBoth(t, b, &pb.WatchResponse{})
	})
}

func TestDecodingAllocatesPerResponseNotPerKey(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 1000} {
		m := &pb.RangeResponse{Header: randomHeader(r)}
		for range n {
			m.Kvs = append(m.Kvs, &mvccpb.KeyValue{Key: []byte("/k"), Value: []byte("v"), ModRevision: 9})
		}
		b, _ := proto.Marshal(m)
		half := len(b) / 2
		for _, c := range []struct {
			data mem.BufferSlice
			max  float64
		}{
			{mem.BufferSlice{mem.SliceBuffer(b)}, 4},                                   // the key-values' bytes copied into a slab
			{mem.BufferSlice{mem.SliceBuffer(b[:half]), mem.SliceBuffer(b[half:])}, 5}, // plus the copy the keys then share
		} {
			var got pb.RangeResponse
			allocs := testing.AllocsPerRun(20, func() {
				if err := (Codec{}).Unmarshal(c.data, &got); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%d keys, %d buffers: %v allocations", n, len(c.data), allocs)
			if allocs > c.max {
				t.Errorf("decoding %d keys from %d buffers: %v allocations, want at most %v", n, len(c.data), allocs, c.max)
			}
		}
	}
}

// BenchmarkDecodeRange compares the codec with proto.Unmarshal on a
// 1,000-key range of 256-byte values.
func BenchmarkDecodeRange(b *testing.B) {
	m := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 1 << 20}}
	for i := range 1000 {
		m.Kvs = append(m.Kvs, &mvccpb.KeyValue{Key: fmt.Appendf(nil, "/bench/key/%06d", i), Value: bytes.Repeat([]byte{'v'}, 256), CreateRevision: 1000 + int64(i), ModRevision: 5000 + int64(i), Version: 3})
	}
	enc, _ := proto.Marshal(m)
	half := len(enc) / 2
	data := mem.BufferSlice{mem.SliceBuffer(enc[:half]), mem.SliceBuffer(enc[half:])}
	b.Run("codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r pb.RangeResponse
			if err := (Codec{}).Unmarshal(data, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("proto.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r pb.RangeResponse
			if err := proto.Unmarshal(enc, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// recordingPool is a mem.BufferPool that counts the buffers given back.
type recordingPool struct{ puts int }

func (p *recordingPool) Get(n int) *[]byte { b := make([]byte, n); return &b }
func (p *recordingPool) Put(*[]byte)       { p.puts++ }

// largeRange is a range response of more than minSpansDecode bytes.
func largeRange() *pb.RangeResponse {
	m := &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: 9}, Count: 50}
	for i := range 50 {
		m.Kvs = append(m.Kvs, &mvccpb.KeyValue{Key: fmt.Appendf(nil, "key-%02d", i), Value: bytes.Repeat([]byte{byte(i)}, minSpansDecode/40), ModRevision: int64(i + 1)})
	}
	return m
}

// inPooledBuffers marshals m into buffers of 16 KiB taken from pool, as the
// transport hands a large message to the codec.
func inPooledBuffers(t *testing.T, m proto.Message, pool mem.BufferPool) mem.BufferSlice {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var data mem.BufferSlice
	for chunk := range slices.Chunk(b, 16<<10) {
		buf := pool.Get(len(chunk))
		copy(*buf, chunk)
		data = append(data, mem.NewBuffer(buf, pool))
	}
	return data
}

func TestARangeInSeveralBuffersKeepsThemFromThePool(t *testing.T) {
	m := largeRange()
	pool := &recordingPool{}
	data := inPooledBuffers(t, m, pool)
	var got pb.RangeResponse
	if err := (Codec{}).Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	data.Free() // as the transport does once Unmarshal returns
	if pool.puts != 0 {
		t.Fatalf("%d of the %d buffers the keys and values point into went back to the pool", pool.puts, len(data))
	}
	if !proto.Equal(&got, m) {
		t.Fatal("decoded a different response")
	}
}

// A reader of GetStream drops each chunk before the next: the transport's
// buffers go back to its pool, and the chunk's keys and values live in a
// copy of their own.
func TestALargeRangeStreamChunkGivesItsBuffersBackToThePool(t *testing.T) {
	m := &pb.RangeStreamResponse{RangeResponse: largeRange()}
	pool := &recordingPool{}
	data := inPooledBuffers(t, m, pool)
	var got pb.RangeStreamResponse
	if err := (Codec{}).Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	pooled := 0 // grpc-go does not pool the smallest buffers
	for _, b := range data {
		if !mem.IsBelowBufferPoolingThreshold(b.Len()) {
			pooled++
		}
	}
	data.Free()
	if pool.puts != pooled {
		t.Fatalf("%d of the chunk's %d pooled buffers went back to the pool; want all", pool.puts, pooled)
	}
	if !proto.Equal(&got, m) {
		t.Fatal("decoded a different chunk")
	}
}

// BenchmarkDecodeWatchEvent decodes a watch response of one put, as a
// watcher of one key gets for each write, with and without its previous
// key-value.
func BenchmarkDecodeWatchEvent(b *testing.B) {
	kv := func(v string) *mvccpb.KeyValue {
		return &mvccpb.KeyValue{Key: []byte("/watched/key-0042"), Value: []byte(v), CreateRevision: 9, ModRevision: 1 << 20, Version: 7}
	}
	for _, c := range []struct {
		name string
		ev   *mvccpb.Event
	}{
		{"put", &mvccpb.Event{Kv: kv("new value")}},
		{"put-with-prev", &mvccpb.Event{Kv: kv("new value"), PrevKv: kv("old value")}},
	} {
		m := &pb.WatchResponse{Header: &pb.ResponseHeader{ClusterId: 1, MemberId: 2, Revision: 1 << 20, RaftTerm: 3}, WatchId: 5, Events: []*mvccpb.Event{c.ev}}
		enc, err := proto.Marshal(m)
		if err != nil {
			b.Fatal(err)
		}
		data := mem.BufferSlice{mem.SliceBuffer(enc)}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r pb.WatchResponse
				if err := (Codec{}).Unmarshal(data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
