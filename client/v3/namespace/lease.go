package namespace

import (
	"bytes"
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

type leasePrefix struct {
	clientv3.Lease
	pfx []byte
}

// NewLease returns a Lease whose TimeToLive lists, of the keys attached to
// a lease, only those under prefix, with the prefix removed. Everything
// else passes through: leases themselves are not namespaced.
func NewLease(l clientv3.Lease, prefix string) clientv3.Lease {
	return &leasePrefix{Lease: l, pfx: []byte(prefix)}
}

func (l *leasePrefix) TimeToLive(ctx context.Context, id clientv3.LeaseID, opts ...clientv3.LeaseOption) (*clientv3.LeaseTimeToLiveResponse, error) {
	resp, err := l.Lease.TimeToLive(ctx, id, opts...)
	if err != nil {
		return nil, err
	}
	if len(resp.Keys) > 0 {
		// Nil, not empty, when none is in the namespace, as the
		// official wrapper leaves it.
		var keys [][]byte
		for _, k := range resp.Keys {
			if bytes.HasPrefix(k, l.pfx) {
				keys = append(keys, k[len(l.pfx):])
			}
		}
		resp.Keys = keys
	}
	return resp, nil
}
