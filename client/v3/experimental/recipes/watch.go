package recipe

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// WaitEvents watches key from revision rev until it has seen events of
// the types in evs, in that order (other events in between are skipped),
// and returns the last of them.
func WaitEvents(c *clientv3.Client, key string, rev int64, evs []mvccpb.Event_EventType) (*clientv3.Event, error) {
	return waitEvents(c, key, rev, evs)
}

// WaitPrefixEvents is WaitEvents for every key under prefix.
func WaitPrefixEvents(c *clientv3.Client, prefix string, rev int64, evs []mvccpb.Event_EventType) (*clientv3.Event, error) {
	return waitEvents(c, prefix, rev, evs, clientv3.WithPrefix())
}

func waitEvents(c *clientv3.Client, key string, rev int64, evs []mvccpb.Event_EventType, opts ...clientv3.OpOption) (*clientv3.Event, error) {
	if len(evs) == 0 {
		return nil, ErrWaitMismatch
	}
	ctx, cancel := context.WithCancel(c.Ctx())
	defer cancel()
	wc := c.Watch(ctx, key, append(opts, clientv3.WithRev(rev))...)
	i := 0
	for wr := range wc {
		if err := wr.Err(); err != nil {
			return nil, err
		}
		for _, ev := range wr.Events {
			if ev.Type != evs[i] {
				continue
			}
			i++
			if i == len(evs) {
				return ev, nil
			}
		}
	}
	return nil, ErrNoWatcher
}
