package leasing

import (
	"context"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// watchRevocations obeys every request to give up one of our leasing
// keys. It closes lkv.watchingc once it watches, and settled once NewKV
// need wait no longer: when it watches, or when reading the leasing keys
// failed for a reason that will not go away by itself (it keeps trying in
// the background then). After a broken watch it reads the leasing keys
// again, so a revocation written meanwhile is not missed.
func (lkv *leasingKV) watchRevocations(settled chan<- struct{}) {
	defer lkv.wg.Done()
	settle := func() {
		if settled != nil {
			close(settled)
			settled = nil
		}
	}
	var pace pacer
	for !lkv.closed() {
		resp, err := lkv.kv.Get(lkv.ctx, lkv.pfx, v3.WithPrefix())
		if err != nil {
			if !transient(err) {
				settle()
			}
			if !sleep(lkv.ctx, pace.delay()) {
				return
			}
			continue
		}
		pace = pacer{}
		for _, kv := range resp.Kvs {
			lkv.maybeObey(kv)
		}
		wctx, cancel := context.WithCancel(lkv.ctx)
		wch := lkv.cl.Watch(wctx, lkv.pfx, v3.WithPrefix(), v3.WithRev(resp.Header.Revision+1), v3.WithFilterDelete())
		if !lkv.watching() {
			close(lkv.watchingc)
		}
		settle()
		for wr := range wch {
			if wr.Err() != nil {
				break
			}
			for _, ev := range wr.Events {
				if ev.Type == mvccpb.PUT {
					lkv.maybeObey(ev.Kv)
				}
			}
		}
		cancel()
	}
}

// maybeObey gives up the leasing key lk if it is ours (under the current
// session's lease or the retired one) and a writer asked for it: the
// cache entry goes first, then the leasing key, so that the writer can
// only write once we no longer serve the old value.
func (lkv *leasingKV) maybeObey(lk *mvccpb.KeyValue) {
	if string(lk.Value) != revokeValue {
		return
	}
	lkv.mu.Lock()
	lease, retired := lkv.leaseLocked(), lkv.retired
	lkv.mu.Unlock()
	if owner := v3.LeaseID(lk.Lease); owner == v3.NoLease || (owner != lease && owner != retired) {
		return
	}
	key := string(lk.Key[len(lkv.pfx):])
	lkv.mu.Lock()
	if e := lkv.entries[key]; e != nil && e.lkRev == lk.CreateRevision {
		delete(lkv.entries, key)
	}
	lkv.gaveUpLocked(key)
	if lk.ModRevision > lkv.lastRevoke {
		lkv.lastRevoke = lk.ModRevision
	}
	lkv.mu.Unlock()
	lkv.kv.Txn(lkv.ctx).
		If(v3.Compare(v3.CreateRevision(string(lk.Key)), "=", lk.CreateRevision)).
		Then(v3.OpDelete(string(lk.Key))).
		Commit()
}

// revokeAndWait asks the owner of leasing key lk (as read at revision rev)
// to give it up and waits until it is gone.
func (lkv *leasingKV) revokeAndWait(ctx context.Context, lk *mvccpb.KeyValue, rev int64) error {
	key := string(lk.Key)
	if string(lk.Value) != revokeValue {
		resp, err := lkv.kv.Txn(ctx).
			If(v3.Compare(v3.CreateRevision(key), "=", lk.CreateRevision)).
			Then(v3.OpPut(key, revokeValue, v3.WithIgnoreLease())).
			Commit()
		if err != nil {
			return err
		}
		if !resp.Succeeded {
			return nil // it changed already; the caller looks again
		}
		rev = resp.Header.Revision
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for wr := range lkv.cl.Watch(wctx, key, v3.WithRev(rev+1), v3.WithFilterPut()) {
		if wr.CompactRevision != 0 {
			return nil // history is gone; the caller looks again
		}
		if err := wr.Err(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if len(wr.Events) > 0 {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The watch ended without a word: the client, or its Watcher, was
	// closed. The caller looks again: a closed client fails its next
	// request with the client's own error; otherwise the leasing key is
	// polled for, as the official leasing KV does then.
	if lkv.cl.Ctx().Err() == nil && !sleep(ctx, retryPace.Max) {
		return ctx.Err()
	}
	return nil
}
