package balancer

import (
	"context"
	"errors"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/balancer"
	"google.golang.org/grpc/balancer/base"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/status"
)

// fakeSC stands in for a READY SubConn; the picker only hands it back.
type fakeSC struct {
	balancer.SubConn
	name string
}

func buildPicker(h *Health, addrs ...string) (balancer.Picker, map[balancer.SubConn]string) {
	info := base.PickerBuildInfo{ReadySCs: map[balancer.SubConn]base.SubConnInfo{}}
	names := map[balancer.SubConn]string{}
	for _, a := range addrs {
		sc := &fakeSC{name: a}
		info.ReadySCs[sc] = base.SubConnInfo{Address: withHealth(resolver.Address{Addr: a}, h)}
		names[sc] = a
	}
	return pickerBuilder{}.Build(info), names
}

func pick(t *testing.T, p balancer.Picker, ctx context.Context) (string, balancer.PickResult) {
	t.Helper()
	res, err := p.Pick(balancer.PickInfo{FullMethodName: "/etcdserverpb.KV/Range", Ctx: ctx})
	if err != nil {
		t.Fatalf("Pick: %v", err)
	}
	return res.SubConn.(*fakeSC).name, res
}

func TestPickerSpreadsCallsOverReadyEndpoints(t *testing.T) {
	p, _ := buildPicker(NewHealth(), "a", "b", "c")
	seen := map[string]int{}
	for range 300 {
		name, res := pick(t, p, context.Background())
		res.Done(balancer.DoneInfo{})
		seen[name]++
	}
	for _, a := range []string{"a", "b", "c"} {
		if seen[a] != 100 {
			t.Errorf("endpoint %s picked %d of 300 times, want 100", a, seen[a])
		}
	}
}

func TestPickerAvoidsAnEndpointThatFailedWithUnavailable(t *testing.T) {
	h := NewHealth()
	p, _ := buildPicker(h, "a", "b", "c")
	for {
		name, res := pick(t, p, context.Background())
		if name == "b" {
			res.Done(balancer.DoneInfo{Err: status.Error(codes.Unavailable, "connection refused")})
			break
		}
		res.Done(balancer.DoneInfo{})
	}
	for range 100 {
		if name, _ := pick(t, p, context.Background()); name == "b" {
			t.Fatal("picked b right after it failed with Unavailable")
		}
	}
	if st := h.Endpoint("b"); !st.Avoided || st.Failures != 1 || st.LastErr == nil {
		t.Errorf("health of b = %+v, want avoided after 1 failure", st)
	}
	h.Observe("b", nil, 0)
	if st := h.Endpoint("b"); st.Avoided || st.Failures != 0 {
		t.Errorf("health of b after a success = %+v, want healthy", st)
	}
}

func TestPickerTriesAllWhenAllAreAvoided(t *testing.T) {
	h := NewHealth()
	p, _ := buildPicker(h, "a", "b")
	h.Observe("a", status.Error(codes.Unavailable, "x"), 0)
	h.Observe("b", status.Error(codes.Unavailable, "x"), 0)
	seen := map[string]bool{}
	for range 10 {
		name, _ := pick(t, p, context.Background())
		seen[name] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("picked %v, want both endpoints tried when all are avoided", seen)
	}
}

func TestRequestErrorsDoNotMarkAnEndpoint(t *testing.T) {
	for _, err := range []error{rpctypes.ErrGRPCEmptyKey, rpctypes.ErrGRPCPermissionDenied, context.Canceled, status.Error(codes.Canceled, "c"), errors.New("x")} {
		if MarksUnhealthy(err) {
			t.Errorf("MarksUnhealthy(%v) = true, want false", err)
		}
	}
	for _, err := range []error{rpctypes.ErrGRPCNoLeader, rpctypes.ErrGRPCTimeout, status.Error(codes.Unavailable, "x"), context.DeadlineExceeded} {
		if !MarksUnhealthy(err) {
			t.Errorf("MarksUnhealthy(%v) = false, want true", err)
		}
	}
}

func TestAttemptReportsWhetherTheRequestMayHaveBeenSent(t *testing.T) {
	p, _ := buildPicker(NewHealth(), "a")
	att := &Attempt{}
	if att.MaybeSent() {
		t.Fatal("MaybeSent before any pick = true")
	}
	_, res := pick(t, p, WithAttempt(context.Background(), att))
	if !att.MaybeSent() || att.Addr() != "a" {
		t.Fatalf("after pick: MaybeSent=%v Addr=%q, want true and a (no Done yet: assume sent)", att.MaybeSent(), att.Addr())
	}
	res.Done(balancer.DoneInfo{Err: status.Error(codes.Unavailable, "x"), BytesSent: false})
	if att.MaybeSent() {
		t.Fatal("Done with BytesSent=false: MaybeSent = true")
	}
	att.Reset()
	_, res = pick(t, p, WithAttempt(context.Background(), att))
	res.Done(balancer.DoneInfo{Err: status.Error(codes.Unavailable, "x"), BytesSent: true})
	if !att.MaybeSent() {
		t.Fatal("Done with BytesSent=true: MaybeSent = false")
	}
}

func TestPinnedPickGoesToThePinnedEndpointOrWaits(t *testing.T) {
	p, _ := buildPicker(NewHealth(), "a", "b", "c")
	for range 10 {
		if name, _ := pick(t, p, WithPin(context.Background(), "c")); name != "c" {
			t.Fatalf("pinned to c, picked %s", name)
		}
	}
	_, err := p.Pick(balancer.PickInfo{Ctx: WithPin(context.Background(), "zzz")})
	if err != balancer.ErrNoSubConnAvailable {
		t.Fatalf("pinned to an unready endpoint: err = %v, want ErrNoSubConnAvailable", err)
	}
}

func TestAvoidedPickGoesElsewhereWhenItCan(t *testing.T) {
	h := NewHealth()
	p, _ := buildPicker(h, "a", "b")
	for range 20 {
		if name, _ := pick(t, p, WithAvoid(context.Background(), "a")); name != "b" {
			t.Fatalf("asked to avoid a, picked %s", name)
		}
	}
	h.Observe("b", status.Error(codes.Unavailable, "x"), 0)
	if name, _ := pick(t, p, WithAvoid(context.Background(), "a")); name == "" {
		t.Fatal("no pick when the only other endpoint is avoided")
	}
}

func TestAnAttemptThatAvoidsItsLastPickSendsTheCallsLaterAttemptsElsewhere(t *testing.T) {
	p, _ := buildPicker(NewHealth(), "a", "b", "c")
	att := &Attempt{}
	ctx := WithAttempt(context.Background(), att)
	first, res := pick(t, p, ctx)
	res.Done(balancer.DoneInfo{})
	att.AvoidLastPick()
	att.Reset()
	for range 30 {
		name, res := pick(t, p, ctx)
		res.Done(balancer.DoneInfo{})
		if name == first {
			t.Fatalf("a later attempt went back to %s, the endpoint it was to avoid", first)
		}
		att.Reset()
	}
}
