// Package mirror copies the keys under a prefix of an etcd cluster: first
// the state at one revision, page by page, then every change after it.
package mirror

import (
	"context"
	"sync/atomic"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// batchLimit is the number of keys SyncBase reads per request.
const batchLimit = 1000

// Syncer copies the key-value state under a prefix.
type Syncer interface {
	// SyncBase reads the state under the prefix at one revision (the
	// syncer's, or the current one if it has none yet) and sends it, a
	// page at a time, on the returned response channel. Both channels
	// close when it is done; a failure is sent on the error channel
	// first.
	SyncBase(ctx context.Context) (<-chan *clientv3.GetResponse, chan error)
	// SyncUpdates watches the prefix for every change after the base
	// revision. Call it once SyncBase has returned, which fixes that
	// revision.
	SyncUpdates(ctx context.Context) clientv3.WatchChan
}

type syncer struct {
	c      *clientv3.Client
	prefix string
	rev    atomic.Int64
}

// NewSyncer returns a Syncer of the keys under prefix (all keys if it is
// empty) as of revision rev, or, if rev is 0, as of the current revision
// when SyncBase is first called.
func NewSyncer(c *clientv3.Client, prefix string, rev int64) Syncer {
	s := &syncer{c: c, prefix: prefix}
	s.rev.Store(rev)
	return s
}

// keyRange returns the first key and the range end covering the prefix.
func (s *syncer) keyRange() (key, end string) {
	if s.prefix == "" {
		return "\x00", "\x00"
	}
	return s.prefix, clientv3.GetPrefixRangeEnd(s.prefix)
}

// SyncBase fixes the base revision before it returns: with none given, it
// reads the current revision here, synchronously (a plain Get of the
// prefix, or of "foo" for the whole key space, as the official syncer
// does), so that SyncUpdates may be called as soon as SyncBase returns. If
// that read fails, its error is sent and both channels are closed before
// SyncBase returns.
func (s *syncer) SyncBase(ctx context.Context) (<-chan *clientv3.GetResponse, chan error) {
	respc := make(chan *clientv3.GetResponse, 1024)
	errc := make(chan error, 1)
	if s.rev.Load() == 0 {
		probe := s.prefix
		if probe == "" {
			probe = "foo"
		}
		resp, err := s.c.Get(ctx, probe)
		if err != nil {
			errc <- err
			close(respc)
			close(errc)
			return respc, errc
		}
		s.rev.CompareAndSwap(0, resp.Header.Revision)
	}
	rev := s.rev.Load()
	go func() {
		defer close(respc)
		defer close(errc)
		key, end := s.keyRange()
		// Every page is read at the base revision, so the pages together
		// are one consistent state even while the keys change.
		opts := []clientv3.OpOption{
			clientv3.WithRange(end), clientv3.WithLimit(batchLimit), clientv3.WithRev(rev),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend),
		}
		for {
			resp, err := s.c.Get(ctx, key, opts...)
			if err != nil {
				errc <- err
				return
			}
			select {
			case respc <- resp:
			case <-ctx.Done():
				errc <- ctx.Err()
				return
			}
			if !resp.More || len(resp.Kvs) == 0 {
				return
			}
			key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		}
	}()
	return respc, errc
}

func (s *syncer) SyncUpdates(ctx context.Context) clientv3.WatchChan {
	rev := s.rev.Load()
	if rev == 0 {
		// The official client panics here; a canceled watch carrying
		// the reason is easier to live with.
		ch := make(chan clientv3.WatchResponse, 1)
		ch <- clientv3.WatchResponse{
			Canceled:     true,
			CancelReason: "mirror: SyncUpdates called before SyncBase set the base revision",
		}
		close(ch)
		return ch
	}
	key, end := s.keyRange()
	return s.c.Watch(ctx, key, clientv3.WithRange(end), clientv3.WithRev(rev+1))
}
