package clientv3_test

import (
	"bytes"
	"io"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
)

func TestStatusAndHashKVAnswerFromTheNamedMember(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	for _, m := range shared.Members() {
		for _, ep := range []string{m.Endpoint(), m.ClientURL()} {
			st, err := cli.Status(ctx, ep)
			if err != nil {
				t.Fatalf("Status(%s): %v", ep, err)
			}
			if st.Header.MemberId != m.ID() {
				t.Errorf("Status(%s) answered by %x, want %x", ep, st.Header.MemberId, m.ID())
			}
			if st.Version == "" {
				t.Errorf("Status(%s).Version is empty", ep)
			}
		}
		h, err := cli.HashKV(ctx, m.Endpoint(), 0)
		if err != nil {
			t.Fatalf("HashKV(%s): %v", m.Endpoint(), err)
		}
		if h.Header.MemberId != m.ID() {
			t.Errorf("HashKV answered by %x, want %x", h.Header.MemberId, m.ID())
		}
	}
	// An endpoint the client was not configured with is dialed directly.
	direct := shared.Members()[0].DirectEndpoint()
	st, err := cli.Status(ctx, direct)
	if err != nil || st.Header.MemberId != shared.Members()[0].ID() {
		t.Fatalf("Status(%s) = %v, %v; want member %x", direct, st, err, shared.Members()[0].ID())
	}
}

func TestAlarmListAndDisarmWithNoAlarms(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	list, err := cli.AlarmList(ctx)
	if err != nil || len(list.Alarms) != 0 {
		t.Fatalf("AlarmList = %v, %v; want no alarms", list, err)
	}
	resp, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{})
	if err != nil || len(resp.Alarms) != 0 || resp.Header != nil {
		t.Fatalf("AlarmDisarm(all) = %v, %v; want nothing disarmed and no header, as the official answers", resp, err)
	}
	if _, err := cli.AlarmDisarm(ctx, nil); err == nil {
		t.Error("AlarmDisarm(nil) succeeded; want an error (the official client panics), not every alarm disarmed")
	}
	if _, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: shared.Members()[0].ID(), Alarm: pb.AlarmType_NOSPACE}); err != nil {
		t.Fatalf("AlarmDisarm(one): %v", err)
	}
}

func TestDefragmentAMember(t *testing.T) {
	c := startCluster(t, 1)
	cli := newClientOf(t, c)
	if _, err := cli.Defragment(ctxT(t), c.Endpoints()[0]); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotStreamsADatabaseWithItsVersion(t *testing.T) {
	cli := newClient(t)
	ctx := ctxT(t)
	put(t, cli, key(t, "k"), "v")
	resp, err := cli.SnapshotWithVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Snapshot.Close()
	data, err := io.ReadAll(resp.Snapshot)
	if err != nil {
		t.Fatalf("reading snapshot: %v", err)
	}
	// etcd 3.7 sends no header on the snapshot stream; the version is set.
	if len(data) < 1024 || resp.Version == "" {
		t.Fatalf("snapshot: %d bytes, version %q; want a database and a version", len(data), resp.Version)
	}
	// A bbolt file carries its magic number in the first page's meta.
	if !bytes.Contains(data[:4096], []byte{0xed, 0xda, 0x0c, 0xed}) {
		t.Errorf("snapshot does not look like a bbolt database")
	}

	rc, err := cli.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Closing before reading everything ends the stream without leaks.
	buf := make([]byte, 10)
	if _, err := io.ReadFull(rc, buf); err != nil {
		t.Fatalf("reading deprecated Snapshot: %v", err)
	}
	rc.Close()
}

func TestMoveLeaderHandsLeadershipToTheTransferee(t *testing.T) {
	c := startCluster(t, 3)
	cli := newClientOf(t, c)
	ctx := ctxT(t)
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var target uint64
	for _, m := range c.Members() {
		if m.ID() != leader.ID() {
			target = m.ID()
			break
		}
	}
	// MoveLeader must reach the leader: go through a client of it alone.
	lc := newClientOf(t, c, func(cfg *clientv3.Config) { cfg.Endpoints = []string{leader.Endpoint()} })
	if _, err := lc.MoveLeader(ctx, target); err != nil {
		t.Fatalf("MoveLeader: %v", err)
	}
	st, err := cli.Status(ctx, leader.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	if st.Leader != target {
		t.Fatalf("leader after MoveLeader = %x, want %x", st.Leader, target)
	}
}

func TestDowngradeValidateRejectsAMalformedVersion(t *testing.T) {
	cli := newClient(t)
	_, err := cli.Downgrade(ctxT(t), clientv3.DowngradeValidate, "not-a-version")
	if err != rpctypes.ErrWrongDowngradeVersionFormat {
		t.Fatalf("err = %v, want ErrWrongDowngradeVersionFormat", err)
	}
}

func TestDowngradeRefusesAnUnknownActionBeforeSending(t *testing.T) {
	cli := newClient(t)
	_, err := cli.Downgrade(ctxT(t), clientv3.DowngradeAction(7), "3.6.0")
	if err == nil || err.Error() != "etcdclient: unknown downgrade action" {
		t.Fatalf("err = %v, want \"etcdclient: unknown downgrade action\" as the official returns", err)
	}
}
