package leasing

import (
	"context"
	"time"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
)

// keepSession creates the session whose lease the leasing keys use, and a
// new one whenever it ends; it closes hasSession once the first one
// exists. Every leasing key went with an ended session's lease, so the
// cache is dropped at once.
func (lkv *leasingKV) keepSession(hasSession chan<- struct{}) {
	defer lkv.wg.Done()
	for {
		s := lkv.newSession()
		if s == nil {
			return
		}
		lkv.mu.Lock()
		if lkv.closed() {
			lkv.mu.Unlock()
			lkv.release(s)
			return
		}
		lkv.session = s
		lkv.mu.Unlock()
		if hasSession != nil {
			close(hasSession)
			hasSession = nil
		}
		select {
		case <-lkv.ctx.Done():
			return // close revokes the lease
		case <-s.Done():
		}
		if lkv.closed() {
			return // closing ended the session; close revokes its lease
		}
		lkv.mu.Lock()
		lkv.session = nil
		lkv.retired = s.Lease()
		lkv.entries = make(map[string]*entry)
		lkv.mu.Unlock()
		// The lease may still be alive on the server (the session only
		// stopped hearing about it); revoke it so that writers waiting
		// on its leasing keys need not wait for it to expire.
		rctx, rcancel := context.WithTimeout(lkv.ctx, time.Second)
		lkv.cl.Revoke(rctx, s.Lease())
		rcancel()
	}
}

// newSession creates a session, trying again after a growing pause for as
// long as that fails, whatever the error, as the official leasing KV keeps
// trying. It returns nil only once the KV is closed or the client's
// context has ended.
func (lkv *leasingKV) newSession() *concurrency.Session {
	var pace pacer
	for {
		s, err := concurrency.NewSession(lkv.cl, lkv.opts...)
		if err == nil {
			return s
		}
		if !sleep(lkv.ctx, pace.delay()) {
			return nil
		}
	}
}

// release ends session s and revokes its lease. Revoking releases every
// leasing key at once, so that writers need not wait for the lease to
// expire; but a cluster that does not answer must not hold the caller for
// a whole TTL.
func (lkv *leasingKV) release(s *concurrency.Session) {
	s.Orphan()
	ctx, cancel := context.WithTimeout(context.Background(), closeRevokeTimeout)
	defer cancel()
	lkv.cl.Revoke(ctx, s.Lease())
}

// currentLease returns the lease of the live session, NoLease if there is
// none right now.
func (lkv *leasingKV) currentLease() v3.LeaseID {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	return lkv.leaseLocked()
}

func (lkv *leasingKV) leaseLocked() v3.LeaseID {
	if lkv.session == nil {
		return v3.NoLease
	}
	select {
	case <-lkv.session.Done():
		return v3.NoLease
	default:
		return lkv.session.Lease()
	}
}

// retiredLease returns the lease of the last session this client ended,
// NoLease if none.
func (lkv *leasingKV) retiredLease() v3.LeaseID {
	lkv.mu.Lock()
	defer lkv.mu.Unlock()
	return lkv.retired
}
