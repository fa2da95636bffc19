package paging

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"go.etcd.io/etcd/api/v3/mvccpb"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// ErrBadOptions is reported (wrapped) for options a paged read cannot honour:
// sorting, which would need the whole range, and count-only.
var ErrBadOptions = errors.New("paging: option not supported")

// Range returns an iterator over the keys that Get(ctx, key, opts...) would
// return, read pageSize keys at a time in key order. Every page is read at
// one revision: the one of WithRev, or else the first page's. WithLimit caps
// the whole read; WithPrefix, WithRange, WithFromKey, WithSerializable,
// WithKeysOnly and the revision filters apply to every page. Sort and
// count-only options are refused with an error wrapping ErrBadOptions.
//
// An error ends the iteration: it is yielded once, with a nil key-value.
// When the revision has been compacted between pages, that error is
// rpctypes.ErrCompacted (errors.Is works; so does ==). The iterator holds at
// most one page; breaking out of the loop stops the reads. A key-value is
// the caller's to keep.
func Range(ctx context.Context, kv clientv3.KV, key string, pageSize int64, opts ...clientv3.OpOption) iter.Seq2[*mvccpb.KeyValue, error] {
	return func(yield func(*mvccpb.KeyValue, error) bool) {
		p, err := newPager(key, pageSize, opts)
		if err != nil {
			yield(nil, err)
			return
		}
		for p.more() {
			kvs, err := p.next(ctx, kv)
			if err != nil {
				yield(nil, err)
				return
			}
			for i, kv := range kvs {
				kvs[i] = nil // the page is let go key by key
				if !yield(kv, nil) {
					return
				}
			}
		}
	}
}

// pager tracks where a paged read stands.
type pager struct {
	from string // the next page's first key
	end  string // the range's end; "" for one key
	opts []clientv3.OpOption
	size int64
	// capped is set when the caller's WithLimit caps the read; left is
	// how many keys it may still return.
	capped bool
	left   int64
	rev    int64 // the revision every page is read at; 0 until known
	done   bool
}

func newPager(key string, pageSize int64, opts []clientv3.OpOption) (*pager, error) {
	if pageSize <= 0 {
		return nil, fmt.Errorf("%w: pageSize %d: want a positive size", ErrBadOptions, pageSize)
	}
	op := clientv3.OpGet(key, opts...)
	if op.IsSortSet() || op.IsCountOnly() {
		return nil, fmt.Errorf("%w: sorting and count-only: pages are read in key order", ErrBadOptions)
	}
	return &pager{
		from: string(op.KeyBytes()), end: string(op.RangeBytes()), opts: opts,
		size: pageSize, capped: op.Limit() > 0, left: op.Limit(), rev: op.Rev(),
	}, nil
}

func (p *pager) more() bool { return !p.done }

// next reads the next page and moves past it.
func (p *pager) next(ctx context.Context, kv clientv3.KV) ([]*mvccpb.KeyValue, error) {
	limit := p.size
	if p.capped {
		limit = min(limit, p.left)
	}
	// The caller's options first, so that these override their range,
	// revision and limit.
	opts := make([]clientv3.OpOption, 0, len(p.opts)+3)
	opts = append(opts, p.opts...)
	opts = append(opts, clientv3.WithLimit(limit), clientv3.WithRev(p.rev))
	if p.end != "" {
		opts = append(opts, clientv3.WithRange(p.end))
	}
	resp, err := kv.Get(ctx, p.from, opts...)
	if err != nil {
		return nil, err
	}
	if p.rev == 0 {
		p.rev = resp.Header.Revision
	}
	kvs := resp.Kvs
	p.left -= int64(len(kvs))
	p.done = !resp.More || len(kvs) == 0 || (p.capped && p.left <= 0)
	if n := len(kvs); n > 0 {
		p.from = string(kvs[n-1].Key) + "\x00"
	}
	return kvs, nil
}
