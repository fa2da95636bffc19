package codec

import (
	"iter"

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
	if t := f.b[0]; t < 0x80 && t >= 1<<3 {
		// The usual one-byte tag of a field numbered below 16.
		f.b = f.b[1:]
		return protowire.Number(t >> 3), protowire.Type(t & 7), true
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
	if len(f.b) > 0 && f.b[0] < 0x80 {
		v := uint64(f.b[0])
		f.b = f.b[1:]
		return v
	}
	v, n := protowire.ConsumeVarint(f.b)
	if n < 0 {
		f.failed = true
		return 0
	}
	f.b = f.b[n:]
	return v
}

func (f *fields) bytes() []byte {
	n := f.varint()
	if f.failed || n > uint64(len(f.b)) {
		f.failed = true
		return nil
	}
	v := f.b[:n:n]
	f.b = f.b[n:]
	return v
}

// all ranges over the fields' tags in turn, reading each with next; after
// the loop, ok tells whether the walk reached the end cleanly. The loop's
// body reads the field's value.
func (f *fields) all() iter.Seq2[protowire.Number, protowire.Type] {
	return func(yield func(protowire.Number, protowire.Type) bool) {
		for {
			num, typ, more := f.next()
			if !more || !yield(num, typ) {
				return
			}
		}
	}
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
