package robustness

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// A Fault is one kind of fault the nemesis injects.
type Fault string

// The faults. Each hits one member (or, for rolling-restart, each member in
// turn), so that a quorum always remains.
const (
	Kill           Fault = "kill"            // SIGKILL, then restart on its data
	Freeze         Fault = "sigstop"         // SIGSTOP, then SIGCONT
	Isolate        Fault = "isolate"         // cut off from its peers
	Blackhole      Fault = "blackhole"       // clients' connections accepted, never answered
	Delay          Fault = "delay"           // client traffic delayed 100-600 ms each way
	KillLeader     Fault = "kill-leader"     // Kill, on the leader
	IsolateLeader  Fault = "isolate-leader"  // Isolate, on the leader
	RollingRestart Fault = "rolling-restart" // every member restarted, one after another
	Compact        Fault = "compact"         // history compacted up to a few seconds ago
)

// ValidFault reports whether f is one of Faults.
func ValidFault(f Fault) bool { return slices.Contains(Faults, f) }

// Faults lists every fault, in the order the nemesis draws from.
var Faults = []Fault{Kill, Freeze, Isolate, Blackhole, Delay, KillLeader, IsolateLeader, RollingRestart, Compact}

// An Injection is one fault the nemesis injected.
type Injection struct {
	Fault  Fault
	Member string
	Start  time.Duration
	End    time.Duration
	Err    string
}

func (i Injection) String() string {
	s := fmt.Sprintf("%6.1fs-%6.1fs %-15s %s", i.Start.Seconds(), i.End.Seconds(), i.Fault, i.Member)
	if i.Err != "" {
		s += " (" + i.Err + ")"
	}
	return s
}

// nemesis injects a seeded random schedule of faults into a cluster. The
// choices depend only on the seed, so two runs with one seed see the same
// schedule (only which member is leader depends on the run).
type nemesis struct {
	c      *etcdtest.Cluster
	rng    *rand.Rand
	faults []Fault
	now    func() time.Duration
	// compact compacts the history up to a revision; currentRev reads the
	// current revision. Both go through an observer client.
	compact    func(ctx context.Context, rev int64) error
	currentRev func(ctx context.Context) (int64, error)
}

// run injects faults until ctx is done and returns what it injected. Every
// fault is healed before run returns.
func (n *nemesis) run(ctx context.Context) []Injection {
	var done []Injection
	for {
		sleep(ctx, time.Duration(1000+n.rng.Intn(2000))*time.Millisecond)
		if ctx.Err() != nil {
			return done
		}
		f := n.faults[n.rng.Intn(len(n.faults))]
		hold := time.Duration(2000+n.rng.Intn(4000)) * time.Millisecond
		pick := n.rng.Intn(len(n.c.Members()))
		inj := Injection{Fault: f, Start: n.now()}
		err := n.inject(ctx, &inj, pick, hold)
		if herr := n.healAll(); err == nil {
			err = herr
		}
		if err != nil {
			inj.Err = err.Error()
		}
		inj.End = n.now()
		done = append(done, inj)
	}
}

// healAll brings back every member a fault left down (a failed restart, a
// kill whose restart was never reached), so that the next fault never
// strikes a cluster already short of a member.
func (n *nemesis) healAll() error {
	var errs []error
	for _, m := range n.c.Members() {
		if !m.Running() {
			if err := m.Restart(); err != nil {
				errs = append(errs, fmt.Errorf("restarting %s: %w", m.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

func (n *nemesis) inject(ctx context.Context, inj *Injection, pick int, hold time.Duration) error {
	m := n.c.Members()[pick]
	switch inj.Fault {
	case KillLeader, IsolateLeader:
		if l := n.c.Leader(); l != nil {
			m = l
		}
	case RollingRestart:
		return n.rollingRestart(ctx, inj)
	case Compact:
		return n.compactLater(ctx, inj, hold)
	}
	inj.Member = m.Name()
	switch inj.Fault {
	case Kill, KillLeader:
		if err := m.Kill(); err != nil {
			return err
		}
		sleep(ctx, hold)
		return m.Restart()
	case Freeze:
		if err := m.Stop(); err != nil {
			m.Resume()
			return err
		}
		sleep(ctx, hold)
		return m.Resume()
	case Isolate, IsolateLeader:
		m.Isolate()
		sleep(ctx, hold)
		m.Heal()
	case Blackhole:
		m.Blackhole()
		sleep(ctx, hold)
		m.Unblackhole()
	case Delay:
		m.SetDelay(time.Duration(100+n.rng.Intn(500)) * time.Millisecond)
		sleep(ctx, hold)
		m.SetDelay(0)
	default:
		return fmt.Errorf("robustness: unknown fault %q", inj.Fault)
	}
	return nil
}

func (n *nemesis) rollingRestart(ctx context.Context, inj *Injection) error {
	inj.Member = "all"
	for _, m := range n.c.Members() {
		// A member that fails to come back stops the round: restarting
		// the next could leave the cluster without a quorum. healAll
		// brings it back if it is not running.
		if err := m.Restart(); err != nil {
			return fmt.Errorf("restarting %s: %w", m.Name(), err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := n.c.WaitLeader(wctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return err
		}
	}
	return nil
}

// compactLater reads the current revision, waits, and compacts up to it,
// so that watches lagging by more than the wait are compacted away.
func (n *nemesis) compactLater(ctx context.Context, inj *Injection, wait time.Duration) error {
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	rev, err := n.currentRev(rctx)
	cancel()
	if err != nil {
		return err
	}
	inj.Member = fmt.Sprintf("rev %d", rev)
	sleep(ctx, wait)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
	defer cancel()
	return n.compact(cctx, rev)
}
