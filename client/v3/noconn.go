package clientv3

import (
	"context"
	"errors"

	"google.golang.org/grpc"
)

// errNoConnection is returned by calls on a Client that has no gRPC
// connection (one made by NewCtxClient, or a zero Client) and no
// implementation of the called interface.
var errNoConnection = errors.New("etcdclient: client has no connection (made by NewCtxClient?)")

// noConn stands in for a missing connection so that calls fail with an
// error instead of a nil-pointer panic.
type noConn struct{}

func (noConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return errNoConnection
}

func (noConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, errNoConnection
}
