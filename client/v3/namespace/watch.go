package namespace

import (
	"context"
	"sync"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

type watcherPrefix struct {
	clientv3.Watcher
	pfx string

	// relays counts the goroutines copying responses to callers; stop
	// tells them, once Close has closed the wrapped watcher, to drop what
	// they hold instead of waiting for a reader.
	relays   sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

// NewWatcher returns a Watcher that watches keys under prefix: the watched
// key and range end get the prefix, and the keys of delivered events (and
// of their previous key-values) lose it.
func NewWatcher(w clientv3.Watcher, prefix string) clientv3.Watcher {
	return &watcherPrefix{Watcher: w, pfx: prefix, stop: make(chan struct{})}
}

func (w *watcherPrefix) Watch(ctx context.Context, key string, opts ...clientv3.OpOption) clientv3.WatchChan {
	// The options are applied again by the inner watcher to the prefixed
	// key; only the range end needs fixing afterwards, because "to the
	// end of the keyspace" must become "to the end of the namespace".
	op := clientv3.OpWatch(key, opts...)
	if end := op.RangeBytes(); len(end) > 0 {
		opts = append(append([]clientv3.OpOption(nil), opts...), clientv3.WithRange(string(rangeEnd(w.pfx, end))))
	}
	inner := w.Watcher.Watch(ctx, w.pfx+key, opts...)

	out := make(chan clientv3.WatchResponse)
	w.relays.Add(1)
	go func() {
		defer w.relays.Done()
		defer close(out)
		for wr := range inner {
			if len(wr.Events) > 0 {
				evs := make([]*clientv3.Event, len(wr.Events))
				for i, ev := range wr.Events {
					evs[i] = &mvccpb.Event{
						Type:   ev.Type,
						Kv:     trimmedKV(w.pfx, ev.Kv),
						PrevKv: trimmedKV(w.pfx, ev.PrevKv),
					}
				}
				wr.Events = evs
			}
			select {
			case out <- wr:
			case <-w.stop:
				return
			case <-ctx.Done():
				// Nobody reads any more; the inner channel closes
				// because it watches the same ctx.
				for range inner {
				}
				return
			}
		}
	}()
	return out
}

// Close closes the wrapped watcher and then, as the official wrapper does,
// drops every response not yet taken by a reader and closes every channel
// Watch returned; it returns once they are all closed, with the wrapped
// watcher's error.
func (w *watcherPrefix) Close() error {
	err := w.Watcher.Close()
	w.stopOnce.Do(func() { close(w.stop) })
	w.relays.Wait()
	return err
}
