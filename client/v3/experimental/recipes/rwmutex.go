package recipe

import (
	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// RWMutex is a reader/writer lock held by a session: any number of
// readers, or one writer. Requests are served in the order they were
// made, so a waiting writer holds back later readers.
type RWMutex struct {
	s     *concurrency.Session
	pfx   string
	myKey *EphemeralKV
}

// NewRWMutex returns a reader/writer lock on prefix for session s.
func NewRWMutex(s *concurrency.Session, prefix string) *RWMutex {
	return &RWMutex{s: s, pfx: prefix + "/"}
}

// RLock takes the lock for reading: it waits for every writer that asked
// before it.
func (rwm *RWMutex) RLock() error {
	return rwm.acquire(rwm.pfx+"read", rwm.pfx+"write/")
}

// Lock takes the lock for writing: it waits for every reader and writer
// that asked before it.
func (rwm *RWMutex) Lock() error {
	return rwm.acquire(rwm.pfx+"write", rwm.pfx)
}

// acquire queues a key under queue and waits until no key under blockers
// was created before it. If the session ends meanwhile, the key is gone
// and acquire reports concurrency.ErrSessionExpired rather than a lock it
// does not hold.
func (rwm *RWMutex) acquire(queue, blockers string) error {
	ek, err := newUniqueEphemeralKey(rwm.s, queue)
	if err != nil {
		return err
	}
	rwm.myKey = ek
	client := rwm.s.Client()
	ctx := client.Ctx()
	for {
		resp, err := client.Get(ctx, blockers, append(v3.WithLastCreate(), v3.WithMaxCreateRev(ek.Revision()-1))...)
		if err != nil {
			rwm.release()
			return err
		}
		if len(resp.Kvs) == 0 {
			break
		}
		if _, err := WaitEvents(client, string(resp.Kvs[0].Key), resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.DELETE}); err != nil {
			rwm.release()
			return err
		}
	}
	resp, err := client.Get(ctx, ek.Key(), v3.WithKeysOnly())
	if err != nil {
		rwm.release()
		return err
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != ek.Revision() {
		rwm.myKey = nil
		return concurrency.ErrSessionExpired
	}
	return nil
}

func (rwm *RWMutex) release() error {
	if rwm.myKey == nil {
		return nil
	}
	err := rwm.myKey.Delete()
	rwm.myKey = nil
	return err
}

// RUnlock releases a read lock.
func (rwm *RWMutex) RUnlock() error { return rwm.release() }

// Unlock releases a write lock.
func (rwm *RWMutex) Unlock() error { return rwm.release() }
