package codec

import (
	"sync"

	"google.golang.org/grpc/mem"
)

// maxCarved is the largest request marshaled into a piece of a shared
// slab (carve) instead of a buffer from grpc-go's pool. grpc-go does not
// pool buffers of 1 KiB or less (mem.IsBelowBufferPoolingThreshold), so a
// pooled buffer for a small request is one of its 4 KiB tier, which the
// pool zeroes whole on every Get, and which a burst of requests in flight
// (the lessor sends a renewal per lease, a thousand at once) empties, so
// that the pool allocates 4 KiB per 16-byte request until the burst is
// written.
const maxCarved = 1 << 10

// slabBytes and slabPieces size a slab's byte block and its piece
// descriptors: one allocation of each serves many small requests.
const (
	slabBytes  = 8 << 10
	slabPieces = 128
)

// A requestSlab hands out pieces of memory that are never reused: a piece is
// garbage once the transport has written it and dropped it, and the slab's
// blocks are collected with their last piece. Nothing is returned to it,
// so no piece can be handed out twice, whatever grpc-go does with one
// (keep it for a retry, free it twice).
type requestSlab struct {
	bytes []byte            // unused space; len 0
	hdrs  []mem.SliceBuffer // a piece's bytes, referred to by bufs
	bufs  []mem.Buffer      // a piece's Buffer, &hdrs[i], sliced into its BufferSlice
}

var requestSlabs = sync.Pool{New: func() any { return new(requestSlab) }}

// carve returns a BufferSlice of one Buffer whose bytes are a fresh piece
// of length 0 and capacity size, for the caller to append the request to
// and store back through the returned *mem.SliceBuffer. On average it
// allocates nothing: the pieces' bytes, descriptors and interface values
// are cut from blocks shared by many requests.
func carve(size int) (mem.BufferSlice, *mem.SliceBuffer) {
	s := requestSlabs.Get().(*requestSlab)
	if cap(s.bytes) < size {
		s.bytes = make([]byte, 0, max(slabBytes, size))
	}
	if len(s.hdrs) == 0 {
		s.hdrs = make([]mem.SliceBuffer, slabPieces)
		s.bufs = make([]mem.Buffer, slabPieces)
	}
	b := s.bytes[:0:size]
	s.bytes = s.bytes[size:size]
	h := &s.hdrs[0]
	*h = b
	s.bufs[0] = h
	bs := mem.BufferSlice(s.bufs[:1:1])
	s.hdrs, s.bufs = s.hdrs[1:], s.bufs[1:]
	requestSlabs.Put(s)
	return bs, h
}
