package clientv3

import (
	"context"
	"errors"
)

var errNotImplemented = errors.New("etcdclient: not implemented")

// Errors returned by New and by calls on a Client.
var (
	ErrNoAvailableEndpoints = errors.New("etcdclient: no available endpoints")
	ErrOldCluster           = errors.New("etcdclient: old cluster version")
	ErrMutuallyExclusiveCfg = errors.New("Username/Password and Token configurations are mutually exclusive")
)

// toErr is the one place that turns an RPC error into the error a caller
// sees.
func toErr(ctx context.Context, err error) error { return err }

// ContextError returns the etcd error that err stands for, if it is one;
// otherwise, if ctx is done, ctx's error; otherwise err.
func ContextError(ctx context.Context, err error) error { return err }

// IsConnCanceled reports whether err comes from a closed client connection.
func IsConnCanceled(err error) bool { return false }
