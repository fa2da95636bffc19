package concurrency

import (
	"context"
	"errors"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// errWatchLost reports a watch that ended although nobody canceled it.
var errWatchLost = errors.New("concurrency: watch ended while waiting for a key's deletion")

// waitDeletes blocks until no key under pfx has a creation revision at or
// below maxCreateRev, that is until every contender queued ahead of the
// caller is gone. It returns the header of the read that saw the queue
// empty. It gives up with ErrSessionExpired when lost closes: a
// waiter whose lease is gone can never own what it waits for.
func waitDeletes(ctx context.Context, client *v3.Client, pfx string, maxCreateRev int64, lost <-chan struct{}) (*pb.ResponseHeader, error) {
	opts := append(v3.WithLastCreate(), v3.WithMaxCreateRev(maxCreateRev))
	for {
		select {
		case <-lost:
			return nil, ErrSessionExpired
		default:
		}
		resp, err := client.Get(ctx, pfx, opts...)
		if err != nil {
			return nil, err
		}
		if len(resp.Kvs) == 0 {
			return resp.Header, nil
		}
		// Waiting on the newest predecessor only: older ones must go
		// before it can win anyway, and this avoids a thundering herd.
		if err := waitDelete(ctx, client, string(resp.Kvs[0].Key), resp.Header.Revision, lost); err != nil {
			return nil, err
		}
	}
}

// waitDelete blocks until key is deleted after revision rev. A compacted
// watch returns nil so that the caller reads the current state again.
func waitDelete(ctx context.Context, client *v3.Client, key string, rev int64, lost <-chan struct{}) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch := client.Watch(wctx, key, v3.WithRev(rev+1))
	for {
		select {
		case wr, ok := <-wch:
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return errWatchLost
			}
			if wr.CompactRevision != 0 {
				return nil
			}
			if err := wr.Err(); err != nil {
				return err
			}
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.DELETE {
					return nil
				}
			}
		case <-lost:
			return ErrSessionExpired
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// sessionLost reports whether s's lease is gone or no longer renewed
// (see Session.lost).
func sessionLost(s *Session) bool {
	select {
	case <-s.lost():
		return true
	default:
		return false
	}
}
