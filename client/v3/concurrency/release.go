package concurrency

import (
	"context"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// release is a key whose delete (a Resign, an Unlock) failed. The delete
// may still be applied after the error, late: a request cut off with a
// member can reach the leader once the member is healed. A session's key
// under a prefix is always the same, so a Campaign or Lock that found the
// key still there would take it over with its old creation revision, and
// the late delete would then remove the key of that newer leadership or
// lock, letting another session in while this one believes it leads (seen
// with the official Election, in etcdtest/robustness). So before it queues
// again, a session finishes the release: it deletes the key if it still
// has the creation revision the failed delete named, and queues with a new
// one, which no late delete can match.
type release struct {
	key string
	// rev is the creation revision of the key released; 0 when the call
	// that would have told it failed, and then the key is released as it
	// is found, unless it was created at or before after (it was there
	// before that call, queued by another one that knows it).
	rev   int64
	after int64
}

// finish deletes r's key if it is still the one released, and forgets r
// once the cluster has answered. It does nothing for the zero release.
// Every delete is conditioned on a creation revision, so that one applied
// late cannot remove a key created after it.
func (r *release) finish(ctx context.Context, client *v3.Client) error {
	if r.key == "" {
		return nil
	}
	if r.rev == 0 {
		resp, err := client.Get(ctx, r.key)
		if err != nil {
			return err
		}
		if len(resp.Kvs) == 0 || resp.Kvs[0].CreateRevision <= r.after {
			*r = release{}
			return nil
		}
		r.rev = resp.Kvs[0].CreateRevision
	}
	if _, err := client.Txn(ctx).
		If(v3.Compare(v3.CreateRevision(r.key), "=", r.rev)).
		Then(v3.OpDelete(r.key)).
		Commit(); err != nil {
		return err
	}
	*r = release{}
	return nil
}
