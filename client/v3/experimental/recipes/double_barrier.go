package recipe

import (
	"errors"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// DoubleBarrier lets a fixed number of processes start and finish a
// computation together: Enter blocks until count processes have entered,
// Leave until all of them have left.
//
// Each process enters with a key key/waiters/<unique> bound to its
// session, so a crashed process leaves by itself; the count-th to enter
// (by creation revision) puts key/ready, which lets the others in. The
// keys, leases and order of requests are the official client's, so
// processes using either client can share one barrier.
type DoubleBarrier struct {
	s     *concurrency.Session
	key   string
	count int
	myKey *EphemeralKV
}

// errLeaveWithoutEnter is returned by Leave when this barrier never
// created a key yet others are in: the official client panics there.
var errLeaveWithoutEnter = errors.New("recipe: Leave of a DoubleBarrier that never entered")

// NewDoubleBarrier returns a double barrier on key for count processes.
func NewDoubleBarrier(s *concurrency.Session, key string, count int) *DoubleBarrier {
	return &DoubleBarrier{s: s, key: key, count: count}
}

func (b *DoubleBarrier) waitersPrefix() string { return b.key + "/waiters" }
func (b *DoubleBarrier) readyKey() string      { return b.key + "/ready" }

// waiters returns the keys of the processes in the barrier, first entered
// first.
func (b *DoubleBarrier) waiters() (*v3.GetResponse, error) {
	client := b.s.Client()
	return client.Get(client.Ctx(), b.waitersPrefix(), v3.WithPrefix(),
		v3.WithSort(v3.SortByCreateRevision, v3.SortAscend))
}

// Enter registers this process and blocks until count processes have.
//
// It fails with ErrTooManyClients if count processes are already in
// before it registers, or if count others registered before it did (its
// key is then deleted again). Of any number of processes entering at
// once, the first count by creation revision get in: the count-th puts
// the ready key, without a lease, so that the others see it even if it
// then ends. If the watch for the ready key ends (the client is closed),
// Enter returns nil, as the official client does.
func (b *DoubleBarrier) Enter() error {
	client := b.s.Client()
	resp, err := b.waiters()
	if err != nil {
		return err
	}
	if len(resp.Kvs) >= b.count {
		return ErrTooManyClients
	}

	ek, err := newUniqueEphemeralKey(b.s, b.waitersPrefix())
	if err != nil {
		return err
	}
	b.myKey = ek

	if resp, err = b.waiters(); err != nil {
		return err
	}
	if len(resp.Kvs) >= b.count {
		last := resp.Kvs[b.count-1].CreateRevision
		switch {
		case ek.Revision() > last:
			// Too late. Deleting the key now spares the others a wait
			// for the lease; if that fails, the lease removes it.
			_ = ek.Delete()
			return ErrTooManyClients
		case ek.Revision() == last:
			_, err := client.Put(client.Ctx(), b.readyKey(), "")
			return err
		}
	}
	// The ready key may be put between this key's creation and now, so
	// the watch starts at the creation.
	_, err = WaitEvents(client, b.readyKey(), ek.Revision(), []mvccpb.Event_EventType{mvccpb.PUT})
	return err
}

// Leave deregisters this process and blocks until every process has left.
//
// The process with the oldest key leaves last: it waits for the newest
// key to go, again and again, and when it is alone deletes the ready key
// and then its own. Every other process deletes its key and waits for the
// oldest one to go, then looks again, as the official client does: it
// returns once no key is left, or waits on the keys of a round that has
// begun meanwhile. Leave without keys in the barrier returns nil.
func (b *DoubleBarrier) Leave() error {
	client := b.s.Client()
	ctx := client.Ctx()
	for {
		resp, err := client.Get(ctx, b.waitersPrefix(), v3.WithPrefix())
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		if b.myKey == nil {
			return errLeaveWithoutEnter
		}
		lowest, highest := resp.Kvs[0], resp.Kvs[0]
		for _, kv := range resp.Kvs[1:] {
			if kv.ModRevision < lowest.ModRevision {
				lowest = kv
			}
			if kv.ModRevision > highest.ModRevision {
				highest = kv
			}
		}
		isLowest := string(lowest.Key) == b.myKey.Key()

		if isLowest && len(resp.Kvs) == 1 {
			if _, err := client.Delete(ctx, b.readyKey()); err != nil {
				return err
			}
			return b.myKey.Delete()
		}
		wait := highest
		if !isLowest {
			if err := b.myKey.Delete(); err != nil {
				return err
			}
			wait = lowest
		}
		// The key existed at the read's revision, so its deletion comes
		// after it; watching from there rather than from the key's
		// revision keeps a compaction from ending every watch at once
		// (the official client then loops without waiting).
		if _, err := WaitEvents(client, string(wait.Key), resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.DELETE}); err != nil {
			return err
		}
	}
}
