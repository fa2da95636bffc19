// Package snapshot saves point-in-time snapshots of an etcd member's
// database.
package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.uber.org/zap"
)

// SaveWithVersion streams a snapshot from the single endpoint of cfg into
// dbPath and returns the version of the server that made it ("" for
// servers older than 3.6). Once the server has answered, the version is
// returned with any later error too, as the official client does.
//
// The snapshot is written to dbPath+".part", checked, synced to disk and
// only then renamed to dbPath, so dbPath never holds a partial or corrupt
// snapshot; the .part path is removed in every case. The check is the
// official one (the size is a multiple of 512 plus a SHA-256 digest) and
// one more: the trailing digest must match the bytes before it. Ending ctx
// aborts the transfer. cfg must name exactly one endpoint: a snapshot is
// the state of one member. The client logs to lg, named "client"; a nil lg
// logs nothing.
func SaveWithVersion(ctx context.Context, lg *zap.Logger, cfg clientv3.Config, dbPath string) (string, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	cfg.Logger = lg.Named("client")
	if len(cfg.Endpoints) != 1 {
		return "", fmt.Errorf("snapshot must be requested to one selected node, not multiple %v", cfg.Endpoints)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return "", err
	}
	defer func() {
		if err := cli.Close(); err != nil {
			lg.Error("could not close the client", zap.Error(err))
		}
	}()

	partPath := dbPath + ".part"
	defer func() {
		if err := os.RemoveAll(partPath); err != nil {
			lg.Error("could not remove the temporary db file", zap.String("path", partPath), zap.Error(err))
		}
	}()
	f, err := os.OpenFile(partPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("could not open %s (%w)", partPath, err)
	}
	defer f.Close() // a second Close after the checked one below is harmless
	lg.Info("created temporary db file", zap.String("path", partPath))

	lg.Info("fetching snapshot", zap.String("endpoint", cfg.Endpoints[0]))
	resp, err := cli.SnapshotWithVersion(ctx)
	if err != nil {
		return "", err
	}
	defer resp.Snapshot.Close()
	if err := receive(resp.Snapshot, f); err != nil {
		return resp.Version, err
	}
	if err := f.Close(); err != nil {
		return resp.Version, fmt.Errorf("could not close file descriptor: %w", err)
	}
	if err := os.Rename(partPath, dbPath); err != nil {
		return resp.Version, fmt.Errorf("could not rename %s to %s (%w)", partPath, dbPath, err)
	}
	// The snapshot is in place; failing to make the rename durable is
	// worth a warning but does not undo the save.
	if err := syncDir(filepath.Dir(dbPath)); err != nil {
		lg.Warn("could not sync the snapshot's directory", zap.String("path", dbPath), zap.Error(err))
	}
	lg.Info("saved", zap.String("path", dbPath), zap.String("etcd-version", resp.Version))
	return resp.Version, nil
}

// receive copies the snapshot into f, checks it and syncs f, returning
// the official client's errors for a failed copy, a size that leaves no
// room for the digest and a failed sync.
func receive(snap io.Reader, f *os.File) error {
	check := newDigestChecker(f)
	size, err := io.Copy(check, snap)
	if err != nil {
		return fmt.Errorf("could not write snapshot: %w", err)
	}
	if !hasDigest(size) {
		return fmt.Errorf("sha256 checksum not found [bytes: %d]", size)
	}
	if err := check.verify(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("could not fsync snapshot: %w", err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
