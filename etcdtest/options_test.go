package etcdtest

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

func TestAutoCompactionOptionCompactsOldRevisions(t *testing.T) {
	c := NewCluster(t, WithAutoCompaction("periodic", "1s"))
	conn := dial(t, c.Endpoints()[0], nil)
	for i := 0; i < 3; i++ {
		if err := put(timeout(t, 5*time.Second), conn, "k", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "revision 2 to be compacted away", 20*time.Second, func() bool {
		_, err := pb.NewKVClient(conn).Range(timeout(t, time.Second), &pb.RangeRequest{Key: []byte("k"), Revision: 2})
		return err != nil && strings.Contains(err.Error(), "compacted")
	})
}

func TestSnapshotCountOptionTriggersSnapshots(t *testing.T) {
	c := NewCluster(t, WithSnapshotCount(10))
	conn := dial(t, c.Endpoints()[0], nil)
	for i := 0; i < 30; i++ {
		if err := put(timeout(t, 5*time.Second), conn, "k", strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(c.Members()[0].DataDir(), "member", "snap")
	waitFor(t, "a .snap file in "+dir, 10*time.Second, func() bool {
		snaps, _ := filepath.Glob(filepath.Join(dir, "*.snap"))
		return len(snaps) > 0
	})
}

func TestExtraFlagsReachTheServer(t *testing.T) {
	c := NewCluster(t, WithFlags("--max-txn-ops=3"))
	ops := make([]*pb.RequestOp, 4)
	for i := range ops {
		ops[i] = &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("k" + strconv.Itoa(i))}}}
	}
	_, err := pb.NewKVClient(dial(t, c.Endpoints()[0], nil)).Txn(timeout(t, 5*time.Second), &pb.TxnRequest{Success: ops})
	if err == nil || !strings.Contains(err.Error(), "too many operations") {
		t.Fatalf("a 4-op txn with --max-txn-ops=3: got %v, want the server to refuse it", err)
	}
}
