package recipe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/concurrency"
)

// RemoteKV is a key this client created in etcd, with the revision at
// which it was created and its value.
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

// Value returns the value the key was created (or last put) with.
func (rk *RemoteKV) Value() string { return rk.val }

// Delete deletes the key.
func (rk *RemoteKV) Delete() error {
	if rk.kv == nil {
		return nil
	}
	_, err := rk.kv.Delete(rk.ctx, rk.key)
	rk.kv = nil
	return err
}

// Put replaces the key's value.
func (rk *RemoteKV) Put(val string) error {
	if rk.kv == nil {
		return fmt.Errorf("recipe: key %q was deleted", rk.key)
	}
	if _, err := rk.kv.Put(rk.ctx, rk.key, val); err != nil {
		return err
	}
	rk.val = val
	return nil
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

// newUniqueKV creates a key with a random name under prefix. Callers
// order such keys by creation revision, never by name.
func newUniqueKV(ctx context.Context, kv v3.KV, prefix, val string, lease v3.LeaseID) (*RemoteKV, error) {
	for {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		rk, err := newKV(ctx, kv, prefix+"/"+hex.EncodeToString(b[:]), val, lease)
		if err != ErrKeyExists {
			return rk, err
		}
	}
}

// seqWidth is the number of digits of sequence numbers in key names, so
// that key order is numeric order.
const seqWidth = 16

// newSequentialKV creates a key under prefix whose name sorts after every
// key already there: its sequence number is one more than the last
// key's. Two writers racing for the same number are told apart by the
// creation guard; the loser reads again.
func newSequentialKV(ctx context.Context, kv v3.KV, prefix, val string) (*RemoteKV, error) {
	for {
		resp, err := kv.Get(ctx, prefix+"/", v3.WithLastKey()...)
		if err != nil {
			return nil, err
		}
		next := int64(0)
		if len(resp.Kvs) > 0 {
			last := strings.TrimPrefix(string(resp.Kvs[0].Key), prefix+"/")
			n, err := strconv.ParseInt(last, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("recipe: key %q under %q is not a sequence number", resp.Kvs[0].Key, prefix)
			}
			next = n + 1
		}
		rk, err := newKV(ctx, kv, fmt.Sprintf("%s/%0*d", prefix, seqWidth, next), val, v3.NoLease)
		if err != ErrKeyExists {
			return rk, err
		}
	}
}

// newUniqueEphemeralKey creates an empty key with a random name under
// prefix, bound to s's lease.
func newUniqueEphemeralKey(s *concurrency.Session, prefix string) (*EphemeralKV, error) {
	client := s.Client()
	rk, err := newUniqueKV(client.Ctx(), client.KV, prefix, "", s.Lease())
	if err != nil {
		return nil, err
	}
	return &EphemeralKV{RemoteKV: *rk}, nil
}

// claimKey deletes kv if it is still unchanged, reporting whether this
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
