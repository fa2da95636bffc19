package recipe

import (
	"fmt"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// PriorityQueue is a queue whose items come out by priority (lowest
// number first) and, within a priority, first in first out. It is shared
// by any number of producers and consumers.
//
// An item is the key key/<priority, 5 digits>/<sequence, 16 digits>;
// each priority also has the base key "__"+key+"/<priority>" that orders
// its writers (see newSequentialKV). These are the official client's
// keys, so processes using either client share a queue.
type PriorityQueue struct {
	client *v3.Client
	key    string // the queue's key followed by "/"
}

// NewPriorityQueue returns the priority queue stored under key.
func NewPriorityQueue(client *v3.Client, key string) *PriorityQueue {
	return &PriorityQueue{client: client, key: key + "/"}
}

// Enqueue adds val with priority pr; 0 is dequeued first.
func (q *PriorityQueue) Enqueue(val string, pr uint16) error {
	_, err := newSequentialKV(q.client.Ctx(), q.client.KV, fmt.Sprintf("%s%05d", q.key, pr), val)
	return err
}

// Dequeue removes and returns the item with the lowest priority number,
// the oldest among equals, blocking while the queue is empty. If the wait
// for an item ends without one (the client is closed, the revision is
// compacted), Dequeue returns the reason, where the official client
// panics.
func (q *PriorityQueue) Dequeue() (string, error) {
	return dequeue(q.client, q.key, v3.WithFirstKey())
}
