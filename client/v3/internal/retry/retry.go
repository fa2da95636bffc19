package retry

import (
	"errors"
	"io"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/a74b11dd/etcdkit/internal/backoff"
)

// Defaults of Policy, used for zero Config fields.
const (
	DefaultMaxRetries     = 100
	DefaultWaitBetween    = 25 * time.Millisecond
	DefaultJitterFraction = 0.10
)

// Kind says whether repeating an RPC is harmless.
type Kind int

const (
	// Mutating RPCs may change state: never repeat one that may have
	// reached a server.
	Mutating Kind = iota
	// Idempotent RPCs only read: repeating them is harmless.
	Idempotent
	// Raw is the retry policy's kind for every call a user makes with a
	// raw stub over the client's connection: such calls are repeated
	// only after a learner's refusal, as the official client repeats
	// them (its test for an unsent request matches no message of
	// today's gRPC).
	Raw
)

func (k Kind) String() string {
	switch k {
	case Idempotent:
		return "idempotent"
	case Raw:
		return "raw"
	}
	return "mutating"
}

// idempotent lists the read-only RPCs by full method name. Every method
// not listed (and Txn with a write in it) is Mutating.
var idempotent = map[string]bool{
	"/etcdserverpb.KV/Range":              true,
	"/etcdserverpb.KV/RangeStream":        true,
	"/etcdserverpb.Lease/LeaseTimeToLive": true,
	"/etcdserverpb.Lease/LeaseLeases":     true,
	"/etcdserverpb.Cluster/MemberList":    true,
	"/etcdserverpb.Maintenance/Status":    true,
	"/etcdserverpb.Maintenance/Hash":      true,
	"/etcdserverpb.Maintenance/HashKV":    true,
	"/etcdserverpb.Maintenance/Snapshot":  true,
	"/etcdserverpb.Auth/Authenticate":     true,
	"/etcdserverpb.Auth/AuthStatus":       true,
	"/etcdserverpb.Auth/UserGet":          true,
	"/etcdserverpb.Auth/UserList":         true,
	"/etcdserverpb.Auth/RoleGet":          true,
	"/etcdserverpb.Auth/RoleList":         true,
	"/v3electionpb.Election/Leader":       true,
}

// Classify returns the kind of the RPC method called with request req.
// A Txn is idempotent when none of its branches writes; an Alarm request
// when it only lists alarms.
func Classify(method string, req any) Kind {
	if idempotent[method] {
		return Idempotent
	}
	switch r := req.(type) {
	case *pb.TxnRequest:
		if method == "/etcdserverpb.KV/Txn" && !txnWrites(r) {
			return Idempotent
		}
	case *pb.AlarmRequest:
		if method == "/etcdserverpb.Maintenance/Alarm" && r.GetAction() == pb.AlarmRequest_GET {
			return Idempotent
		}
	}
	return Mutating
}

func txnWrites(t *pb.TxnRequest) bool {
	for _, ops := range [][]*pb.RequestOp{t.GetSuccess(), t.GetFailure()} {
		for _, op := range ops {
			switch r := op.GetRequest().(type) {
			case *pb.RequestOp_RequestRange:
			case *pb.RequestOp_RequestTxn:
				if txnWrites(r.RequestTxn) {
					return true
				}
			default:
				return true
			}
		}
	}
	return false
}

// Failure describes a failed attempt, for Retryable.
type Failure struct {
	Kind Kind
	// MaybeSent is false only when the request provably did not leave
	// the client.
	MaybeSent bool
	// CallerRequiresLeader says the caller asked for require-leader
	// (WithRequireLeader): a member's ErrNoLeader is its answer.
	CallerRequiresLeader bool
	// Alternatives says the client has more than one endpoint.
	Alternatives bool
	Err          error
}

// Retryable reports whether the attempt that failed as f describes may be
// repeated.
//
// Only Unavailable failures (connection lost, no leader, server stopped,
// request timed out on the server, ...) are retried: other codes describe
// the request, and repeating it gives the same answer. A write rejected
// with ErrNoLeader is retried although it was sent: a member checks for a
// leader before it looks at a require-leader request, so the rejection
// proves nothing was applied; unless the caller asked for require-leader,
// and so to be told, as the official client tells it. A learner's
// refusal (ErrGRPCNotSupportedForLearner) likewise applied nothing, and
// is retried, writes included, when another endpoint may be a voting
// member, as the official client does; that is the only failure of a Raw
// call that is retried.
func Retryable(f Failure) bool {
	if f.Alternatives && IsLearnerRefusal(f.Err) {
		return true
	}
	if f.Kind == Raw || status.Code(f.Err) != codes.Unavailable {
		return false
	}
	return f.Kind == Idempotent || !f.MaybeSent || (IsNoLeader(f.Err) && !f.CallerRequiresLeader)
}

// IsLearnerRefusal reports whether err is a learner's refusal of an RPC it
// does not serve.
func IsLearnerRefusal(err error) bool {
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.FailedPrecondition && s.Message() == learnerDesc
}

var learnerDesc = rpctypes.ErrorDesc(rpctypes.ErrGRPCNotSupportedForLearner)

// IsNoLeader reports whether err is a member's answer that it has no
// leader, as the status the member sends (rpctypes.ErrGRPCNoLeader) or as
// the error the client makes of it (rpctypes.ErrNoLeader). The member
// rejects such a request before acting on it. It is the client's one test
// of "no leader": calls, streams and probes all ask it.
func IsNoLeader(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, rpctypes.ErrNoLeader) {
		return true
	}
	s, ok := status.FromError(err)
	return ok && s.Code() == codes.Unavailable && s.Message() == noLeaderDesc
}

var noLeaderDesc = rpctypes.ErrorDesc(rpctypes.ErrGRPCNoLeader)

// A Stream is a kind of stream whose owner opens it again after it broke.
type Stream uint8

const (
	// WatchStream is a watch stream.
	WatchStream Stream = iota
	// KeepAliveStream is the lessor's stream that renews every lease.
	KeepAliveStream
	// KeepAliveOnceStream is the stream of one KeepAliveOnce call.
	KeepAliveOnceStream
)

// ReopenStream reports whether a stream of kind s that failed with err,
// while its owner's context is alive and the client's connection is not
// shut down, is opened again. The three rules are the official client's,
// kept so that a caller sees the same errors:
//   - a watch: the server ended the stream (io.EOF), or a status
//     Unavailable (a member gone, or without a leader), Internal, or
//     Canceled (etcd cancels a stream it drops; the owner's context is
//     alive, so the cancellation was not the owner's);
//   - the keep-alive loop: any status the server sent, since the leases
//     may still be saved by renewing them elsewhere; an error that is not
//     the server's ends it;
//   - KeepAliveOnce: Unavailable or Internal only, and not an error of
//     etcd's own (no leader, request timed out, ...), which the official
//     client returns at once; any other answer is the caller's.
//
// Whether a member without a leader (IsNoLeader) ends the watches or
// keep-alives that required one is their owner's to decide first.
func ReopenStream(s Stream, err error) bool {
	code := status.Code(err)
	switch s {
	case WatchStream:
		return errors.Is(err, io.EOF) || code == codes.Unavailable || code == codes.Internal || code == codes.Canceled
	case KeepAliveStream:
		_, fromServer := status.FromError(err)
		return fromServer
	case KeepAliveOnceStream:
		if _, etcds := rpctypes.Error(err).(rpctypes.EtcdError); etcds {
			return false
		}
		return code == codes.Unavailable || code == codes.Internal
	}
	return false
}

// Policy bounds and paces retries.
type Policy struct {
	// MaxRetries bounds the attempts of a call, the first included, as
	// the official client counts Config.MaxUnaryRetries.
	MaxRetries     uint
	WaitBetween    time.Duration
	JitterFraction float64
}

// WithDefaults returns p with zero fields replaced by the defaults.
func (p Policy) WithDefaults() Policy {
	if p.MaxRetries == 0 {
		p.MaxRetries = DefaultMaxRetries
	}
	if p.WaitBetween <= 0 {
		p.WaitBetween = DefaultWaitBetween
	}
	if p.JitterFraction <= 0 {
		p.JitterFraction = DefaultJitterFraction
	}
	return p
}

// Backoff returns the wait before retry number attempt (0-based): the
// base wait, randomized by up to ±JitterFraction of it.
func (p Policy) Backoff(attempt uint) time.Duration {
	_ = attempt // linear pacing: the picker, not the wait, avoids bad members
	return backoff.Jitter(p.WaitBetween, p.JitterFraction)
}

// MaxNoLeaderWait bounds the wait between retries of a call that members
// keep rejecting for want of a leader.
const MaxNoLeaderWait = 250 * time.Millisecond

// MaxNoLeaderTime bounds how long a call without a deadline waits for a
// leader, held unsent or refused with ErrNoLeader, before it returns that
// error (a call with a deadline waits as long as that allows): the time
// after which etcd itself gives up on a request, with its default timing
// (5 s plus two election timeouts). An election takes one to two seconds;
// a cluster that has none for this long has likely lost its quorum, and a
// call without a deadline should say so rather than retry on.
const MaxNoLeaderTime = 7 * time.Second

// NoLeaderExhausted reports whether a call refused with ErrNoLeader must
// stop retrying, having waited for a leader for waited; bounded says
// whether the call has a deadline of its own, which then decides instead.
func NoLeaderExhausted(waited time.Duration, bounded bool) bool {
	return !bounded && waited >= MaxNoLeaderTime
}

// NoLeaderBackoff returns the wait before a retry that follows streak
// consecutive ErrNoLeader rejections (streak >= 1). The first retry is as
// quick as any, since the picker now avoids the member that had no
// leader; after that every member may be in an election, which takes
// about a second or two, so the wait doubles up to MaxNoLeaderWait
// instead of spending the retry budget in a few seconds.
func (p Policy) NoLeaderBackoff(streak uint) time.Duration {
	e := backoff.Exponential{Base: p.WaitBetween, Max: max(MaxNoLeaderWait, p.WaitBetween)}
	return backoff.Jitter(e.Delay(int(streak)), p.JitterFraction)
}
