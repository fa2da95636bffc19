package snapshot

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"go.uber.org/zap/zaptest"
)

// saveTo saves a snapshot of the shared cluster's first member to dbPath.
func saveTo(t *testing.T, dbPath string) (string, error) {
	t.Helper()
	cfg := clientv3.Config{Endpoints: sharedcluster.Cluster(t).Endpoints()[:1], DialTimeout: 5 * time.Second}
	return SaveWithVersion(sharedcluster.Context(t), zaptest.NewLogger(t), cfg, dbPath)
}

func TestSaveWithVersionReturnsTheVersionWithAFailedWrite(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "snap.db")
	// Writes to /dev/full fail with ENOSPC: the disk is full.
	if err := os.Symlink("/dev/full", dbPath+".part"); err != nil {
		t.Fatal(err)
	}
	version, err := saveTo(t, dbPath)
	if !strings.HasPrefix(version, "3.7.") {
		t.Errorf("version = %q; the official returns the server's version with errors after the stream opened", version)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "could not write snapshot: ") || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("error = %v; the official returns \"could not write snapshot: \" wrapping the write's error (ENOSPC)", err)
	}
	if _, err := os.Lstat(dbPath + ".part"); !os.IsNotExist(err) {
		t.Errorf("the .part path is still there (stat error %v); the official removes it", err)
	}
	if _, err := os.Stat(dbPath); !os.IsNotExist(err) {
		t.Errorf("dbPath exists after a failed save (stat error %v)", err)
	}
}

func TestSaveWithVersionReturnsTheVersionWhenTheRenameFails(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "snap.db")
	// A directory that is not empty cannot be replaced by a rename.
	if err := os.MkdirAll(filepath.Join(dbPath, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	version, err := saveTo(t, dbPath)
	if !strings.HasPrefix(version, "3.7.") {
		t.Errorf("version = %q; the official returns the server's version with errors after the stream opened", version)
	}
	want := "could not rename " + dbPath + ".part to " + dbPath + " ("
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v; the official returns %q followed by the rename's error in parentheses", err, want+"...)")
	}
}

func TestSaveWithVersionReportsAnOpenFailureInTheOfficialForm(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "missing-dir", "snap.db")
	version, err := saveTo(t, dbPath)
	want := "could not open " + dbPath + ".part ("
	if version != "" || err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("SaveWithVersion = %q, %v; the official returns \"\" and %q wrapping the open's error", version, err, want+"...)")
	}
}

// receiveBytes runs receive on data, into a temporary file.
func receiveBytes(t *testing.T, data []byte) error {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "part"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return receive(bytes.NewReader(data), f)
}

func TestReceiveRejectsASizeWithoutRoomForTheDigestWithTheOfficialText(t *testing.T) {
	for _, n := range []int{0, 31, 100, 512, 4096 + 33} {
		err := receiveBytes(t, make([]byte, n))
		want := "sha256 checksum not found [bytes: " + strconv.Itoa(n) + "]"
		if err == nil || err.Error() != want {
			t.Errorf("receive of %d bytes: error %v; the official returns %q", n, err, want)
		}
	}
}

func TestReceiveRejectsAWrongDigestOfAValidSize(t *testing.T) {
	if err := receiveBytes(t, make([]byte, 4096+sha256.Size)); !errors.Is(err, errBadDigest) {
		t.Errorf("receive of a snapshot whose digest does not match: error %v, want errBadDigest", err)
	}
	body := bytes.Repeat([]byte{7}, 4096)
	sum := sha256.Sum256(body)
	if err := receiveBytes(t, append(body, sum[:]...)); err != nil {
		t.Errorf("receive of a snapshot with its digest: %v", err)
	}
}

func TestReceiveWrapsAFailedReadAsTheOfficialDoes(t *testing.T) {
	boom := errors.New("stream broke")
	f, err := os.Create(filepath.Join(t.TempDir(), "part"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = receive(iotest.ErrReader(boom), f)
	if err == nil || err.Error() != "could not write snapshot: stream broke" || !errors.Is(err, boom) {
		t.Errorf("error = %v; the official returns \"could not write snapshot: \" wrapping the stream's error", err)
	}
}
