package clientv3

import (
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

func TestCopyResponseCopiesEveryFieldAndSharesNoBytes(t *testing.T) {
	full := &mvccpb.KeyValue{Key: []byte("k"), CreateRevision: 2, ModRevision: 3, Version: 4, Value: []byte("v"), Lease: 5}
	evs := []*Event{
		{Type: EventTypePut, Kv: full, PrevKv: &mvccpb.KeyValue{Key: []byte("k"), Value: []byte{}, ModRevision: 1}},
		{Type: EventTypeDelete, Kv: &mvccpb.KeyValue{Key: []byte("j"), ModRevision: 3}},
	}
	h := &pb.ResponseHeader{ClusterId: 1, MemberId: 2, Revision: 3, RaftTerm: 4}
	hc, cp := copyResponse(h, evs)
	if hc == h || !proto.Equal(hc, h) {
		t.Errorf("header copied as %v (same object: %v); want an equal one of its own", hc, hc == h)
	}
	if len(cp) != len(evs) {
		t.Fatalf("copied %d events; want %d", len(cp), len(evs))
	}
	for i := range evs {
		if !proto.Equal(cp[i], evs[i]) {
			t.Errorf("event %d copied as %v; want %v", i, cp[i], evs[i])
		}
	}
	if cp[0].PrevKv.Value == nil || cp[1].Kv.Value != nil || cp[1].PrevKv != nil {
		t.Error("an empty value, a nil value or a missing previous key-value was not kept as it was")
	}
	cp[0].Kv.Key[0], cp[0].Kv.Value[0] = 'X', 'X'
	if string(full.Key) != "k" || string(full.Value) != "v" {
		t.Error("changing the copy's bytes changed the original's")
	}
	cp[0].PrevKv.Value = append(cp[0].PrevKv.Value, 'X')
	if string(cp[1].Kv.Key) != "j" {
		t.Error("appending to one copied value overwrote another's bytes")
	}

	for _, one := range []*Event{evs[0], evs[1]} {
		hc, cp := copyResponse(nil, []*Event{one})
		if hc != nil || len(cp) != 1 || !proto.Equal(cp[0], one) || cp[0] == one {
			t.Errorf("a one-event response copied as header %v, events %v; want no header and an equal event of its own", hc, cp)
		}
	}
}

func BenchmarkCopyResponseOfOneEvent(b *testing.B) {
	hdr := &pb.ResponseHeader{ClusterId: 1, MemberId: 2, Revision: 3, RaftTerm: 4}
	evs := []*Event{{Type: EventTypePut, Kv: &mvccpb.KeyValue{Key: []byte("/registry/pods/default/x"), ModRevision: 3, Value: make([]byte, 256)}}}
	b.ReportAllocs()
	for b.Loop() {
		copyResponse(hdr, evs)
	}
}

// A rider's copy of one event is one allocation and its bytes, with or
// without a previous key-value.
func TestACopyOfOneEventIsTwoAllocations(t *testing.T) {
	hdr := &pb.ResponseHeader{Revision: 3}
	kv := &mvccpb.KeyValue{Key: []byte("k"), Value: []byte("v"), ModRevision: 3}
	for name, ev := range map[string]*Event{
		"without a previous key-value": {Type: EventTypePut, Kv: kv},
		"with a previous key-value":    {Type: EventTypePut, Kv: kv, PrevKv: &mvccpb.KeyValue{Key: []byte("k"), Value: []byte("u")}},
	} {
		evs := []*Event{ev}
		if n := testing.AllocsPerRun(100, func() { copyResponse(hdr, evs) }); n != 2 {
			t.Errorf("copying one event %s took %v allocations; want 2 (the copy and its bytes)", name, n)
		}
	}
}
