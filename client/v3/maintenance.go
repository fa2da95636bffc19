package clientv3

import (
	"context"
	"errors"
	"fmt"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"

	"github.com/a74b11dd/etcdkit/client/v3/internal/balancer"
	"github.com/a74b11dd/etcdkit/client/v3/internal/endpoint"
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
	remote   pb.MaintenanceClient
	callOpts []grpc.CallOption
	// c is set for NewMaintenance: per-endpoint calls then go to the
	// named member. Without it they go wherever remote sends them.
	c *Client
}

// NewMaintenance returns a Maintenance that uses c's connections.
func NewMaintenance(c *Client) Maintenance {
	return &maintenance{remote: RetryMaintenanceClient(c, c.ActiveConnection()), callOpts: c.apiCallOptions(), c: c}
}

// NewMaintenanceFromMaintenanceClient returns a Maintenance over remote; c,
// which may be nil, supplies the call options. Calls that name an
// endpoint go to whichever member remote reaches.
func NewMaintenanceFromMaintenanceClient(remote pb.MaintenanceClient, c *Client) Maintenance {
	return &maintenance{remote: remote, callOpts: c.callOptions()}
}

// onEndpoint runs f with a MaintenanceClient and context that reach the
// member at ep: the client's own connection pinned to ep when ep is one
// of its endpoints, otherwise a connection dialed for the call.
func (m *maintenance) onEndpoint(ctx context.Context, ep string, f func(context.Context, pb.MaintenanceClient) error) error {
	if ctx == nil {
		return errNilContext
	}
	if m.c == nil || m.c.conn == nil {
		return f(ctx, m.remote)
	}
	parsed, err := endpoint.Parse(ep)
	if err != nil {
		return fmt.Errorf("etcdclient: %w", err)
	}
	if m.c.resolver != nil && m.c.resolver.Has(parsed.DialTarget()) {
		return f(balancer.WithPin(ctx, parsed.DialTarget()), m.remote)
	}
	conn, err := m.c.Dial(ep)
	if err != nil {
		return err
	}
	defer conn.Close()
	return f(ctx, pb.NewMaintenanceClient(conn))
}

func (m *maintenance) AlarmList(ctx context.Context) (*AlarmResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := m.remote.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_GET, Alarm: pb.AlarmType_NONE}, m.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AlarmResponse)(resp), nil
}

// AlarmDisarm clears alarm am; an am naming no member and no alarm clears
// every active alarm.
func (m *maintenance) AlarmDisarm(ctx context.Context, am *AlarmMember) (*AlarmResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	if am == nil {
		return nil, errors.New("etcdclient: nil AlarmMember (use &AlarmMember{} to disarm every alarm)")
	}
	if am.MemberID == 0 && am.Alarm == pb.AlarmType_NONE {
		list, err := m.AlarmList(ctx)
		if err != nil {
			return nil, err
		}
		// The alarms disarmed, without a header, as the official client
		// answers.
		out := &AlarmResponse{}
		for _, a := range list.Alarms {
			resp, err := m.AlarmDisarm(ctx, (*AlarmMember)(a))
			if err != nil {
				return nil, err
			}
			out.Alarms = append(out.Alarms, resp.Alarms...)
		}
		return out, nil
	}
	req := &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE, MemberID: am.MemberID, Alarm: am.Alarm}
	resp, err := m.remote.Alarm(ctx, req, m.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*AlarmResponse)(resp), nil
}

func (m *maintenance) Defragment(ctx context.Context, ep string) (*DefragmentResponse, error) {
	var out *DefragmentResponse
	err := m.onEndpoint(ctx, ep, func(ctx context.Context, mc pb.MaintenanceClient) error {
		resp, err := mc.Defragment(ctx, &pb.DefragmentRequest{}, m.callOpts...)
		out = (*DefragmentResponse)(resp)
		return toErr(ctx, err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (m *maintenance) Status(ctx context.Context, ep string) (*StatusResponse, error) {
	var out *StatusResponse
	err := m.onEndpoint(ctx, ep, func(ctx context.Context, mc pb.MaintenanceClient) error {
		resp, err := mc.Status(ctx, &pb.StatusRequest{}, m.callOpts...)
		out = (*StatusResponse)(resp)
		return toErr(ctx, err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (m *maintenance) HashKV(ctx context.Context, ep string, rev int64) (*HashKVResponse, error) {
	var out *HashKVResponse
	err := m.onEndpoint(ctx, ep, func(ctx context.Context, mc pb.MaintenanceClient) error {
		resp, err := mc.HashKV(ctx, &pb.HashKVRequest{Revision: rev}, m.callOpts...)
		out = (*HashKVResponse)(resp)
		return toErr(ctx, err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Snapshot returns as soon as the stream is open, as the official client's
// does: an error the server sends before the first byte comes from Read.
func (m *maintenance) Snapshot(ctx context.Context) (io.ReadCloser, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	sctx, cancel := context.WithCancel(ctx)
	ss, err := m.remote.Snapshot(sctx, &pb.SnapshotRequest{}, m.callOpts...)
	if err != nil {
		cancel()
		return nil, toErr(ctx, err)
	}
	return pipeSnapshot(ctx, ss, nil, cancel), nil
}

// SnapshotWithVersion waits for the first message of the snapshot stream
// (for its header and version) and then streams the rest through a pipe.
// An error receiving that first message is returned as gRPC gave it (io.EOF
// for a stream that ended empty), as the official client returns it.
func (m *maintenance) SnapshotWithVersion(ctx context.Context) (*SnapshotResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	sctx, cancel := context.WithCancel(ctx)
	ss, err := m.remote.Snapshot(sctx, &pb.SnapshotRequest{}, m.callOpts...)
	if err != nil {
		cancel()
		return nil, toErr(ctx, err)
	}
	first, err := ss.Recv()
	if err != nil {
		cancel()
		return nil, err
	}
	return &SnapshotResponse{
		Header:   first.GetHeader(),
		Snapshot: pipeSnapshot(ctx, ss, first, cancel),
		Version:  first.GetVersion(),
	}, nil
}

// pipeSnapshot copies the blobs of ss, starting with first when it is not
// nil, into the reader it returns. The copy ends, and cancel is called,
// when the stream ends or fails or the reader is closed.
func pipeSnapshot(ctx context.Context, ss pb.Maintenance_SnapshotClient, first *pb.SnapshotResponse, cancel context.CancelFunc) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		defer cancel()
		msg := first
		for {
			if msg != nil {
				if _, err := pw.Write(msg.GetBlob()); err != nil {
					return // the reader was closed
				}
			}
			var err error
			msg, err = ss.Recv()
			if err == io.EOF {
				pw.Close()
				return
			}
			if err != nil {
				pw.CloseWithError(toErr(ctx, err))
				return
			}
		}
	}()
	return &snapshotReader{PipeReader: pr, cancel: cancel}
}

// snapshotReader ends the snapshot stream when closed.
type snapshotReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r *snapshotReader) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

func (m *maintenance) MoveLeader(ctx context.Context, transfereeID uint64) (*MoveLeaderResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	resp, err := m.remote.MoveLeader(ctx, &pb.MoveLeaderRequest{TargetID: transfereeID}, m.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*MoveLeaderResponse)(resp), nil
}

func (m *maintenance) Downgrade(ctx context.Context, action DowngradeAction, version string) (*DowngradeResponse, error) {
	if ctx == nil {
		return nil, errNilContext
	}
	switch action {
	case DowngradeValidate, DowngradeEnable, DowngradeCancel:
	default:
		return nil, errors.New("etcdclient: unknown downgrade action")
	}
	req := &pb.DowngradeRequest{Action: pb.DowngradeRequest_DowngradeAction(action), Version: version}
	resp, err := m.remote.Downgrade(ctx, req, m.callOpts...)
	if err != nil {
		return nil, toErr(ctx, err)
	}
	return (*DowngradeResponse)(resp), nil
}
