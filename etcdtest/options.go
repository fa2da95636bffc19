package etcdtest

import (
	"fmt"
	"time"
)

// Version names a pinned etcd server release line.
type Version string

// The server versions etcdtest can run. Each maps to one pinned release built
// from tools/etcdserver.
const (
	V3_5 Version = "3.5" // v3.5.35, the last release with the v2 keys API
	V3_6 Version = "3.6" // v3.6.16
	V3_7 Version = "3.7" // v3.7.3
)

// Versions lists every version etcdtest can run, oldest first.
var Versions = []Version{V3_5, V3_6, V3_7}

// Release returns the exact etcd release that v stands for.
func (v Version) Release() string {
	switch v {
	case V3_5:
		return "3.5.35"
	case V3_6:
		return "3.6.16"
	case V3_7:
		return "3.7.3"
	}
	return ""
}

func (v Version) valid() bool { return v.Release() != "" }

// An Option configures a cluster started by NewCluster or Start.
type Option func(*config)

type config struct {
	version        Version
	size           int
	clientTLS      bool
	peerTLS        bool
	clientCertAuth bool
	v2             bool
	compactionMode string
	compactionKeep string
	snapshotCount  int
	flags          []string
	startTimeout   time.Duration
}

func defaultConfig() config {
	return config{version: V3_7, size: 1, startTimeout: 60 * time.Second}
}

func (c *config) validate() error {
	if !c.version.valid() {
		return fmt.Errorf("etcdtest: unknown version %q (want one of %v)", c.version, Versions)
	}
	switch c.size {
	case 1, 3, 5:
	default:
		return fmt.Errorf("etcdtest: cluster size %d: want 1, 3 or 5 members", c.size)
	}
	if c.v2 && c.version != V3_5 {
		return fmt.Errorf("etcdtest: the v2 API needs etcd 3.5, not %s", c.version)
	}
	return nil
}

// WithVersion selects the etcd server version; the default is V3_7.
func WithVersion(v Version) Option { return func(c *config) { c.version = v } }

// WithSize sets the number of members: 1 (the default), 3 or 5.
func WithSize(n int) Option { return func(c *config) { c.size = n } }

// WithClientTLS serves client traffic over TLS, with a CA and certificates
// generated for this cluster (see Cluster.TLS).
func WithClientTLS() Option { return func(c *config) { c.clientTLS = true } }

// WithPeerTLS encrypts and authenticates traffic between members.
func WithPeerTLS() Option { return func(c *config) { c.peerTLS = true } }

// WithClientCertAuth makes members require a client certificate signed by the
// cluster's CA. It implies WithClientTLS.
func WithClientCertAuth() Option {
	return func(c *config) { c.clientTLS, c.clientCertAuth = true, true }
}

// WithV2 enables the v2 keys API (--enable-v2). Only etcd 3.5 has it.
func WithV2() Option { return func(c *config) { c.v2 = true } }

// WithAutoCompaction turns on the server's auto-compaction, in "periodic" or
// "revision" mode, keeping the given retention ("1h", "1000", ...).
func WithAutoCompaction(mode, retention string) Option {
	return func(c *config) { c.compactionMode, c.compactionKeep = mode, retention }
}

// WithSnapshotCount sets how many applied entries trigger a snapshot.
func WithSnapshotCount(n int) Option { return func(c *config) { c.snapshotCount = n } }

// WithFlags passes extra command-line flags to every member, after the ones
// etcdtest sets (a later flag overrides an earlier one).
func WithFlags(flags ...string) Option {
	return func(c *config) { c.flags = append(c.flags, flags...) }
}

// WithStartTimeout bounds how long starting the cluster (including building
// the server binary) may take; the default is one minute, plus the build.
func WithStartTimeout(d time.Duration) Option { return func(c *config) { c.startTimeout = d } }
