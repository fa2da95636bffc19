package clientv3

import (
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"google.golang.org/protobuf/proto"
)

func TestCopyEventsCopiesEveryFieldAndSharesNoBytes(t *testing.T) {
	full := &mvccpb.KeyValue{Key: []byte("k"), CreateRevision: 2, ModRevision: 3, Version: 4, Value: []byte("v"), Lease: 5}
	evs := []*Event{
		{Type: EventTypePut, Kv: full, PrevKv: &mvccpb.KeyValue{Key: []byte("k"), Value: []byte{}, ModRevision: 1}},
		{Type: EventTypeDelete, Kv: &mvccpb.KeyValue{Key: []byte("j"), ModRevision: 3}},
	}
	cp := copyEvents(evs)
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

	h := &pb.ResponseHeader{ClusterId: 1, MemberId: 2, Revision: 3, RaftTerm: 4}
	if hc := copyHeader(h); hc == h || !proto.Equal(hc, h) {
		t.Errorf("header copied as %v (same object: %v); want an equal one of its own", hc, hc == h)
	}
}
