package main

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/paging"
)

// Hand-written, not generated: etcdkit's paged reader, which the official
// client has no counterpart of, so it cannot come from the official adapter
// as the rest of etcdkitV3 does (the hand-written loop, GetPrefixPaged,
// does, and is the official client's path).

var _ pagedReader = (*etcdkitV3)(nil)

// RangePaged reads every key under prefix with paging.Range, pageSize keys
// at a time at one revision, and returns their number.
func (c *etcdkitV3) RangePaged(ctx context.Context, prefix string, pageSize int64) (int, error) {
	n := 0
	for _, err := range paging.Range(ctx, c.cli, prefix, pageSize, clientv3.WithPrefix()) {
		if err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
