package codec

import (
	"unicode/utf8"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/encoding/protowire"
)

// decodeWatchResponse decodes b into r with at most five allocations
// whatever the number of events (two for a single event); with own, the
// keys and values point into b. It reports false, leaving r in no
// particular state, if b holds anything it does not expect.
func decodeWatchResponse(b []byte, r *pb.WatchResponse, own bool) bool {
	m, ok := measureEvents(b)
	if !ok {
		return false
	}
	r.Reset()
	var (
		hdr  *pb.ResponseHeader
		evs  []mvccpb.Event
		ptrs []*mvccpb.Event
		kvs  []mvccpb.KeyValue
	)
	switch {
	case m.events == 1 && m.kvs <= 1:
		// The common event: a put or delete without its previous
		// key-value. Without room for one it does not use, the block is a
		// size class smaller.
		one := new(oneEventBlock[[1]mvccpb.KeyValue])
		hdr, evs, ptrs, kvs = &one.hdr, one.ev[:], one.ptr[:0], one.kv[:0]
	case m.events == 1 && m.kvs == 2:
		one := new(oneEventBlock[[2]mvccpb.KeyValue])
		hdr, evs, ptrs, kvs = &one.hdr, one.ev[:], one.ptr[:0], one.kv[:0]
	default:
		hdr = new(pb.ResponseHeader)
		if m.events > 0 {
			evs, ptrs = make([]mvccpb.Event, m.events), make([]*mvccpb.Event, 0, m.events)
			kvs = make([]mvccpb.KeyValue, 0, m.kvs)
		}
	}
	s := newSlab(m.size, own)
	f := fields{b: b}
	for num, typ := range f.all() {
		switch {
		case num == 1 && typ == protowire.BytesType:
			if !setHeader(&r.Header, hdr, f.bytes()) {
				return false
			}
		case num == 11 && typ == protowire.BytesType:
			if len(ptrs) == len(evs) {
				return false
			}
			ev := &evs[len(ptrs)]
			if !decodeEvent(f.bytes(), ev, &kvs, &s) {
				return false
			}
			ptrs = append(ptrs, ev)
		case num == 6 && typ == protowire.BytesType:
			v := f.bytes()
			if !utf8.Valid(v) {
				return false
			}
			r.CancelReason = string(v)
		case typ == protowire.VarintType:
			v := f.varint()
			switch num {
			case 2:
				r.WatchId = int64(v)
			case 3:
				r.Created = v != 0
			case 4:
				r.Canceled = v != 0
			case 5:
				r.CompactRevision = int64(v)
			case 7:
				r.Fragment = v != 0
			default:
				return false
			}
		default:
			return false
		}
	}
	if !f.ok() {
		return false
	}
	if len(ptrs) > 0 {
		r.Events = ptrs
	}
	return true
}

// eventsSize is what decoding a watch response's events takes: how many
// events, how many key-values in them, and the bytes of their keys and
// values.
type eventsSize struct{ events, kvs, size int }

func measureEvents(b []byte) (m eventsSize, ok bool) {
	f := fields{b: b}
	for num, typ := range f.all() {
		if num != 11 || typ != protowire.BytesType {
			if n := protowire.ConsumeFieldValue(num, typ, f.b); n >= 0 {
				f.b = f.b[n:]
				continue
			}
			return m, false
		}
		m.events++
		ev := fields{b: f.bytes()}
		for num, typ := range ev.all() {
			switch {
			case (num == 2 || num == 3) && typ == protowire.BytesType:
				size, kvOK := measureKV(ev.bytes())
				if !kvOK {
					return m, false
				}
				m.kvs++
				m.size += size
			case typ == protowire.VarintType:
				ev.varint()
			default:
				return m, false
			}
		}
		if !ev.ok() {
			return m, false
		}
	}
	return m, f.ok()
}

// decodeEvent decodes the event b into ev, taking its key-values from the
// block *kvs (whose capacity measureEvents sized) and their bytes from s.
func decodeEvent(b []byte, ev *mvccpb.Event, kvs *[]mvccpb.KeyValue, s *slab) bool {
	f := fields{b: b}
	for num, typ := range f.all() {
		switch {
		case num == 1 && typ == protowire.VarintType:
			ev.Type = mvccpb.Event_EventType(int32(f.varint()))
		case num == 2 && typ == protowire.BytesType:
			if ev.Kv == nil {
				ev.Kv = nextKV(kvs)
			}
			if ev.Kv == nil || !decodeKV(f.bytes(), ev.Kv, s) {
				return false
			}
		case num == 3 && typ == protowire.BytesType:
			if ev.PrevKv == nil {
				ev.PrevKv = nextKV(kvs)
			}
			if ev.PrevKv == nil || !decodeKV(f.bytes(), ev.PrevKv, s) {
				return false
			}
		default:
			return false
		}
	}
	return f.ok()
}

// nextKV takes the next key-value of the block, nil if it is used up.
func nextKV(kvs *[]mvccpb.KeyValue) *mvccpb.KeyValue {
	n := len(*kvs)
	if n == cap(*kvs) {
		return nil
	}
	*kvs = (*kvs)[:n+1]
	return &(*kvs)[n]
}

// oneEventBlock holds every record of a one-event watch response in one
// allocation; KV is an array with room for the event's key-value, and its
// previous one when the watch asked for it.
type oneEventBlock[KV any] struct {
	hdr pb.ResponseHeader
	ev  [1]mvccpb.Event
	ptr [1]*mvccpb.Event
	kv  KV
}
