package client

import (
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

// An alarm is the cluster's, not a member's, and etcd 3.5 applies v2 writes
// under it: the official client's writes succeed, so ours must send them,
// although etcd's plain /health answers false while an alarm is raised.
func TestWritesAreSentWhileTheClusterHasAnAlarm(t *testing.T) {
	for _, alarm := range []pb.AlarmType{pb.AlarmType_NOSPACE, pb.AlarmType_CORRUPT} {
		t.Run(alarm.String(), func(t *testing.T) {
			c := newV2Cluster(t, 1)
			ctx := testCtx(t)
			cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer cli.Close()
			raise := &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: c.Members()[0].ID(), Alarm: alarm}
			if _, err := pb.NewMaintenanceClient(cli.ActiveConnection()).Alarm(ctx, raise); err != nil {
				t.Fatalf("raising the %s alarm: %v", alarm, err)
			}
			if _, body := getOnce(t, c.ClientURLs()[0]+"/health"); !strings.Contains(body, `"health":"false"`) {
				t.Fatalf("/health with the %s alarm raised answers %s; the test needs it to say false", alarm, body)
			}

			cl, _ := newClient(t, c.ClientURLs(), Config{})
			k := NewKeysAPI(cl)
			if _, err := k.Get(ctx, key(t, "none"), nil); !IsKeyNotFound(err) {
				t.Fatalf("Get: %v, want key not found", err)
			}
			// Let the prober judge the member (every 250 ms) before
			// the writes.
			time.Sleep(time.Second)
			if _, err := k.Set(ctx, key(t, "k"), "v", nil); err != nil {
				t.Fatalf("Set with the %s alarm raised: %v; etcd applies it and the official client sends it", alarm, err)
			}
			if _, err := k.Create(ctx, key(t, "c"), "v"); err != nil {
				t.Fatalf("Create with the %s alarm raised: %v; etcd applies it and the official client sends it", alarm, err)
			}
			if _, err := k.Delete(ctx, key(t, "k"), nil); err != nil {
				t.Fatalf("Delete with the %s alarm raised: %v; etcd applies it and the official client sends it", alarm, err)
			}
		})
	}
}
