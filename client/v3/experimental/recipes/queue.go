package recipe

import (
	v3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Queue is a first-in first-out queue shared by any number of producers
// and consumers.
type Queue struct {
	client    *v3.Client
	keyPrefix string
}

// NewQueue returns the queue stored under keyPrefix.
func NewQueue(client *v3.Client, keyPrefix string) *Queue {
	return &Queue{client: client, keyPrefix: keyPrefix}
}

// Enqueue appends val to the queue.
func (q *Queue) Enqueue(val string) error {
	_, err := newSequentialKV(q.client.Ctx(), q.client.KV, q.keyPrefix, val)
	return err
}

// Dequeue removes and returns the oldest item, blocking while the queue is
// empty. Each item goes to exactly one consumer.
func (q *Queue) Dequeue() (string, error) {
	return dequeue(q.client, q.keyPrefix+"/")
}

// dequeue claims the lowest key under prefix, waiting for a key to be
// added while there is none.
func dequeue(client *v3.Client, prefix string) (string, error) {
	ctx := client.Ctx()
	for {
		resp, err := client.Get(ctx, prefix, v3.WithFirstKey()...)
		if err != nil {
			return "", err
		}
		if len(resp.Kvs) == 0 {
			if err := waitForPut(client, prefix, resp.Header.Revision+1); err != nil {
				return "", err
			}
			continue
		}
		kv := resp.Kvs[0]
		ok, err := claimKey(ctx, client.KV, string(kv.Key), kv.ModRevision)
		if err != nil {
			return "", err
		}
		if ok {
			return string(kv.Value), nil
		}
		// Another consumer took it; try the next one.
	}
}

// waitForPut blocks until a key under prefix is put at or after rev.
func waitForPut(client *v3.Client, prefix string, rev int64) error {
	_, err := WaitPrefixEvents(client, prefix, rev, []mvccpb.Event_EventType{mvccpb.PUT})
	return err
}
