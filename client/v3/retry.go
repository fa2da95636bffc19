package clientv3

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
)

// RetryKVClient returns a pb.KVClient over c's connection that retries
// failed calls by the client's retry policy.
func RetryKVClient(c *Client) pb.KVClient { return pb.NewKVClient(connOf(c)) }

// RetryLeaseClient returns a pb.LeaseClient over c's connection that
// retries failed calls by the client's retry policy.
func RetryLeaseClient(c *Client) pb.LeaseClient { return pb.NewLeaseClient(connOf(c)) }

// RetryClusterClient returns a pb.ClusterClient over c's connection that
// retries failed calls by the client's retry policy.
func RetryClusterClient(c *Client) pb.ClusterClient { return pb.NewClusterClient(connOf(c)) }

// RetryMaintenanceClient returns a pb.MaintenanceClient over conn that
// retries failed calls by c's retry policy.
func RetryMaintenanceClient(c *Client, conn *grpc.ClientConn) pb.MaintenanceClient {
	if conn == nil {
		return pb.NewMaintenanceClient(connOf(c))
	}
	return pb.NewMaintenanceClient(apiConn{conn})
}

// RetryAuthClient returns a pb.AuthClient over c's connection that retries
// failed calls by the client's retry policy.
func RetryAuthClient(c *Client) pb.AuthClient { return pb.NewAuthClient(connOf(c)) }

// connOf returns c's connection as this package's API calls use it (see
// apiConn), or one that fails every call with a clear error if c has none.
func connOf(c *Client) grpc.ClientConnInterface {
	if c != nil && c.conn != nil {
		return apiConn{c.conn}
	}
	return noConn{}
}

// apiConn is the client's connection as its own API types (KV, Lease,
// Watcher, ...) and the Retry*Client stubs use it: their calls are marked
// with apiCall, and only marked calls get the client's implicit
// require-leader (see requiresLeader). Calls a user makes with raw stubs
// over ActiveConnection go out as the official client sends them.
type apiConn struct{ cc *grpc.ClientConn }

// apiCall marks a call made through apiConn.
type apiCall struct{ grpc.EmptyCallOption }

func (a apiConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return a.cc.Invoke(ctx, method, args, reply, markAPICall(opts)...)
}

func (a apiConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return a.cc.NewStream(ctx, desc, method, markAPICall(opts)...)
}

// markAPICall returns opts with the apiCall mark. The client's own types
// pass options that end with it already (Client.apiCallOptions): those
// are not copied.
func markAPICall(opts []grpc.CallOption) []grpc.CallOption {
	if n := len(opts); n > 0 {
		if _, ok := opts[n-1].(apiCall); ok {
			return opts
		}
	}
	return append(opts, apiCall{})
}

// isAPICall reports whether opts carry the apiCall mark.
func isAPICall(opts []grpc.CallOption) bool {
	for i := len(opts) - 1; i >= 0; i-- {
		if _, ok := opts[i].(apiCall); ok {
			return true
		}
	}
	return false
}
