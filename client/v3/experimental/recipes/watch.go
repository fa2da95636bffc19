package recipe

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// WaitEvents watches key from revision rev until it has seen events of
// the types in evs, in that order (other events in between are skipped),
// and returns the last of them.
//
// If the watch ends first (the client is closed, the revision is
// compacted, the server cancels the watch), WaitEvents returns nil and a
// nil error, as the official client does: callers that need the event
// must check for nil. An empty evs fails with ErrWaitMismatch, where the
// official client panics on the first event.
func WaitEvents(c *clientv3.Client, key string, rev int64, evs []mvccpb.Event_EventType) (*clientv3.Event, error) {
	return ignoreEnd(watchFor(c, key, rev, evs))
}

// WaitPrefixEvents is WaitEvents for every key under prefix.
func WaitPrefixEvents(c *clientv3.Client, prefix string, rev int64, evs []mvccpb.Event_EventType) (*clientv3.Event, error) {
	return ignoreEnd(watchFor(c, prefix, rev, evs, clientv3.WithPrefix()))
}

// ignoreEnd drops the reason a watch ended without a match, keeping only
// the refusal of an empty sequence.
func ignoreEnd(ev *clientv3.Event, err error) (*clientv3.Event, error) {
	if err == ErrWaitMismatch {
		return nil, err
	}
	return ev, nil
}

// watchFor is WaitEvents that, if the watch ends before the sequence is
// matched, says why: the watch's error, else the client's, else
// ErrNoWatcher. Callers that cannot go on without the event (the
// official ones panic) report it.
func watchFor(c *clientv3.Client, key string, rev int64, evs []mvccpb.Event_EventType, opts ...clientv3.OpOption) (*clientv3.Event, error) {
	if len(evs) == 0 {
		return nil, ErrWaitMismatch
	}
	ctx, cancel := context.WithCancel(c.Ctx())
	defer cancel()
	var end error
	i := 0
	for wr := range c.Watch(ctx, key, append(opts, clientv3.WithRev(rev))...) {
		if err := wr.Err(); err != nil {
			end = err
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
	if end == nil {
		end = c.Ctx().Err()
	}
	if end == nil {
		end = ErrNoWatcher
	}
	return nil, end
}
