package recipe

import (
	"fmt"

	v3 "github.com/a74b11dd/etcdkit/client/v3"
)

// PriorityQueue is a queue whose items come out by priority (lowest
// number first) and, within a priority, first in first out. It is shared
// by any number of producers and consumers.
type PriorityQueue struct {
	client *v3.Client
	key    string
}

// NewPriorityQueue returns the priority queue stored under key.
func NewPriorityQueue(client *v3.Client, key string) *PriorityQueue {
	return &PriorityQueue{client: client, key: key}
}

// Enqueue adds val with priority pr; 0 is dequeued first.
func (q *PriorityQueue) Enqueue(val string, pr uint16) error {
	// The zero-padded priority makes key order priority order; the
	// sequence under it keeps each priority first in first out.
	_, err := newSequentialKV(q.client.Ctx(), q.client.KV, fmt.Sprintf("%s/%05d", q.key, pr), val)
	return err
}

// Dequeue removes and returns the item with the lowest priority number,
// the oldest among equals, blocking while the queue is empty.
func (q *PriorityQueue) Dequeue() (string, error) {
	return dequeue(q.client, q.key+"/")
}
