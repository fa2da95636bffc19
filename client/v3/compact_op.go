package clientv3

import pb "go.etcd.io/etcd/api/v3/etcdserverpb"

// CompactOp is a compaction request built from CompactOptions.
type CompactOp struct {
	revision int64
	physical bool
}

// CompactOption configures a CompactOp.
type CompactOption func(*CompactOp)

// OpCompact builds a CompactOp that compacts history before rev.
func OpCompact(rev int64, opts ...CompactOption) CompactOp {
	op := CompactOp{revision: rev}
	for _, o := range opts {
		if o != nil {
			o(&op)
		}
	}
	return op
}

func (op CompactOp) toRequest() *pb.CompactionRequest {
	return &pb.CompactionRequest{Revision: op.revision, Physical: op.physical}
}

// WithCompactPhysical makes Compact return only after the compacted
// entries have been removed from the server's backend storage.
func WithCompactPhysical() CompactOption {
	return func(op *CompactOp) { op.physical = true }
}
