package clientv3

import (
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
	return pb.NewMaintenanceClient(conn)
}

// RetryAuthClient returns a pb.AuthClient over c's connection that retries
// failed calls by the client's retry policy.
func RetryAuthClient(c *Client) pb.AuthClient { return pb.NewAuthClient(connOf(c)) }

// connOf returns c's connection, or one that fails every call with a clear
// error if c has none.
func connOf(c *Client) grpc.ClientConnInterface {
	if c != nil && c.conn != nil {
		return c.conn
	}
	return noConn{}
}
