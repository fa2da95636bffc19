package leasing

import (
	"bytes"
	"cmp"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// txnFromCache answers a transaction from the cache, as the official
// leasing KV does, when every comparison looks at one cached key and the
// branch the comparisons choose only reads cached keys, one key each at
// the latest revision. Since we hold the lease of each of those keys,
// their cached states are current: the answer is the one etcd would give
// at the newest revision the cache has seen, whose header it carries.
// A transaction that looks at no key at all (no comparison, an empty
// branch) is answered with that header too, as the official cache does:
// sending it to etcd would make it wait for a cluster the cache otherwise
// does without. It returns nil for a transaction that must go to etcd.
func (lkv *leasingKV) txnFromCache(cmps []v3.Cmp, thenOps, elseOps []v3.Op) *v3.TxnResponse {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	if lkv.hdr == nil {
		return nil
	}
	if len(cmps) == 0 && len(thenOps) == 0 {
		return &v3.TxnResponse{Header: copyHeader(lkv.hdr), Succeeded: true}
	}
	if lkv.leaseLocked() == v3.NoLease {
		return nil
	}
	cachedState := func(key []byte) (*mvccpb.KeyValue, bool) {
		e := lkv.entries[string(key)]
		if e == nil || !e.cached {
			return nil, false
		}
		return e.kv, true
	}
	succeeded := true
	for i := range cmps {
		c := cmps[i].GetCompare()
		if len(c.RangeEnd) > 0 {
			return nil
		}
		kv, ok := cachedState(c.Key)
		if !ok {
			return nil
		}
		if !compareState(c, kv) {
			succeeded = false
		}
	}
	ops := thenOps
	if !succeeded {
		ops = elseOps
	}
	// Like etcd, the responses nested in a transaction's carry only the
	// revision in their headers.
	inner := &pb.ResponseHeader{Revision: lkv.hdr.Revision}
	resps := make([]*pb.ResponseOp, len(ops))
	for i, op := range ops {
		if !op.IsGet() || op.Rev() != 0 || len(op.RangeBytes()) > 0 {
			return nil
		}
		kv, ok := cachedState(op.KeyBytes())
		if !ok {
			return nil
		}
		get := view(kv, inner, op)
		resps[i] = &pb.ResponseOp{Response: &pb.ResponseOp_ResponseRange{ResponseRange: (*pb.RangeResponse)(get)}}
	}
	return &v3.TxnResponse{Header: copyHeader(lkv.hdr), Succeeded: succeeded, Responses: resps}
}

// compareState evaluates comparison c against a key whose state is kv
// (nil: absent) as etcd does: a missing key fails every value comparison
// and has zero revisions, version and lease.
func compareState(c *pb.Compare, kv *mvccpb.KeyValue) bool {
	if kv == nil {
		if c.Target == pb.Compare_VALUE {
			return false
		}
		kv = &mvccpb.KeyValue{}
	}
	var r int
	switch c.Target {
	case pb.Compare_VALUE:
		r = bytes.Compare(kv.Value, c.GetValue())
	case pb.Compare_CREATE:
		r = cmp.Compare(kv.CreateRevision, c.GetCreateRevision())
	case pb.Compare_MOD:
		r = cmp.Compare(kv.ModRevision, c.GetModRevision())
	case pb.Compare_VERSION:
		r = cmp.Compare(kv.Version, c.GetVersion())
	case pb.Compare_LEASE:
		r = cmp.Compare(kv.Lease, c.GetLease())
	}
	switch c.Result {
	case pb.Compare_EQUAL:
		return r == 0
	case pb.Compare_NOT_EQUAL:
		return r != 0
	case pb.Compare_GREATER:
		return r > 0
	case pb.Compare_LESS:
		return r < 0
	}
	return true
}
