package recipe

import (
	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// dequeue removes and returns the value of the first key under prefix in
// the order first selects, or, while there is none, of the first key put
// under prefix afterwards. Keys are claimed by deleting them at the
// revision read, so of several consumers exactly one gets each.
func dequeue(client *v3.Client, prefix string, first []v3.OpOption) (string, error) {
	ctx := client.Ctx()
	for {
		resp, err := client.Get(ctx, prefix, first...)
		if err != nil {
			return "", err
		}
		if len(resp.Kvs) > 0 {
			kv := resp.Kvs[0]
			ok, err := claimKey(ctx, client.KV, string(kv.Key), kv.ModRevision)
			if err != nil {
				return "", err
			}
			if ok {
				return string(kv.Value), nil
			}
			if resp.More {
				// Another consumer took it; more are waiting.
				continue
			}
		}
		ev, err := watchFor(client, prefix, resp.Header.Revision, []mvccpb.Event_EventType{mvccpb.PUT}, v3.WithPrefix())
		if err != nil {
			return "", err
		}
		ok, err := claimKey(ctx, client.KV, string(ev.Kv.Key), ev.Kv.ModRevision)
		if err != nil {
			return "", err
		}
		if ok {
			return string(ev.Kv.Value), nil
		}
	}
}
