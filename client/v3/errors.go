package clientv3

import (
	"context"
	"errors"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var errNotImplemented = errors.New("etcdclient: not implemented")

// errNoWatchStream is RequestProgress's error on a closed watcher; the
// official client's words.
var errNoWatchStream = errors.New("no stream found for context")

// Errors returned by New and by calls on a Client.
var (
	ErrNoAvailableEndpoints = errors.New("etcdclient: no available endpoints")
	ErrOldCluster           = errors.New("etcdclient: old cluster version")
	ErrMutuallyExclusiveCfg = errors.New("Username/Password and Token configurations are mutually exclusive")
)

// connClosingDesc is the message gRPC gives RPCs on a closed ClientConn.
const connClosingDesc = "grpc: the client connection is closing"

// toErr is the one place that turns an RPC error into the error a caller
// sees:
//   - an etcd server error becomes its rpctypes value (rpctypes.ErrXxx),
//     so that both == and errors.Is work;
//   - otherwise, if ctx is done, ctx.Err() itself (context.Canceled or
//     context.DeadlineExceeded), whatever the transport reported;
//   - otherwise err unchanged (a gRPC status error, such as Unavailable,
//     or the connection-closing error IsConnCanceled recognizes).
func toErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	err = rpctypes.Error(err)
	if _, ok := err.(rpctypes.EtcdError); ok {
		return err
	}
	if cerr := ctxErr(ctx, err); cerr != nil {
		return cerr
	}
	return err
}

// ctxErr returns ctx's error if ctx is done, and context.DeadlineExceeded
// for a DeadlineExceeded status once ctx's deadline has passed: gRPC
// checks the deadline itself, and may report it expired a moment before
// ctx's own timer marks ctx done.
func ctxErr(ctx context.Context, err error) error {
	if ctx == nil {
		return nil
	}
	if e := ctx.Err(); e != nil {
		return e
	}
	if status.Code(err) == codes.DeadlineExceeded {
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			return context.DeadlineExceeded
		}
	}
	return nil
}

func isCtxStatus(err error) bool {
	switch status.Code(err) {
	case codes.Canceled, codes.DeadlineExceeded:
		return true
	}
	return false
}

// ContextError returns the etcd error that err stands for, if it is one;
// otherwise, if err is a canceled or expired RPC and ctx is done, ctx's
// error itself; otherwise err.
func ContextError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	err = rpctypes.Error(err)
	if _, ok := err.(rpctypes.EtcdError); ok {
		return err
	}
	if isCtxStatus(err) {
		if cerr := ctxErr(ctx, err); cerr != nil {
			return cerr
		}
	}
	return err
}

// IsConnCanceled reports whether err comes from a closed client
// connection, as when a call races with Client.Close. As with the
// official client, that is any Canceled status, a transport that is
// closing, a context.Canceled, or an error that says the connection is
// closing.
func IsConnCanceled(err error) bool {
	if err == nil {
		return false
	}
	if s, ok := status.FromError(err); ok {
		return s.Code() == codes.Canceled || s.Message() == "transport is closing"
	}
	if errors.Is(err, context.Canceled) {
		return true
	}
	return strings.Contains(err.Error(), connClosingDesc)
}

// isAuthTokenErr reports whether err says the request's auth token must be
// renewed.
func isAuthTokenErr(err error) bool {
	switch rpctypes.Error(err) {
	case rpctypes.ErrInvalidAuthToken, rpctypes.ErrAuthOldRevision, rpctypes.ErrUserEmpty:
		return true
	}
	return false
}
