package clientv3

import (
	"context"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// Responses of Maintenance calls; they are the wire messages under client
// names.
type (
	DefragmentResponse pb.DefragmentResponse
	AlarmResponse      pb.AlarmResponse
	AlarmMember        pb.AlarmMember
	StatusResponse     pb.StatusResponse
	HashKVResponse     pb.HashKVResponse
	MoveLeaderResponse pb.MoveLeaderResponse
	DowngradeResponse  pb.DowngradeResponse
)

// DowngradeAction is what Downgrade asks the cluster to do.
type DowngradeAction pb.DowngradeRequest_DowngradeAction

// Downgrade actions.
const (
	DowngradeValidate = DowngradeAction(pb.DowngradeRequest_VALIDATE)
	DowngradeEnable   = DowngradeAction(pb.DowngradeRequest_ENABLE)
	DowngradeCancel   = DowngradeAction(pb.DowngradeRequest_CANCEL)
)

// SnapshotResponse is a snapshot being received. The caller must close
// Snapshot.
type SnapshotResponse struct {
	// Header is the header of the first message of the snapshot stream:
	// the store revision the snapshot was taken at.
	Header *pb.ResponseHeader
	// Snapshot reads the snapshot's bytes.
	Snapshot io.ReadCloser
	// Version is the etcd version of the member that made the snapshot,
	// the one to restore it with. Empty before etcd 3.6.
	Version string
}

// Maintenance runs administrative operations; those taking an endpoint run
// on that member only.
type Maintenance interface {
	// AlarmList returns the active alarms.
	AlarmList(ctx context.Context) (*AlarmResponse, error)

	// AlarmDisarm clears alarm m; a zero m clears every alarm.
	AlarmDisarm(ctx context.Context, m *AlarmMember) (*AlarmResponse, error)

	// Defragment compacts the backend database of the member at endpoint,
	// releasing the space deleted keys held. It blocks that member while
	// it runs: defragment members one at a time.
	Defragment(ctx context.Context, endpoint string) (*DefragmentResponse, error)

	// Status returns the status of the member at endpoint.
	Status(ctx context.Context, endpoint string) (*StatusResponse, error)

	// HashKV returns a hash of the member's key-value store at revision
	// rev, or at its current revision if rev is 0.
	HashKV(ctx context.Context, endpoint string, rev int64) (*HashKVResponse, error)

	// SnapshotWithVersion streams a point-in-time snapshot of the
	// backend, with the version of the member that made it. Ending ctx
	// makes reading the snapshot fail with ctx's error.
	SnapshotWithVersion(ctx context.Context) (*SnapshotResponse, error)

	// Snapshot streams a point-in-time snapshot of the backend. Ending
	// ctx makes reading it fail with ctx's error.
	//
	// Deprecated: use SnapshotWithVersion.
	Snapshot(ctx context.Context) (io.ReadCloser, error)

	// MoveLeader asks the leader to hand leadership to the member with
	// ID transfereeID. It must reach the leader.
	MoveLeader(ctx context.Context, transfereeID uint64) (*MoveLeaderResponse, error)

	// Downgrade validates, enables or cancels a downgrade of the cluster
	// version to version (etcd 3.5 and later).
	Downgrade(ctx context.Context, action DowngradeAction, version string) (*DowngradeResponse, error)
}

type maintenance struct {
	remote pb.MaintenanceClient
	c      *Client
}

// NewMaintenance returns a Maintenance that uses c's connections.
func NewMaintenance(c *Client) Maintenance { return &maintenance{c: c} }

// NewMaintenanceFromMaintenanceClient returns a Maintenance over remote; c,
// which may be nil, supplies call options and the logger.
func NewMaintenanceFromMaintenanceClient(remote pb.MaintenanceClient, c *Client) Maintenance {
	return &maintenance{remote: remote, c: c}
}

func (m *maintenance) AlarmList(ctx context.Context) (*AlarmResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) AlarmDisarm(ctx context.Context, am *AlarmMember) (*AlarmResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) Defragment(ctx context.Context, endpoint string) (*DefragmentResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) Status(ctx context.Context, endpoint string) (*StatusResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) HashKV(ctx context.Context, endpoint string, rev int64) (*HashKVResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) SnapshotWithVersion(ctx context.Context) (*SnapshotResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) Snapshot(ctx context.Context) (io.ReadCloser, error) {
	return nil, errNotImplemented
}

func (m *maintenance) MoveLeader(ctx context.Context, transfereeID uint64) (*MoveLeaderResponse, error) {
	return nil, errNotImplemented
}

func (m *maintenance) Downgrade(ctx context.Context, action DowngradeAction, version string) (*DowngradeResponse, error) {
	return nil, errNotImplemented
}
