package recipe

import (
	"errors"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// RWMutex is a reader/writer lock held by a session: any number of
// readers, or one writer. Requests are served in the order they were
// made, so a waiting writer holds back later readers.
//
// A reader queues with the key prefix/read/<unique>, a writer with
// prefix/write/<unique>, both bound to the session: the official
// client's keys, so processes using either client share a lock.
type RWMutex struct {
	s     *concurrency.Session
	pfx   string // the lock's prefix followed by "/"
	myKey *EphemeralKV
}

// errNeverLocked is returned by RUnlock and Unlock of a lock that never
// queued a key: the official client panics there.
var errNeverLocked = errors.New("recipe: unlock of an RWMutex that was never locked")

// NewRWMutex returns a reader/writer lock on prefix for session s.
func NewRWMutex(s *concurrency.Session, prefix string) *RWMutex {
	return &RWMutex{s: s, pfx: prefix + "/"}
}

// RLock takes the lock for reading: it waits until no key under
// prefix/write was last modified before its own.
func (rwm *RWMutex) RLock() error {
	return rwm.acquire(rwm.pfx+"read", rwm.pfx+"write")
}

// Lock takes the lock for writing: it waits until no key under the lock's
// prefix was last modified before its own.
func (rwm *RWMutex) Lock() error {
	return rwm.acquire(rwm.pfx+"write", rwm.pfx)
}

// acquire queues a key under queue and waits for the keys under blockers
// that are older than it, newest first, to be deleted.
//
// Two things differ from the official client, both to keep a failure
// from passing for a lock (see docs/COMPATIBILITY.md). If a request
// fails, acquire deletes its key before returning the error: left in
// place, the key would block every later request of the lock, including
// this session's own retry, until the session ends. And once no older
// key is left, acquire checks that its own key is still there: if the
// session's lease expired meanwhile it is gone, another process may hold
// the lock, and acquire reports concurrency.ErrSessionExpired where the
// official client returns nil.
func (rwm *RWMutex) acquire(queue, blockers string) error {
	ek, err := newUniqueEphemeralKey(rwm.s, queue)
	if err != nil {
		return err
	}
	rwm.myKey = ek
	client := rwm.s.Client()
	ctx := client.Ctx()
	for {
		resp, err := client.Get(ctx, blockers, append(v3.WithLastRev(), v3.WithMaxModRev(ek.Revision()-1))...)
		if err != nil {
			_ = ek.Delete()
			return err
		}
		if len(resp.Kvs) == 0 {
			break
		}
		// The blocker existed at the read's revision, so its deletion
		// comes after it; watching from there rather than from this
		// key's revision keeps a compaction from ending every watch at
		// once (the official client then polls without waiting). A
		// watch that ends without the deletion just reads again.
		if _, err := WaitEvents(client, string(resp.Kvs[0].Key), resp.Header.Revision+1, []mvccpb.Event_EventType{mvccpb.DELETE}); err != nil {
			_ = ek.Delete()
			return err
		}
	}
	resp, err := client.Get(ctx, ek.Key(), v3.WithKeysOnly())
	if err != nil {
		_ = ek.Delete()
		return err
	}
	if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision != ek.Revision() {
		// The key is gone already; a later unlock has nothing to delete.
		ek.kv = nil
		return concurrency.ErrSessionExpired
	}
	return nil
}

func (rwm *RWMutex) release() error {
	if rwm.myKey == nil {
		return errNeverLocked
	}
	return rwm.myKey.Delete()
}

// RUnlock releases a read lock. Once the key is deleted (by an earlier
// unlock, or by a failed RLock), it does nothing and returns nil.
func (rwm *RWMutex) RUnlock() error { return rwm.release() }

// Unlock releases a write lock. Once the key is deleted (by an earlier
// unlock, or by a failed Lock), it does nothing and returns nil.
func (rwm *RWMutex) Unlock() error { return rwm.release() }
