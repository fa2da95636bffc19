package retry

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestClassifyReadsAsIdempotentAndWritesAsMutating(t *testing.T) {
	get := &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{}}}
	put := &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{}}}
	nestedPut := &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Failure: []*pb.RequestOp{put}}}}
	nestedGet := &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: []*pb.RequestOp{get}}}}
	tests := []struct {
		method string
		req    any
		want   Kind
	}{
		{"/etcdserverpb.KV/Range", &pb.RangeRequest{}, Idempotent},
		{"/etcdserverpb.KV/Put", &pb.PutRequest{}, Mutating},
		{"/etcdserverpb.KV/DeleteRange", &pb.DeleteRangeRequest{}, Mutating},
		{"/etcdserverpb.KV/Compact", &pb.CompactionRequest{}, Mutating},
		{"/etcdserverpb.KV/Txn", &pb.TxnRequest{Success: []*pb.RequestOp{get}}, Idempotent},
		{"/etcdserverpb.KV/Txn", &pb.TxnRequest{Success: []*pb.RequestOp{get}, Failure: []*pb.RequestOp{put}}, Mutating},
		{"/etcdserverpb.KV/Txn", &pb.TxnRequest{Success: []*pb.RequestOp{nestedPut}}, Mutating},
		{"/etcdserverpb.KV/Txn", &pb.TxnRequest{Success: []*pb.RequestOp{nestedGet}}, Idempotent},
		{"/etcdserverpb.Lease/LeaseGrant", &pb.LeaseGrantRequest{}, Mutating},
		{"/etcdserverpb.Lease/LeaseTimeToLive", &pb.LeaseTimeToLiveRequest{}, Idempotent},
		{"/etcdserverpb.Maintenance/Alarm", &pb.AlarmRequest{Action: pb.AlarmRequest_GET}, Idempotent},
		{"/etcdserverpb.Maintenance/Alarm", &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE}, Mutating},
		{"/etcdserverpb.Cluster/MemberAdd", &pb.MemberAddRequest{}, Mutating},
		{"/etcdserverpb.Auth/UserAdd", &pb.AuthUserAddRequest{}, Mutating},
		{"/etcdserverpb.Auth/UserList", &pb.AuthUserListRequest{}, Idempotent},
		{"/unknown.Service/Method", nil, Mutating},
	}
	for _, tt := range tests {
		if got := Classify(tt.method, tt.req); got != tt.want {
			t.Errorf("Classify(%s, %v) = %v, want %v", tt.method, tt.req, got, tt.want)
		}
	}
}

func TestRetryableNeverRepeatsAWriteThatMayHaveBeenSent(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "connection reset")
	tests := []struct {
		name         string
		kind         Kind
		maybeSent    bool
		callerLeader bool
		err          error
		want         bool
	}{
		{"read, sent, unavailable", Idempotent, true, false, unavailable, true},
		{"read, sent, no leader", Idempotent, true, false, rpctypes.ErrGRPCNoLeader, true},
		{"write, not sent, unavailable", Mutating, false, false, unavailable, true},
		{"write, sent, unavailable", Mutating, true, false, unavailable, false},
		{"write, sent, request timed out", Mutating, true, false, rpctypes.ErrGRPCTimeout, false},
		{"write, sent, rejected for want of a leader", Mutating, true, false, rpctypes.ErrGRPCNoLeader, true},
		{"write, sent, leader changed", Mutating, true, false, rpctypes.ErrGRPCLeaderChanged, false},
		{"read, invalid argument", Idempotent, true, false, rpctypes.ErrGRPCEmptyKey, false},
		{"read, deadline", Idempotent, false, false, status.Error(codes.DeadlineExceeded, "x"), false},
		{"read, canceled", Idempotent, false, false, status.Error(codes.Canceled, "x"), false},
		{"read, plain error", Idempotent, false, false, errors.New("x"), false},
		{"read, too large", Idempotent, false, false, status.Error(codes.ResourceExhausted, "too large"), false},
		{"write, sent, no leader, the caller required one", Mutating, true, true, rpctypes.ErrGRPCNoLeader, false},
		{"write, not sent, the caller required a leader", Mutating, false, true, unavailable, true},
		{"read, sent, no leader, the caller required one", Idempotent, true, true, rpctypes.ErrGRPCNoLeader, true},
	}
	for _, tt := range tests {
		f := Failure{Kind: tt.kind, MaybeSent: tt.maybeSent, CallerRequiresLeader: tt.callerLeader, Err: tt.err}
		if got := Retryable(f); got != tt.want {
			t.Errorf("%s: Retryable = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestBackoffStaysWithinJitter(t *testing.T) {
	p := Policy{WaitBetween: 100 * time.Millisecond, JitterFraction: 0.2}.WithDefaults()
	for i := range uint(200) {
		d := p.Backoff(i)
		if d < 80*time.Millisecond || d > 120*time.Millisecond {
			t.Fatalf("Backoff(%d) = %v, want within [80ms, 120ms]", i, d)
		}
	}
}

func TestWithDefaultsFillsOnlyZeroFields(t *testing.T) {
	got := Policy{MaxRetries: 3}.WithDefaults()
	want := Policy{MaxRetries: 3, WaitBetween: DefaultWaitBetween, JitterFraction: DefaultJitterFraction}
	if got != want {
		t.Errorf("WithDefaults = %+v, want %+v", got, want)
	}
}

func TestNoLeaderBackoffGrowsToItsCap(t *testing.T) {
	p := Policy{WaitBetween: 25 * time.Millisecond, JitterFraction: 0.01}.WithDefaults()
	within := func(d, want time.Duration) bool { return d >= want*98/100 && d <= want*102/100 }
	if d := p.NoLeaderBackoff(1); !within(d, 25*time.Millisecond) {
		t.Errorf("NoLeaderBackoff(1) = %v, want about 25ms: the first retry goes elsewhere at once", d)
	}
	if d := p.NoLeaderBackoff(2); !within(d, 50*time.Millisecond) {
		t.Errorf("NoLeaderBackoff(2) = %v, want about 50ms", d)
	}
	if d := p.NoLeaderBackoff(50); !within(d, MaxNoLeaderWait) {
		t.Errorf("NoLeaderBackoff(50) = %v, want about %v", d, MaxNoLeaderWait)
	}
}

func TestNoLeaderExhaustedOnlyForCallsWithoutADeadline(t *testing.T) {
	for _, c := range []struct {
		waited  time.Duration
		bounded bool
		want    bool
	}{
		{MaxNoLeaderTime - time.Millisecond, false, false},
		{MaxNoLeaderTime, false, true},
		{time.Hour, true, false},
	} {
		if got := NoLeaderExhausted(c.waited, c.bounded); got != c.want {
			t.Errorf("NoLeaderExhausted(%v, deadline %v) = %v, want %v", c.waited, c.bounded, got, c.want)
		}
	}
}

func TestALearnersRefusalIsRetriedOnlyWhenAnotherEndpointMayServe(t *testing.T) {
	learner := rpctypes.ErrGRPCNotSupportedForLearner
	for _, kind := range []Kind{Idempotent, Mutating, Raw} {
		if !Retryable(Failure{Kind: kind, MaybeSent: true, Alternatives: true, Err: learner}) {
			t.Errorf("%v refused by a learner, other endpoints: not retried; want retried", kind)
		}
		if Retryable(Failure{Kind: kind, MaybeSent: true, Err: learner}) {
			t.Errorf("%v refused by a learner, no other endpoint: retried; want the refusal returned", kind)
		}
	}
}

func TestARawCallIsRetriedOnlyAfterALearnersRefusal(t *testing.T) {
	for name, err := range map[string]error{
		"connection refused, unsent": status.Error(codes.Unavailable, "connection refused"),
		"no leader":                  rpctypes.ErrGRPCNoLeader,
	} {
		if Retryable(Failure{Kind: Raw, Alternatives: true, Err: err}) {
			t.Errorf("raw call failed with %s: retried; want the error returned, as the official client returns it", name)
		}
	}
}

func TestIsNoLeaderKnowsTheMembersStatusAndTheClientsError(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"the status a member sends", rpctypes.ErrGRPCNoLeader, true},
		{"the error the client makes of it", rpctypes.ErrNoLeader, true},
		{"that error, wrapped", fmt.Errorf("watch: %w", rpctypes.ErrNoLeader), true},
		{"another Unavailable status", status.Error(codes.Unavailable, "connection refused"), false},
		{"another etcd error", rpctypes.ErrKeyNotFound, false},
		{"nil", nil, false},
	} {
		if got := IsNoLeader(c.err); got != c.want {
			t.Errorf("IsNoLeader(%s: %v) = %v, want %v", c.name, c.err, got, c.want)
		}
	}
}

func TestReopenStreamKeepsTheOfficialClientsRulePerStream(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "connection reset")
	internal := status.Error(codes.Internal, "stream terminated")
	canceled := status.Error(codes.Canceled, "watch canceled")
	denied := status.Error(codes.PermissionDenied, "permission denied")
	notStatus := errors.New("not from the server")
	for _, c := range []struct {
		stream Stream
		err    error
		want   bool
	}{
		{WatchStream, io.EOF, true},
		{WatchStream, unavailable, true},
		{WatchStream, rpctypes.ErrGRPCNoLeader, true},
		{WatchStream, internal, true},
		{WatchStream, canceled, true},
		{WatchStream, denied, false},
		{WatchStream, notStatus, false},
		{KeepAliveStream, unavailable, true},
		{KeepAliveStream, canceled, true},
		{KeepAliveStream, denied, true},
		{KeepAliveStream, notStatus, false},
		{KeepAliveOnceStream, unavailable, true},
		{KeepAliveOnceStream, internal, true},
		{KeepAliveOnceStream, rpctypes.ErrGRPCNoLeader, false},
		{KeepAliveOnceStream, rpctypes.ErrGRPCTimeout, false},
		{KeepAliveOnceStream, canceled, false},
		{KeepAliveOnceStream, denied, false},
	} {
		if got := ReopenStream(c.stream, c.err); got != c.want {
			t.Errorf("ReopenStream(stream %d, %v) = %v, want %v", c.stream, c.err, got, c.want)
		}
	}
}
