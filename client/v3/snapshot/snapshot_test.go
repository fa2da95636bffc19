package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"github.com/a74b11dd/etcdkit/etcdtest"
	"go.uber.org/zap/zaptest"
)

func TestSaveWithVersionWritesAVerifiedSnapshotAndReturnsTheVersion(t *testing.T) {
	c := sharedcluster.Cluster(t)
	cli := sharedcluster.Client(t)
	ctx := sharedcluster.Context(t)
	marker := sharedcluster.Prefix(t) + "marker-key"
	if _, err := cli.Put(ctx, marker, "v"); err != nil {
		t.Fatal(err)
	}

	dbPath := filepath.Join(t.TempDir(), "snap.db")
	cfg := clientv3.Config{Endpoints: c.Endpoints()[:1], DialTimeout: 5 * time.Second}
	version, err := SaveWithVersion(ctx, zaptest.NewLogger(t), cfg, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(version, "3.7.") {
		t.Errorf("version = %q, want the 3.7 server's version", version)
	}
	data, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		t.Error("saved file does not end with the SHA-256 of its contents")
	}
	if !bytes.Contains(body, []byte(marker)) {
		t.Error("saved snapshot does not contain a key written before it")
	}
	if _, err := os.Stat(dbPath + ".part"); !os.IsNotExist(err) {
		t.Errorf("temporary file left behind: stat error %v", err)
	}
}

func TestSaveWithVersionFromEtcd35ReturnsNoVersion(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithVersion(etcdtest.V3_5))
	dbPath := filepath.Join(t.TempDir(), "snap.db")
	cfg := clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second}
	version, err := SaveWithVersion(sharedcluster.Context(t), nil, cfg, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if version != "" {
		t.Errorf("version from etcd 3.5 = %q, want empty", version)
	}
}

func TestSaveWithVersionNeedsExactlyOneEndpoint(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "snap.db")
	for _, eps := range [][]string{nil, {"127.0.0.1:1", "127.0.0.1:2"}} {
		if _, err := SaveWithVersion(context.Background(), nil, clientv3.Config{Endpoints: eps}, dbPath); err == nil {
			t.Errorf("SaveWithVersion with endpoints %v succeeded, want an error", eps)
		}
	}
}

func TestSaveWithVersionWithCanceledContextLeavesNoFile(t *testing.T) {
	c := sharedcluster.Cluster(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "snap.db")
	cfg := clientv3.Config{Endpoints: c.Endpoints()[:1], DialTimeout: 5 * time.Second}
	if _, err := SaveWithVersion(ctx, nil, cfg, dbPath); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("files left after a canceled save: %v", entries)
	}
}
