package codec

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeRangeResponseSpans decodes a RangeResponse that the transport
// holds in several buffers without first copying it into one: the keys and
// values point into the transport's buffers (a key-value cut by a buffer's
// end is copied, alone), which the caller must then keep from going back
// to grpc-go's pool (Ref). A 200 MB range is then in memory once, not
// twice. It reports false, leaving r in no particular state, if data holds
// anything the decoder does not expect.
func decodeRangeResponseSpans(data mem.BufferSlice, r *pb.RangeResponse) bool {
	s := newSpans(data)
	n, ok := countSpanKVs(s)
	if !ok {
		return false
	}
	r.Reset()
	hdr := new(pb.ResponseHeader)
	var kvs []mvccpb.KeyValue
	var ptrs []*mvccpb.KeyValue
	if n > 0 {
		kvs, ptrs = make([]mvccpb.KeyValue, n), make([]*mvccpb.KeyValue, 0, n)
	}
	shared := slab{shared: true}
	for s.more() {
		switch num, typ := s.tag(); {
		case num == 1 && typ == protowire.BytesType:
			if !setHeader(&r.Header, hdr, s.bytes()) {
				return false
			}
		case num == 2 && typ == protowire.BytesType:
			if len(ptrs) == len(kvs) {
				return false
			}
			kv := &kvs[len(ptrs)]
			if !decodeKV(s.bytes(), kv, &shared) {
				return false
			}
			ptrs = append(ptrs, kv)
		case num == 3 && typ == protowire.VarintType:
			r.More = s.varint() != 0
		case num == 4 && typ == protowire.VarintType:
			r.Count = int64(s.varint())
		default:
			return false
		}
	}
	if !s.ok() || len(ptrs) != len(kvs) {
		return false
	}
	if len(ptrs) > 0 {
		r.Kvs = ptrs
	}
	return true
}

// countSpanKVs counts the key-values of a RangeResponse, so that they can
// be made in one allocation.
func countSpanKVs(s spans) (n int, ok bool) {
	for s.more() {
		switch num, typ := s.tag(); {
		case num == 2 && typ == protowire.BytesType:
			n++
			s.skip(s.varint())
		case num == 1 && typ == protowire.BytesType:
			s.skip(s.varint())
		case (num == 3 || num == 4) && typ == protowire.VarintType:
			s.varint()
		default:
			return 0, false
		}
	}
	return n, s.ok()
}

// spans reads one encoded message spread over several buffers. Every
// accessor leaves the read failed, never panics, on malformed input.
type spans struct {
	bufs   mem.BufferSlice
	next   int    // the buffer after cur
	cur    []byte // what is unread of the current buffer
	left   int    // what is unread of the message, cur included
	failed bool
}

func newSpans(data mem.BufferSlice) spans {
	return spans{bufs: data, left: data.Len()}
}

// fill makes cur hold the next unread byte, if there is one.
func (s *spans) fill() bool {
	for len(s.cur) == 0 {
		if s.next == len(s.bufs) {
			return false
		}
		s.cur = s.bufs[s.next].ReadOnlyData()
		s.next++
	}
	return true
}

// more reports whether a field follows.
func (s *spans) more() bool { return !s.failed && s.left > 0 }

// ok reports whether the whole message was read without error.
func (s *spans) ok() bool { return !s.failed && s.left == 0 }

func (s *spans) tag() (protowire.Number, protowire.Type) {
	v := s.varint()
	return protowire.Number(v >> 3), protowire.Type(v & 7)
}

// varint reads a varint as protowire.ConsumeVarint does, across the end of
// a buffer if need be.
func (s *spans) varint() uint64 {
	if s.failed || !s.fill() {
		s.failed = true
		return 0
	}
	if c := s.cur[0]; c < 0x80 {
		s.cur, s.left = s.cur[1:], s.left-1
		return uint64(c)
	}
	if v, n := protowire.ConsumeVarint(s.cur); n > 0 {
		s.cur, s.left = s.cur[n:], s.left-n
		return v
	} else if len(s.cur) >= protowire.SizeVarint(1<<63) {
		s.failed = true
		return 0
	}
	// Cut by the buffer's end: gather it.
	var buf [10]byte
	k := 0
	for k < len(buf) && s.fill() {
		buf[k] = s.cur[0]
		s.cur, s.left = s.cur[1:], s.left-1
		k++
		if buf[k-1] < 0x80 {
			break
		}
	}
	v, n := protowire.ConsumeVarint(buf[:k])
	if n != k {
		s.failed = true
		return 0
	}
	return v
}

// bytes reads a length-delimited value: a slice of the current buffer if
// it lies in one, else a copy.
func (s *spans) bytes() []byte {
	n := s.varint()
	if s.failed || n > uint64(s.left) {
		s.failed = true
		return nil
	}
	if n == 0 {
		return []byte{}
	}
	s.fill()
	if n <= uint64(len(s.cur)) {
		v := s.cur[:n:n]
		s.cur, s.left = s.cur[n:], s.left-int(n)
		return v
	}
	v := make([]byte, n)
	for k := 0; k < len(v); {
		s.fill()
		c := copy(v[k:], s.cur)
		s.cur, k = s.cur[c:], k+c
	}
	s.left -= int(n)
	return v
}

// skip passes over n bytes.
func (s *spans) skip(n uint64) {
	if s.failed || n > uint64(s.left) {
		s.failed = true
		return
	}
	s.left -= int(n)
	for n > 0 {
		s.fill()
		c := min(n, uint64(len(s.cur)))
		s.cur, n = s.cur[c:], n-c
	}
}
