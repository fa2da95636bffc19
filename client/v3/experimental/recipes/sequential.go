package recipe

import (
	"context"
	"fmt"
	"strings"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// newSequentialKV creates prefix/<sequence number, 16 digits>, one more
// than the number of the lexically last key under prefix, with the
// official client's protocol so that both clients share a priority
// queue.
//
// The key is written together with the base key "__"+prefix, on the
// condition that the base key has not changed since the last key was
// read. Every writer touches the base key, so the condition fails if
// anyone allocated a number meanwhile, and a number freed by a consumer
// (a deleted last key) is never handed out again to a writer that read
// before the deletion. A writer whose condition fails reads again.
func newSequentialKV(ctx context.Context, kv v3.KV, prefix, val string) (*RemoteKV, error) {
	baseKey := "__" + prefix
	for {
		resp, err := kv.Get(ctx, prefix, v3.WithLastKey()...)
		if err != nil {
			return nil, err
		}
		next := 0
		if len(resp.Kvs) > 0 {
			// The number is the last path element of the key; Sscanf
			// reports a name that is none with the official's error.
			last := string(resp.Kvs[0].Key)
			last = last[strings.LastIndex(last, "/")+1:]
			if _, err := fmt.Sscanf(last, "%d", &next); err != nil {
				return nil, err
			}
			next++
		}
		key := fmt.Sprintf("%s/%016d", prefix, next)
		txn, err := kv.Txn(ctx).
			If(v3.Compare(v3.ModRevision(baseKey), "<", resp.Header.Revision+1)).
			Then(v3.OpPut(baseKey, ""), v3.OpPut(key, val)).
			Commit()
		if err != nil {
			return nil, err
		}
		if txn.Succeeded {
			return &RemoteKV{kv: kv, ctx: ctx, key: key, rev: txn.Header.Revision, val: val}, nil
		}
	}
}
