package recipe

import (
	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// DoubleBarrier lets a fixed number of processes start and finish a
// computation together: Enter blocks until count processes have entered,
// Leave until all of them have left. Each process enters with a key bound
// to its session, so a crashed process leaves by itself.
type DoubleBarrier struct {
	s     *concurrency.Session
	key   string
	count int
	myKey *EphemeralKV
}

// NewDoubleBarrier returns a double barrier on key for count processes.
func NewDoubleBarrier(s *concurrency.Session, key string, count int) *DoubleBarrier {
	return &DoubleBarrier{s: s, key: key, count: count}
}

func (b *DoubleBarrier) waitersPrefix() string { return b.key + "/waiters" }
func (b *DoubleBarrier) readyKey() string      { return b.key + "/ready" }

// Enter registers this process and blocks until count processes have. It
// fails with ErrTooManyClients if count processes are already in.
func (b *DoubleBarrier) Enter() error {
	client := b.s.Client()
	ctx := client.Ctx()
	ek, err := newUniqueEphemeralKey(b.s, b.waitersPrefix())
	if err != nil {
		return err
	}
	b.myKey = ek

	resp, err := client.Get(ctx, b.waitersPrefix()+"/", v3.WithPrefix(), v3.WithKeysOnly())
	if err != nil {
		return err
	}
	if len(resp.Kvs) > b.count {
		ek.Delete()
		b.myKey = nil
		return ErrTooManyClients
	}
	if len(resp.Kvs) == b.count {
		// Last to arrive: tell everyone. The ready key is bound to the
		// session too, so a crash here cannot block the next round.
		_, err := client.Put(ctx, b.readyKey(), "", v3.WithLease(b.s.Lease()))
		return err
	}
	_, err = WaitEvents(client, b.readyKey(), resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.PUT})
	return err
}

// Leave deregisters this process and blocks until every process has left.
// The process that entered first leaves last and lowers the barrier for
// the next round.
func (b *DoubleBarrier) Leave() error {
	client := b.s.Client()
	ctx := client.Ctx()
	for {
		resp, err := client.Get(ctx, b.waitersPrefix()+"/", v3.WithPrefix(), v3.WithKeysOnly(),
			v3.WithSort(v3.SortByCreateRevision, v3.SortAscend))
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 {
			return nil
		}
		lowest, highest := resp.Kvs[0], resp.Kvs[len(resp.Kvs)-1]
		mine := b.myKey != nil && string(lowest.Key) == b.myKey.Key()

		if mine && len(resp.Kvs) == 1 {
			_, err := client.Txn(ctx).Then(v3.OpDelete(b.myKey.Key()), v3.OpDelete(b.readyKey())).Commit()
			if err == nil {
				b.myKey = nil
			}
			return err
		}
		if mine {
			// The first to enter leaves last: wait for the others,
			// newest first.
			if _, err := WaitEvents(client, string(highest.Key), resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.DELETE}); err != nil {
				return err
			}
			continue
		}
		if b.myKey != nil {
			if err := b.myKey.Delete(); err != nil {
				return err
			}
			b.myKey = nil
		}
		_, err = WaitEvents(client, string(lowest.Key), resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.DELETE})
		return err
	}
}
