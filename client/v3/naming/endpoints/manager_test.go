package endpoints_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/client/v3/naming/endpoints"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func newManager(t *testing.T, cli *clientv3.Client, target string) endpoints.Manager {
	t.Helper()
	em, err := endpoints.NewManager(cli, target)
	if err != nil {
		t.Fatal(err)
	}
	return em
}

func TestNewManagerRejectsMissingClientOrTargetWithTheOfficialTexts(t *testing.T) {
	if _, err := endpoints.NewManager(nil, "svc"); err == nil || err.Error() != "invalid etcd client" {
		t.Errorf("NewManager(nil client) error = %v; the official returns \"invalid etcd client\"", err)
	}
	if _, err := endpoints.NewManager(clientv3.NewCtxClient(context.Background()), ""); err == nil || err.Error() != "invalid target" {
		t.Errorf("NewManager(empty target) error = %v; the official returns \"invalid target\"", err)
	}
}

func TestAddListAndDeleteEndpoints(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	em := newManager(t, cli, target)

	if err := em.AddEndpoint(ctx, target+"/a", endpoints.Endpoint{Addr: "10.0.0.1:80", Metadata: "zone-a"}); err != nil {
		t.Fatal(err)
	}
	if err := em.AddEndpoint(ctx, target+"/b", endpoints.Endpoint{Addr: "10.0.0.2:80"}); err != nil {
		t.Fatal(err)
	}
	// A longer service name sharing the target as a string prefix is a
	// different service.
	if err := newManager(t, cli, target+"2").AddEndpoint(ctx, target+"2/c", endpoints.Endpoint{Addr: "10.0.0.3:80"}); err != nil {
		t.Fatal(err)
	}
	got, err := em.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := endpoints.Key2EndpointMap{
		target + "/a": {Addr: "10.0.0.1:80", Metadata: "zone-a"},
		target + "/b": {Addr: "10.0.0.2:80"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List = %v, want %v", got, want)
	}

	if err := em.DeleteEndpoint(ctx, target+"/a"); err != nil {
		t.Fatal(err)
	}
	got, err = em.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[target+"/b"].Addr != "10.0.0.2:80" {
		t.Errorf("List after delete = %v, want only b", got)
	}
}

func TestEndpointsAreStoredInTheGRPCNamingJSONLayout(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	if err := newManager(t, cli, target).AddEndpoint(ctx, target+"/a", endpoints.Endpoint{Addr: "10.0.0.1:80"}); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, target+"/a")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(resp.Kvs[0].Value, &v); err != nil {
		t.Fatal(err)
	}
	if v["Op"] != float64(0) || v["Addr"] != "10.0.0.1:80" {
		t.Errorf("stored value %s, want {\"Op\":0,\"Addr\":\"10.0.0.1:80\",...}", resp.Kvs[0].Value)
	}

	// And a value written in that layout by someone else is read.
	if _, err := cli.Put(ctx, target+"/ext", `{"Op":0,"Addr":"10.9.9.9:1","Metadata":{"w":2}}`); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, target+"/junk", `not json`); err != nil {
		t.Fatal(err)
	}
	got, err := newManager(t, cli, target).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got[target+"/ext"].Addr != "10.9.9.9:1" {
		t.Errorf("externally written endpoint = %+v, want Addr 10.9.9.9:1", got[target+"/ext"])
	}
	if _, ok := got[target+"/junk"]; ok || len(got) != 2 {
		t.Errorf("List = %v, want the two valid endpoints and no junk", got)
	}
}

func TestUpdateAppliesAllChangesInOneRevision(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	em := newManager(t, cli, target)
	if err := em.AddEndpoint(ctx, target+"/old", endpoints.Endpoint{Addr: "old:1"}); err != nil {
		t.Fatal(err)
	}
	err := em.Update(ctx, []*endpoints.UpdateWithOpts{
		endpoints.NewDeleteUpdateOpts(target + "/old"),
		endpoints.NewAddUpdateOpts(target+"/new", endpoints.Endpoint{Addr: "new:1"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, target+"/new")
	if err != nil {
		t.Fatal(err)
	}
	del, err := cli.Get(ctx, target+"/old", clientv3.WithRev(resp.Kvs[0].ModRevision-1))
	if err != nil {
		t.Fatal(err)
	}
	if len(del.Kvs) != 1 {
		t.Error("old endpoint was already gone one revision before the new one appeared: not one transaction")
	}
	bad := &endpoints.UpdateWithOpts{Update: endpoints.Update{Op: 7, Key: target + "/x"}}
	if err := em.Update(ctx, []*endpoints.UpdateWithOpts{bad}); err == nil {
		t.Error("Update with an unknown operation succeeded")
	}
}

func TestWatchChannelSendsTheCurrentEndpointsThenChanges(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	em := newManager(t, cli, target)
	if err := em.AddEndpoint(ctx, target+"/a", endpoints.Endpoint{Addr: "a:1"}); err != nil {
		t.Fatal(err)
	}
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch, err := em.NewWatchChannel(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := em.AddEndpoint(ctx, target+"/b", endpoints.Endpoint{Addr: "b:1"}, clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if err := em.DeleteEndpoint(ctx, target+"/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Revoke(ctx, lease.ID); err != nil {
		t.Fatal(err)
	}

	var got []string
	for len(got) < 4 {
		select {
		case ups, ok := <-wch:
			if !ok {
				t.Fatalf("watch channel closed after %v", got)
			}
			for _, u := range ups {
				got = append(got, fmt.Sprintf("%d %s %s", u.Op, u.Key, u.Endpoint.Addr))
			}
		case <-ctx.Done():
			t.Fatalf("only %v before the deadline", got)
		}
	}
	want := []string{
		fmt.Sprintf("0 %s/a a:1", target),
		fmt.Sprintf("0 %s/b b:1", target),
		fmt.Sprintf("1 %s/a ", target),
		fmt.Sprintf("1 %s/b ", target), // the lease took it
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("updates = %q, want %q", got, want)
	}
	cancel()
	for range wch {
	}
}

func TestWatchChannelOfAnEmptyTargetStartsWithTheFirstChange(t *testing.T) {
	// As the official manager: nothing is sent for a target with no
	// endpoints, so the first update a reader gets is a real change.
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	em := newManager(t, cli, target)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wch, err := em.NewWatchChannel(wctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := em.AddEndpoint(ctx, target+"/a", endpoints.Endpoint{Addr: "a:1"}); err != nil {
		t.Fatal(err)
	}
	select {
	case ups := <-wch:
		if len(ups) != 1 || ups[0].Op != endpoints.Add || ups[0].Key != target+"/a" {
			t.Fatalf("first update = %v; want the one Add of %s/a", ups, target)
		}
	case <-ctx.Done():
		t.Fatal("no update before the deadline")
	}
	cancel()
	for range wch {
	}
}

func TestUpdateRejectsBadUpdatesWithInvalidArgumentAndWritesNothing(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	em := newManager(t, cli, target)
	good := endpoints.NewAddUpdateOpts(target+"/good", endpoints.Endpoint{Addr: "good:1"})
	bad := &endpoints.UpdateWithOpts{Update: endpoints.Update{Op: endpoints.Operation(7), Key: target + "/bad"}}

	tests := []struct {
		name    string
		call    func() error
		wantMsg string
	}{
		{"add outside the target", func() error {
			return em.AddEndpoint(ctx, target+"x/a", endpoints.Endpoint{Addr: "a:1"})
		}, "endpoints: endpoint key should be prefixed with '" + target + "/' got: '" + target + "x/a'"},
		{"delete outside the target", func() error {
			return em.DeleteEndpoint(ctx, "elsewhere")
		}, "endpoints: endpoint key should be prefixed with '" + target + "/' got: 'elsewhere'"},
		{"unknown operation", func() error {
			return em.Update(ctx, []*endpoints.UpdateWithOpts{good, bad})
		}, "endpoints: bad update op"},
		{"metadata that is not JSON", func() error {
			return em.Update(ctx, []*endpoints.UpdateWithOpts{good,
				endpoints.NewAddUpdateOpts(target+"/c", endpoints.Endpoint{Addr: "c:1", Metadata: make(chan int)})})
		}, "json: unsupported type: chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if status.Code(err) != codes.InvalidArgument || status.Convert(err).Message() != tt.wantMsg {
				t.Errorf("error = %v; the official returns status InvalidArgument %q", err, tt.wantMsg)
			}
		})
	}
	resp, err := cli.Get(ctx, sharedcluster.Prefix(t), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 0 {
		t.Errorf("%d keys written by rejected updates; the official writes none", resp.Count)
	}
}

func TestUpdateWithANilUpdateFailsInsteadOfPanicking(t *testing.T) {
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	target := sharedcluster.Prefix(t) + "svc"
	em := newManager(t, cli, target)
	good := endpoints.NewAddUpdateOpts(target+"/good", endpoints.Endpoint{Addr: "good:1"})
	err := em.Update(ctx, []*endpoints.UpdateWithOpts{good, nil})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("Update with a nil update: error %v, want status InvalidArgument (the official panics)", err)
	}
	if got, err := em.List(ctx); err != nil || len(got) != 0 {
		t.Errorf("List after the rejected update = %v, %v; want nothing written", got, err)
	}
}
