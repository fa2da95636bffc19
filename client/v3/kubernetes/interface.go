// Package kubernetes is the small etcd interface the Kubernetes API server
// needs: single-key reads, prefix listing with pagination, counts, and
// writes and deletes that succeed only if the key is still at an expected
// revision (optimistic concurrency).
package kubernetes

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.etcd.io/etcd/api/v3/mvccpb"
)

// Interface is the etcd access Kubernetes needs, with semantics suited to
// it.
type Interface interface {
	// Get reads key, at opts.Revision if it is not zero (failing with
	// ErrCompacted if that revision is compacted).
	Get(ctx context.Context, key string, opts GetOptions) (GetResponse, error)

	// List reads the keys under prefix in key order, at opts.Revision if
	// it is not zero, at most opts.Limit of them if it is above zero,
	// starting at opts.Continue if it is not empty (to paginate, pass the
	// last key received with "\x00" appended).
	List(ctx context.Context, prefix string, opts ListOptions) (ListResponse, error)

	// Count returns the number of keys under prefix.
	Count(ctx context.Context, prefix string, opts CountOptions) (int64, error)

	// OptimisticPut writes value to key if the key's modification
	// revision is still expectedRevision (0: the key must not exist).
	OptimisticPut(ctx context.Context, key string, value []byte, expectedRevision int64, opts PutOptions) (PutResponse, error)

	// OptimisticDelete deletes key if its modification revision is still
	// expectedRevision.
	OptimisticDelete(ctx context.Context, key string, expectedRevision int64, opts DeleteOptions) (DeleteResponse, error)
}

// GetOptions configures Get.
type GetOptions struct {
	// Revision is the store revision to read at; 0 reads the latest.
	Revision int64
}

// ListOptions configures List.
type ListOptions struct {
	// Revision is the store revision to read at; 0 reads the latest.
	Revision int64

	// Limit bounds the number of keys returned; 0 means no limit.
	Limit int64

	// Continue is the key to resume listing from: the last key of the
	// previous page with "\x00" appended.
	Continue string
}

// CountOptions configures Count. It has no options yet.
type CountOptions struct{}

// PutOptions configures OptimisticPut.
type PutOptions struct {
	// GetOnFailure makes a failed OptimisticPut return the key's current
	// key-value pair.
	GetOnFailure bool

	// LeaseID attaches the key to a lease.
	//
	// Deprecated: to be replaced with a TTL once Interface uses one
	// lease per object.
	LeaseID clientv3.LeaseID
}

// DeleteOptions configures OptimisticDelete.
type DeleteOptions struct {
	// GetOnFailure makes a failed OptimisticDelete return the key's
	// current key-value pair.
	GetOnFailure bool
}

// GetResponse is the result of Get.
type GetResponse struct {
	// KV is the key-value pair read, nil if the key does not exist.
	KV *mvccpb.KeyValue

	// Revision is the store revision the read was served at.
	Revision int64
}

// ListResponse is the result of List.
type ListResponse struct {
	// Kvs are the key-value pairs read, in key order.
	Kvs []*mvccpb.KeyValue

	// Count is the number of keys in the listed range, including those
	// beyond the limit.
	Count int64

	// Revision is the store revision the list was served at.
	Revision int64
}

// PutResponse is the result of OptimisticPut.
type PutResponse struct {
	// KV is, after a failure with GetOnFailure, the key's current
	// key-value pair (nil if the key does not exist).
	KV *mvccpb.KeyValue

	// Succeeded reports whether the key was written.
	Succeeded bool

	// Revision is the store revision after the operation.
	Revision int64
}

// DeleteResponse is the result of OptimisticDelete.
type DeleteResponse struct {
	// KV is, after a failure with GetOnFailure, the key's current
	// key-value pair (nil if the key does not exist). It is nil after a
	// success: the delete does not ask for the previous pair, as with
	// the official client.
	KV *mvccpb.KeyValue

	// Succeeded reports whether the key was deleted.
	Succeeded bool

	// Revision is the store revision after the operation.
	Revision int64
}
