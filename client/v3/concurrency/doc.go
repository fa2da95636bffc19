// Package concurrency builds distributed coordination on etcd: sessions
// (a lease kept alive while the process lives), mutexes, leader elections
// and software transactional memory.
//
// Mutexes and elections queue contenders by the creation revision of one
// key per session under a common prefix; the contender whose key is oldest
// holds the lock or leads. Every key is bound to its session's lease, so a
// crashed holder's key disappears when the lease expires.
//
// A lock held through a lease is only as safe as the lease: once the
// session is lost (its Done channel closes) the lock may already belong to
// someone else. Guard writes with Mutex.IsOwner in the same transaction
// for writes that must never happen without the lock. Lock itself never
// reports success for a session whose key is gone: after waiting its turn
// it checks that its key still exists and otherwise returns
// ErrSessionExpired.
//
// A Resign or Unlock that returns an error may still be applied later. The
// next Campaign or Lock of the same Election or Mutex therefore finishes
// that release first and queues with a new key, which the late release
// cannot delete.
package concurrency
