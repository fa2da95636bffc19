package codec

import (
	"bytes"
	"fmt"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// Codec is the connections' encoding.CodecV2. Its name is "proto", so the
// server decodes what it sends with its own protobuf codec.
type Codec struct{}

var _ encoding.CodecV2 = Codec{}

// Name implements encoding.CodecV2.
func (Codec) Name() string { return "proto" }

// Marshal implements encoding.CodecV2. A request of up to maxCarved bytes
// is marshaled into a piece of a requestSlab; a larger one into a buffer
// of grpc-go's pool, which the transport returns to it once written.
func (Codec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("etcdclient: cannot marshal %T: not a protobuf message", v)
	}
	size := proto.Size(m)
	// UseCachedSize reuses the sizes proto.Size just recorded; the message
	// does not change in between.
	opts := proto.MarshalOptions{UseCachedSize: true}
	if size <= maxCarved {
		bs, piece := carve(size)
		out, err := opts.MarshalAppend((*piece)[:0], m)
		if err != nil {
			return nil, err
		}
		*piece = out
		return bs, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(size)
	out, err := opts.MarshalAppend((*buf)[:0], m)
	if err != nil {
		pool.Put(buf)
		return nil, err
	}
	*buf = out
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

// minSpansDecode is the smallest range response decoded where the
// transport's buffers hold it (decodeRangeResponseSpans). Below it, one
// copy into memory of its own costs less CPU than taking the buffers out
// of the transport's pool, which then has to make new ones (a 270 KB range:
// 1.28x the official client's CPU, against 1.09x with the copy); above it,
// not holding the response twice is what counts (a 5 MiB range: 0.73x
// against 0.94x, and a 200 MB one peaks at 0.38x the official client's
// heap, against 0.67x). A RangeStream chunk is always copied: a reader
// drops each chunk before the next, so the copy is held for one chunk
// only, while the buffers kept from the pool made reading a 200 MB list
// by GetStream cost 1.2x the official client's CPU and time (1.0x copied).
const minSpansDecode = 1 << 20

// Unmarshal implements encoding.CodecV2.
func (Codec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("etcdclient: cannot unmarshal into %T: not a protobuf message", v)
	}
	if len(data) > 1 && data.Len() >= minSpansDecode && decodeSpans(data, v) {
		// The keys and values point into the transport's buffers: they
		// are the response's now, never to go back to the pool.
		for _, b := range data {
			b.Ref()
		}
		return nil
	}
	if len(data) > 1 && hasFastDecoder(v) {
		// A large message, spread over several of the transport's
		// buffers: one copy into memory of its own, which the decoded
		// keys and values then share, costs less than a pooled copy
		// (which the pool clears whole) and a second copy into a slab.
		b := join(data)
		if decodeFast(b, v, true) {
			return nil
		}
		return proto.Unmarshal(b, m)
	}
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	if decodeFast(b, v, false) {
		return nil
	}
	return proto.Unmarshal(b, m)
}

// join copies data's buffers into one new slice. Unlike
// mem.BufferSlice.Materialize it does not clear the memory it is about to
// overwrite: for a 300 KB range that clearing was a tenth of the client's
// CPU per call.
func join(data mem.BufferSlice) []byte {
	var small [32][]byte
	parts := small[:0]
	for _, b := range data {
		parts = append(parts, b.ReadOnlyData())
	}
	return bytes.Join(parts, nil)
}

// decodeSpans decodes data, which the transport's buffers hold, into v
// where they hold it, if v is a range response.
func decodeSpans(data mem.BufferSlice, v any) bool {
	if r, ok := v.(*pb.RangeResponse); ok {
		return decodeRangeResponseSpans(data, r)
	}
	return false
}

func hasFastDecoder(v any) bool {
	switch v.(type) {
	case *pb.RangeResponse, *pb.RangeStreamResponse, *pb.WatchResponse:
		return true
	}
	return false
}

// decodeFast decodes b into v by hand if v is a message with a decoder of
// its own. It reports false if it did not: v's type has none, or b holds
// something the decoder does not expect. With own, b belongs to the
// decoded message, whose keys and values then point into it; else they are
// copied.
func decodeFast(b []byte, v any, own bool) bool {
	switch r := v.(type) {
	case *pb.RangeResponse:
		return decodeRangeResponse(b, r, own)
	case *pb.RangeStreamResponse:
		return decodeRangeStreamResponse(b, r, own)
	case *pb.WatchResponse:
		return decodeWatchResponse(b, r, own)
	}
	return false
}
