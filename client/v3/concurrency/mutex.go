package concurrency

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Errors of Mutex.
var (
	// ErrLocked is returned by TryLock when another session holds the
	// lock.
	ErrLocked = errors.New("mutex: Locked by another session")
	// ErrSessionExpired is returned when the session's lease ended
	// before the lock (or leadership) could be confirmed.
	ErrSessionExpired = errors.New("mutex: session is expired")
	// ErrLockReleased is returned by Unlock for a mutex not held.
	ErrLockReleased = errors.New("mutex: lock has already been released")
)

// releasedKey marks a mutex whose lock was released; no real lock key
// can have this name.
const releasedKey = "\x00"

// cleanupTimeout bounds the best-effort removal of a waiter's key after a
// failed Lock or Campaign.
const cleanupTimeout = 5 * time.Second

// Mutex is a distributed lock held by a session. Contenders queue in
// order of the creation revision of their keys under the mutex's prefix.
// A Mutex value is used by one goroutine at a time.
type Mutex struct {
	s *Session

	pfx   string
	myKey string
	myRev int64
	hdr   *pb.ResponseHeader

	// unreleased is the key of an Unlock that failed: its delete may still
	// be applied, late (see release).
	unreleased release
}

// NewMutex returns a mutex on prefix pfx for session s.
func NewMutex(s *Session, pfx string) *Mutex {
	return &Mutex{s: s, pfx: pfx + "/", myRev: -1}
}

// TryLock takes the lock if no other session holds it, and otherwise
// returns ErrLocked at once, after removing the key it queued with.
func (m *Mutex) TryLock(ctx context.Context) error {
	floor := m.s.seenRev.Load()
	resp, created, err := m.tryAcquire(ctx)
	if err != nil {
		m.abandonUnknown(ctx, floor)
		return err
	}
	if m.ownsIn(resp) {
		m.hdr = resp.Header
		return nil
	}
	if created {
		if err := m.release(ctx, release{key: m.myKey, rev: m.myRev}); err != nil {
			return err
		}
	}
	m.myKey, m.myRev = releasedKey, -1
	return ErrLocked
}

// Lock blocks until the lock is taken, ctx ends, or the session's lease is
// lost (an orphaned session's lease lives on, and its place in the queue
// with it).
// Before reporting success after a wait it confirms that its key still
// exists: if the session's lease expired meanwhile (for example while the
// process was paused), the key is gone, someone else may hold the lock,
// and Lock returns ErrSessionExpired. On failure Lock removes the key it
// queued with.
func (m *Mutex) Lock(ctx context.Context) error {
	floor := m.s.seenRev.Load()
	resp, created, err := m.tryAcquire(ctx)
	if err != nil {
		m.abandonUnknown(ctx, floor)
		return err
	}
	if m.ownsIn(resp) {
		m.hdr = resp.Header
		return nil
	}

	client := m.s.Client()
	if _, err := waitDeletes(ctx, client, m.pfx, m.myRev-1, m.s.lost()); err != nil {
		m.abandon(created, m.myRev)
		return err
	}
	gresp, err := client.Get(ctx, m.myKey)
	if err != nil {
		m.abandon(created, m.myRev)
		return err
	}
	if len(gresp.Kvs) == 0 || gresp.Kvs[0].CreateRevision != m.myRev {
		// The key and revision stay, as the official client leaves them:
		// an Unlock then deletes nothing and succeeds.
		return ErrSessionExpired
	}
	m.hdr = gresp.Header
	return nil
}

// tryAcquire queues the session's key (or finds it already queued) and
// reads the current holder in the same transaction. created reports
// whether this call wrote the key.
func (m *Mutex) tryAcquire(ctx context.Context) (resp *v3.TxnResponse, created bool, err error) {
	if err := m.unreleased.finish(ctx, m.s.Client()); err != nil {
		return nil, false, err
	}
	lease := m.s.Lease()
	m.myKey = fmt.Sprintf("%s%x", m.pfx, lease)
	holder := v3.OpGet(m.pfx, v3.WithFirstCreate()...)
	resp, err = m.s.Client().Txn(ctx).
		If(v3.Compare(v3.CreateRevision(m.myKey), "=", 0)).
		Then(v3.OpPut(m.myKey, "", v3.WithLease(lease)), holder).
		Else(v3.OpGet(m.myKey), holder).
		Commit()
	if err != nil {
		return nil, false, err
	}
	m.s.sawRev(resp.Header.Revision)
	if resp.Succeeded {
		m.myRev = resp.Header.Revision
		return resp, true, nil
	}
	kvs := resp.Responses[0].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return nil, false, fmt.Errorf("concurrency: lock key %q vanished inside a transaction", m.myKey)
	}
	m.myRev = kvs[0].CreateRevision
	return resp, false, nil
}

// ownsIn reports whether the holder read by tryAcquire is this mutex.
func (m *Mutex) ownsIn(resp *v3.TxnResponse) bool {
	kvs := resp.Responses[1].GetResponseRange().GetKvs()
	return len(kvs) == 0 || kvs[0].CreateRevision == m.myRev
}

// abandon removes the queued key, created at rev (0: not known), after a
// failed Lock, unless the key was there before this Lock call (then
// another Lock of the same session owns it). It uses the client's context
// because ctx may be the reason for the failure.
func (m *Mutex) abandon(created bool, rev int64) {
	// A key bound to an ended session goes away with the lease; trying
	// to delete it could only stall on the connection that failed.
	if created && !sessionLost(m.s) {
		ctx, cancel := context.WithTimeout(m.s.Client().Ctx(), cleanupTimeout)
		m.release(ctx, release{key: m.myKey, rev: rev})
		cancel()
	}
	m.myKey, m.myRev = releasedKey, -1
}

// abandonUnknown cleans up after a queuing transaction that ended with
// ctx: it may have been applied, and a key nobody waits on would hold the
// lock for as long as the session lives. Its creation revision is not
// known: the key is removed as it is found, unless it was created at or
// before floor, the highest revision the session had seen in answers to
// its queuing transactions when this one was sent. Such a key was queued
// before, by this Mutex or another of the session, and may hold the lock:
// the official client keeps it too.
func (m *Mutex) abandonUnknown(ctx context.Context, floor int64) {
	if ctx.Err() == nil || m.myKey == "" || m.myKey == releasedKey {
		return
	}
	if !sessionLost(m.s) {
		cctx, cancel := context.WithTimeout(m.s.Client().Ctx(), cleanupTimeout)
		m.release(cctx, release{key: m.myKey, after: floor})
		cancel()
	}
	m.myKey, m.myRev = releasedKey, -1
}

// release deletes the lock key r names (see release.finish); if that
// fails, the next Lock or TryLock finishes it first.
func (m *Mutex) release(ctx context.Context, r release) error {
	err := r.finish(ctx, m.s.Client())
	if err != nil {
		m.unreleased = r
	}
	return err
}

// Unlock releases the lock. It returns ErrLockReleased if the mutex is not
// held. It deletes the lock's key only if the key is still the one this
// mutex holds (same creation revision), so that an Unlock applied late,
// after its error, cannot release a later Lock.
func (m *Mutex) Unlock(ctx context.Context) error {
	if m.myKey == "" || m.myKey == releasedKey || m.myRev <= 0 {
		return ErrLockReleased
	}
	if err := m.release(ctx, release{key: m.myKey, rev: m.myRev}); err != nil {
		return err
	}
	// An earlier Unlock of this key that failed is finished by this one.
	m.unreleased = release{}
	m.myKey, m.myRev = releasedKey, -1
	return nil
}

// IsOwner returns a comparison that holds only while this mutex holds the
// lock. Put it in the If of a transaction to make a write conditional on
// still owning the lock.
func (m *Mutex) IsOwner() v3.Cmp {
	return v3.Compare(v3.CreateRevision(m.myKey), "=", m.myRev)
}

// Key returns the mutex's key under the lock prefix.
func (m *Mutex) Key() string { return m.myKey }

// Header returns the header of the response with which the lock was
// taken.
func (m *Mutex) Header() *pb.ResponseHeader { return m.hdr }

type lockerMutex struct{ *Mutex }

// NewLocker returns a sync.Locker backed by a Mutex on pfx, using the
// session's client context. Because sync.Locker cannot return errors, Lock
// and Unlock panic when the underlying call fails (for example when the
// session has expired); use Mutex directly to handle errors.
func NewLocker(s *Session, pfx string) sync.Locker {
	return &lockerMutex{NewMutex(s, pfx)}
}

func (lm *lockerMutex) Lock() {
	if err := lm.Mutex.Lock(lm.s.Client().Ctx()); err != nil {
		panic(err)
	}
}

func (lm *lockerMutex) Unlock() {
	if err := lm.Mutex.Unlock(lm.s.Client().Ctx()); err != nil {
		panic(err)
	}
}
