package codec

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeRangeResponse decodes b into r with at most four allocations
// whatever the number of keys (two for a single key); with own, the keys
// and values point into b. It reports false, leaving r in no particular
// state, if b holds anything it does not expect.
func decodeRangeResponse(b []byte, r *pb.RangeResponse, own bool) bool {
	n, size, ok := measureKVs(b, 2, !own)
	if !ok {
		return false
	}
	r.Reset()
	var (
		hdr  *pb.ResponseHeader
		kvs  []mvccpb.KeyValue
		ptrs []*mvccpb.KeyValue
	)
	if n == 1 {
		one := new(struct {
			hdr pb.ResponseHeader
			kv  [1]mvccpb.KeyValue
			ptr [1]*mvccpb.KeyValue
		})
		hdr, kvs, ptrs = &one.hdr, one.kv[:], one.ptr[:0]
	} else {
		hdr = new(pb.ResponseHeader)
		if n > 0 {
			kvs, ptrs = make([]mvccpb.KeyValue, n), make([]*mvccpb.KeyValue, 0, n)
		}
	}
	s := newSlab(size, own)
	f := fields{b: b}
	for num, typ := range f.all() {
		switch {
		case num == 1 && typ == protowire.BytesType:
			if !setHeader(&r.Header, hdr, f.bytes()) {
				return false
			}
		case num == 2 && typ == protowire.BytesType:
			if len(ptrs) == len(kvs) {
				return false
			}
			kv := &kvs[len(ptrs)]
			if !decodeKV(f.bytes(), kv, &s) {
				return false
			}
			ptrs = append(ptrs, kv)
		case num == 3 && typ == protowire.VarintType:
			r.More = f.varint() != 0
		case num == 4 && typ == protowire.VarintType:
			r.Count = int64(f.varint())
		default:
			return false
		}
	}
	if !f.ok() {
		return false
	}
	if len(ptrs) > 0 {
		r.Kvs = ptrs
	}
	return true
}

// decodeRangeStreamResponse decodes one chunk of a RangeStream, a
// RangeResponse wrapped in field 1, as decodeRangeResponse does. A chunk
// that repeats the field (which the generic decoder would merge) is left
// to the generic decoder.
func decodeRangeStreamResponse(b []byte, r *pb.RangeStreamResponse, own bool) bool {
	var inner []byte
	seen := false
	f := fields{b: b}
	for num, typ := range f.all() {
		if num != 1 || typ != protowire.BytesType || seen {
			return false
		}
		inner, seen = f.bytes(), true
	}
	if !f.ok() {
		return false
	}
	r.Reset()
	if !seen {
		return true
	}
	rr := new(pb.RangeResponse)
	if !decodeRangeResponse(inner, rr, own) {
		return false
	}
	r.RangeResponse = rr
	return true
}

// measureKVs counts the key-values in the fields numbered field of the
// message b and, with sized, the bytes of their keys and values. ok is
// false if b is malformed there.
func measureKVs(b []byte, field protowire.Number, sized bool) (n, size int, ok bool) {
	f := fields{b: b}
	for num, typ := range f.all() {
		if num != field || typ != protowire.BytesType {
			if n := protowire.ConsumeFieldValue(num, typ, f.b); n >= 0 {
				f.b = f.b[n:]
				continue
			}
			return 0, 0, false
		}
		kv := f.bytes()
		n++
		if !sized {
			continue
		}
		kvSize, kvOK := measureKV(kv)
		if !kvOK {
			return 0, 0, false
		}
		size += kvSize
	}
	return n, size, f.ok()
}

// measureKV returns the bytes of the key and value of one encoded
// key-value.
func measureKV(b []byte) (size int, ok bool) {
	f := fields{b: b}
	for num, typ := range f.all() {
		switch typ {
		case protowire.BytesType:
			v := f.bytes()
			if num == 1 || num == 5 {
				size += len(v)
			}
		case protowire.VarintType:
			f.varint()
		default:
			return 0, false
		}
	}
	return size, f.ok()
}

// decodeKV decodes the key-value b into kv, its key and value into s.
// Fields already set in kv are overwritten by those present in b, as
// protobuf merges a message that appears twice. It is the decoder's inner
// loop, run once per key, so it reads tags and varints inline.
func decodeKV(b []byte, kv *mvccpb.KeyValue, s *slab) bool {
	for i := 0; i < len(b); {
		tag := b[i]
		i++
		var v uint64
		switch tag {
		case 1<<3 | 2, 5<<3 | 2: // key, value
			if i < len(b) && b[i] < 0x80 {
				v = uint64(b[i])
				i++
			} else if v, i = uvarint(b, i); i < 0 {
				return false
			}
			if v > uint64(len(b)-i) {
				return false
			}
			field := s.take(b[i : i+int(v)])
			i += int(v)
			if tag == 1<<3|2 {
				kv.Key = field
			} else {
				kv.Value = field
			}
		case 2<<3 | 0, 3<<3 | 0, 4<<3 | 0, 6<<3 | 0:
			if v, i = uvarint(b, i); i < 0 {
				return false
			}
			switch tag >> 3 {
			case 2:
				kv.CreateRevision = int64(v)
			case 3:
				kv.ModRevision = int64(v)
			case 4:
				kv.Version = int64(v)
			default:
				kv.Lease = int64(v)
			}
		default:
			return false
		}
	}
	return true
}

// uvarint reads the varint at b[i:], returning it and the index after it,
// or a negative index if b holds no valid varint there. (Callers read a
// one-byte varint inline first where it matters: this does not inline.)
func uvarint(b []byte, i int) (uint64, int) {
	if i >= len(b) {
		return 0, -1
	}
	v, n := protowire.ConsumeVarint(b[i:])
	if n < 0 {
		return 0, -1
	}
	return v, i + n
}

// setHeader decodes the response header b into hdr and makes *dst point
// to it. It reports false for a second header, which protobuf would merge
// into the first: the generic decoder handles that.
func setHeader(dst **pb.ResponseHeader, hdr *pb.ResponseHeader, b []byte) bool {
	if *dst != nil || !decodeHeader(b, hdr) {
		return false
	}
	*dst = hdr
	return true
}

// decodeHeader decodes the response header b into h.
func decodeHeader(b []byte, h *pb.ResponseHeader) bool {
	f := fields{b: b}
	for num, typ := range f.all() {
		if typ != protowire.VarintType {
			return false
		}
		v := f.varint()
		switch num {
		case 1:
			h.ClusterId = v
		case 2:
			h.MemberId = v
		case 3:
			h.Revision = int64(v)
		case 4:
			h.RaftTerm = v
		default:
			return false
		}
	}
	return f.ok()
}
