// Package snapshot saves point-in-time snapshots of an etcd member's
// database.
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	clientv3 "github.com/a74b11dd/etcdkit/client/v3"
	"go.uber.org/zap"
)

// SaveWithVersion streams a snapshot from the single endpoint of cfg into
// dbPath and returns the version of the server that made it ("" for
// servers older than 3.6).
//
// The snapshot is written to dbPath+".part", synced to disk, checked
// against the SHA-256 digest the server appends to it, and only then
// renamed to dbPath, so dbPath never holds a partial or corrupt snapshot.
// Ending ctx aborts the transfer. cfg must name exactly one endpoint: a
// snapshot is the state of one member.
func SaveWithVersion(ctx context.Context, lg *zap.Logger, cfg clientv3.Config, dbPath string) (string, error) {
	if lg == nil {
		lg = zap.NewNop()
	}
	if len(cfg.Endpoints) != 1 {
		return "", fmt.Errorf("snapshot must be requested to one selected node, not multiple %v", cfg.Endpoints)
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return "", err
	}
	defer cli.Close()

	partPath := dbPath + ".part"
	defer os.Remove(partPath) // gone already after a successful rename
	f, err := os.OpenFile(partPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("could not open %s: %w", partPath, err)
	}
	lg.Info("created temporary db file", zap.String("path", partPath))

	version, size, err := stream(ctx, lg, cli, f, cfg.Endpoints[0])
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(partPath, dbPath); err != nil {
		return "", fmt.Errorf("could not rename %s to %s: %w", partPath, dbPath, err)
	}
	if err := syncDir(filepath.Dir(dbPath)); err != nil {
		return "", err
	}
	lg.Info("saved", zap.String("path", dbPath), zap.Int64("size", size), zap.String("version", version))
	return version, nil
}

// stream copies the snapshot into f, verifies its digest and syncs f.
func stream(ctx context.Context, lg *zap.Logger, cli *clientv3.Client, f *os.File, endpoint string) (version string, size int64, err error) {
	lg.Info("fetching snapshot", zap.String("endpoint", endpoint))
	resp, err := cli.SnapshotWithVersion(ctx)
	if err != nil {
		return "", 0, err
	}
	defer resp.Snapshot.Close()

	check := newDigestChecker(f)
	size, err = io.Copy(check, resp.Snapshot)
	if err != nil {
		return "", size, err
	}
	if err := check.verify(); err != nil {
		return "", size, err
	}
	if err := f.Sync(); err != nil {
		return "", size, err
	}
	lg.Info("fetched snapshot", zap.String("endpoint", endpoint), zap.Int64("size", size))
	return resp.Version, size, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
