package recipe

import (
	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// Queue is a first-in first-out queue shared by any number of producers
// and consumers. Its items are the keys keyPrefix/<unique> (the official
// client's names), taken oldest modification revision first.
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
	_, err := newUniqueKV(q.client.Ctx(), q.client.KV, q.keyPrefix, val, v3.NoLease)
	return err
}

// Dequeue removes and returns the oldest item, blocking while the queue is
// empty. Each item goes to exactly one consumer.
//
// As with the official client, Dequeue reads every key that begins with
// keyPrefix (not only those under keyPrefix+"/"), so a queue whose name
// extends this one's shares its items. If the wait for an item ends
// without one (the client is closed, the revision is compacted), Dequeue
// returns the reason, where the official client panics.
func (q *Queue) Dequeue() (string, error) {
	return dequeue(q.client, q.keyPrefix, v3.WithFirstRev())
}
