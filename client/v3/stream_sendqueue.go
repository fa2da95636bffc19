package clientv3

import (
	"context"
	"sync"
)

// sendQueue decouples the goroutine that decides what to send on a gRPC
// stream from the one that sends it. Send can block for as long as the
// server does not read (flow control), and a loop that waited on it could
// not go on reading responses, which is what the server may be waiting
// for. Pushing never blocks; the queue holds only small control requests
// (watch creates and cancels, lease keep-alives), so it stays small.
type sendQueue[T any] struct {
	mu   sync.Mutex
	reqs []T
	wake chan struct{}
}

func newSendQueue[T any]() *sendQueue[T] {
	return &sendQueue[T]{wake: make(chan struct{}, 1)}
}

// push queues r for sending.
func (q *sendQueue[T]) push(r T) {
	q.mu.Lock()
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// pushAll queues rs for sending, in order.
func (q *sendQueue[T]) pushAll(rs []T) {
	q.mu.Lock()
	q.reqs = append(q.reqs, rs...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// drain sends queued requests in order with send until send fails or ctx
// ends. A failed send is not reported: the stream's receiver sees the same
// failure and handles it.
func (q *sendQueue[T]) drain(ctx context.Context, send func(T) error) {
	var batch []T
	for {
		q.mu.Lock()
		batch, q.reqs = q.reqs, batch[:0]
		q.mu.Unlock()
		for i, r := range batch {
			if err := send(r); err != nil {
				return
			}
			var zero T
			batch[i] = zero
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return
		}
	}
}
