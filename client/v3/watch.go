package clientv3

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// This file is a placeholder owned by the watch/lease helper, who replaces
// it with the real watcher.

// Watch event types and watch IDs.
const (
	EventTypeDelete = mvccpb.Event_DELETE
	EventTypePut    = mvccpb.Event_PUT

	// AutoWatchID asks the server to choose the watch ID.
	AutoWatchID = 0

	// InvalidWatchID is a watch ID no watch has.
	InvalidWatchID = -1
)

// Event is one change of a key.
type Event = mvccpb.Event

// WatchChan delivers the responses of one watch.
type WatchChan <-chan WatchResponse

// WatchResponse is a batch of events of one watch, or a notification about
// the watch itself.
type WatchResponse struct {
	Header *pb.ResponseHeader
	Events []*Event

	// CompactRevision is the oldest revision the watch can still deliver;
	// set when the watch was canceled because its start was compacted.
	CompactRevision int64

	// Canceled is set on the last response of a watch the server ended;
	// Err says why.
	Canceled bool

	// Created is set on the response that confirms the watch exists.
	Created bool

	// CancelReason is the server's reason for canceling the watch.
	CancelReason string

	closeErr error
}

// Err returns the error the watch ended with, if any.
func (wr *WatchResponse) Err() error { return wr.closeErr }

// IsProgressNotify reports whether wr is a progress notification: no
// events, just the current revision.
func (wr *WatchResponse) IsProgressNotify() bool {
	return len(wr.Events) == 0 && !wr.Canceled && !wr.Created && wr.CompactRevision == 0 && wr.Header != nil && wr.Header.Revision != 0
}

// Watcher watches keys for changes.
type Watcher interface {
	// Watch watches key (or a range, with range options) and delivers its
	// events on the returned channel, starting after the current revision
	// or at WithRev. The channel is closed when ctx ends or the watch
	// fails for good (Err of the last response says why). Cancel ctx
	// when done to release the watch.
	Watch(ctx context.Context, key string, opts ...OpOption) WatchChan

	// RequestProgress asks for a progress notification on every watch of
	// the stream ctx selects.
	RequestProgress(ctx context.Context) error

	// Close ends every watch.
	Close() error
}

type stubWatcher struct{}

// NewWatcher returns a Watcher that uses c's connection.
func NewWatcher(c *Client) Watcher { return stubWatcher{} }

// NewWatchFromWatchClient returns a Watcher over wc.
func NewWatchFromWatchClient(wc pb.WatchClient, c *Client) Watcher { return stubWatcher{} }

func (stubWatcher) Watch(ctx context.Context, key string, opts ...OpOption) WatchChan {
	ch := make(chan WatchResponse, 1)
	ch <- WatchResponse{Canceled: true, closeErr: errNotImplemented}
	close(ch)
	return ch
}

func (stubWatcher) RequestProgress(ctx context.Context) error { return errNotImplemented }
func (stubWatcher) Close() error                              { return nil }
