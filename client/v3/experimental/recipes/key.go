package recipe

import (
	"context"
	"fmt"
	"time"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
)

// RemoteKV is a key this client created in etcd, with the revision at
// which it was created and the value it was created with.
type RemoteKV struct {
	kv  v3.KV
	ctx context.Context

	key string
	rev int64
	val string
}

// EphemeralKV is a RemoteKV bound to a session's lease: it disappears
// when the session ends.
type EphemeralKV struct{ RemoteKV }

// Key returns the key's name.
func (rk *RemoteKV) Key() string { return rk.key }

// Revision returns the revision at which the key was created.
func (rk *RemoteKV) Revision() int64 { return rk.rev }

// Value returns the value the key was created with. A later Put does not
// change it, as with the official client.
func (rk *RemoteKV) Value() string { return rk.val }

// Delete deletes the key. Once it has been called, further calls do
// nothing and return nil.
func (rk *RemoteKV) Delete() error {
	if rk.kv == nil {
		return nil
	}
	_, err := rk.kv.Delete(rk.ctx, rk.key)
	rk.kv = nil
	return err
}

// Put replaces the key's value in etcd. After Delete it fails (the
// official client panics there).
func (rk *RemoteKV) Put(val string) error {
	if rk.kv == nil {
		return fmt.Errorf("recipe: key %q was deleted", rk.key)
	}
	_, err := rk.kv.Put(rk.ctx, rk.key, val)
	return err
}

// createKV creates key with val (bound to lease, if any), failing with
// ErrKeyExists if it already exists. It returns the creation revision.
func createKV(ctx context.Context, kv v3.KV, key, val string, lease v3.LeaseID) (int64, error) {
	resp, err := kv.Txn(ctx).
		If(v3.Compare(v3.Version(key), "=", 0)).
		Then(v3.OpPut(key, val, v3.WithLease(lease))).
		Commit()
	if err != nil {
		return 0, err
	}
	if !resp.Succeeded {
		return 0, ErrKeyExists
	}
	return resp.Header.Revision, nil
}

func newKV(ctx context.Context, kv v3.KV, key, val string, lease v3.LeaseID) (*RemoteKV, error) {
	rev, err := createKV(ctx, kv, key, val, lease)
	if err != nil {
		return nil, err
	}
	return &RemoteKV{kv: kv, ctx: ctx, key: key, rev: rev, val: val}, nil
}

// newUniqueKV creates a key named prefix/<nanoseconds since the epoch>,
// the name the official client gives, so that processes using either
// client share queues and locks. A clash with an existing name (two
// processes in the same nanosecond) is retried with a new time.
func newUniqueKV(ctx context.Context, kv v3.KV, prefix, val string, lease v3.LeaseID) (*RemoteKV, error) {
	for {
		rk, err := newKV(ctx, kv, fmt.Sprintf("%s/%d", prefix, time.Now().UnixNano()), val, lease)
		if err != ErrKeyExists {
			return rk, err
		}
	}
}

// newUniqueEphemeralKey creates an empty key with a unique name under
// prefix, bound to s's lease.
func newUniqueEphemeralKey(s *concurrency.Session, prefix string) (*EphemeralKV, error) {
	client := s.Client()
	rk, err := newUniqueKV(client.Ctx(), client.KV, prefix, "", s.Lease())
	if err != nil {
		return nil, err
	}
	return &EphemeralKV{RemoteKV: *rk}, nil
}

// claimKey deletes key if it is still at modRev, reporting whether this
// call deleted it: of several consumers racing for one key, exactly one
// gets it.
func claimKey(ctx context.Context, kv v3.KV, key string, modRev int64) (bool, error) {
	resp, err := kv.Txn(ctx).
		If(v3.Compare(v3.ModRevision(key), "=", modRev)).
		Then(v3.OpDelete(key)).
		Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}
