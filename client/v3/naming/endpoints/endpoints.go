// Package endpoints stores the network endpoints of a service in etcd and
// reports changes to them.
//
// Each endpoint is one key (by convention target + "/" + address) whose
// value is a JSON object {"Op":0,"Addr":...,"Metadata":...}, the format
// gRPC's old naming package used, so that endpoints written by other
// clients of this layout are understood and vice versa.
package endpoints

import (
	"context"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// Endpoint is one address a service can be reached at.
type Endpoint struct {
	// Addr is the address to connect to.
	Addr string

	// Metadata is free-form information stored with Addr.
	Metadata any
}

// Operation is the kind of an endpoint change.
type Operation uint8

const (
	// Add means the endpoint was added or changed.
	Add Operation = iota
	// Delete means the endpoint was removed.
	Delete
)

// Update is one change to a service's endpoints.
type Update struct {
	// Op is Add or Delete.
	Op Operation
	// Key is the etcd key of the endpoint.
	Key string
	// Endpoint is the endpoint added; empty for Delete.
	Endpoint Endpoint
}

// WatchChannel delivers batches of endpoint changes.
type WatchChannel <-chan []*Update

// Key2EndpointMap maps etcd keys to the endpoints stored under them.
type Key2EndpointMap map[string]Endpoint

// UpdateWithOpts is an Update with the etcd options (such as a lease) of
// the write that applies it.
type UpdateWithOpts struct {
	Update
	Opts []clientv3.OpOption
}

// NewAddUpdateOpts returns the update that stores endpoint under key.
func NewAddUpdateOpts(key string, endpoint Endpoint, opts ...clientv3.OpOption) *UpdateWithOpts {
	return &UpdateWithOpts{Update: Update{Op: Add, Key: key, Endpoint: endpoint}, Opts: opts}
}

// NewDeleteUpdateOpts returns the update that removes the endpoint under
// key.
func NewDeleteUpdateOpts(key string, opts ...clientv3.OpOption) *UpdateWithOpts {
	return &UpdateWithOpts{Update: Update{Op: Delete, Key: key}, Opts: opts}
}

// Manager stores and watches the endpoints of one target (service).
type Manager interface {
	// Update applies updates atomically, in one transaction.
	Update(ctx context.Context, updates []*UpdateWithOpts) error

	// AddEndpoint stores endpoint under key.
	AddEndpoint(ctx context.Context, key string, endpoint Endpoint, opts ...clientv3.OpOption) error
	// DeleteEndpoint removes the endpoint under key.
	DeleteEndpoint(ctx context.Context, key string, opts ...clientv3.OpOption) error

	// List returns the target's endpoints by key.
	List(ctx context.Context) (Key2EndpointMap, error)
	// NewWatchChannel returns a channel that first delivers the
	// target's current endpoints (as Add updates), if it has any, and
	// then every change. It closes when ctx ends or watching fails.
	NewWatchChannel(ctx context.Context) (WatchChannel, error)
}
