package codec

import (
	"google.golang.org/protobuf/encoding/protowire"
)

// fields walks the fields of one encoded message. Every accessor leaves
// the walk failed, never panics, on malformed input.
type fields struct {
	b      []byte
	failed bool
}

// next reads the next field's tag; ok is false at the end of the message
// or on a malformed tag.
func (f *fields) next() (num protowire.Number, typ protowire.Type, ok bool) {
	if len(f.b) == 0 || f.failed {
		return 0, 0, false
	}
	num, typ, n := protowire.ConsumeTag(f.b)
	if n < 0 {
		f.failed = true
		return 0, 0, false
	}
	f.b = f.b[n:]
	return num, typ, true
}

func (f *fields) varint() uint64 {
	v, n := protowire.ConsumeVarint(f.b)
	if n < 0 {
		f.failed = true
		return 0
	}
	f.b = f.b[n:]
	return v
}

func (f *fields) bytes() []byte {
	v, n := protowire.ConsumeBytes(f.b)
	if n < 0 {
		f.failed = true
		return nil
	}
	f.b = f.b[n:]
	return v
}

// ok reports whether the whole message was read without error.
func (f *fields) ok() bool { return !f.failed && len(f.b) == 0 }

// slab hands out the bytes of keys and values: copies in one allocation
// made to measure or, when the decoded message owns the encoded one
// (shared), the encoded bytes themselves.
type slab struct {
	b      []byte
	shared bool
}

// newSlab returns a slab for size bytes of copies, or one that shares the
// encoded message's bytes.
func newSlab(size int, shared bool) slab {
	if shared || size == 0 {
		return slab{shared: shared}
	}
	return slab{b: make([]byte, 0, size)}
}

// take returns b's bytes for a decoded field; an empty b gives nil, as the
// generic decoder does. The result's capacity is its length, so that
// appending to it cannot overwrite the bytes after it.
func (s *slab) take(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if s.shared {
		return b[:len(b):len(b)]
	}
	start := len(s.b)
	s.b = append(s.b, b...)
	end := len(s.b)
	return s.b[start:end:end]
}
