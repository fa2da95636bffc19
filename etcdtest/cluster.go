package etcdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Cluster is a running etcd cluster of real server processes. Its methods
// are safe for concurrent use.
type Cluster struct {
	cfg     config
	binary  string
	dir     string
	token   string
	tls     *TLSInfo
	members []*Member

	closeOnce sync.Once
}

// NewCluster starts a cluster for the test t and returns once it has a leader
// and every member serves requests. It fails t if the cluster cannot start.
// When t ends, every member is killed and its data removed; if t failed, the
// members' logs are printed first.
func NewCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	c, err := Start(t.Context(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range c.members {
				t.Logf("--- etcd member %s (%s) log tail ---\n%s", m.name, c.cfg.version.Release(), m.Logs())
			}
		}
		c.Close()
	})
	return c
}

// Start starts a cluster and returns once it has a leader and every member
// serves requests. The caller must Close it. ctx bounds building the server
// binary, if it needs building; starting the members is bounded by
// WithStartTimeout.
func Start(ctx context.Context, opts ...Option) (*Cluster, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	bin, err := Binary(ctx, cfg.version)
	if err != nil {
		return nil, err
	}
	// A free port found now may be taken before etcd binds it; then the
	// member exits at once and the cluster is started again on fresh ports.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := startOnce(ctx, cfg, bin)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

var errPortTaken = errors.New("address already in use")

func startOnce(ctx context.Context, cfg config, bin string) (_ *Cluster, err error) {
	dir, err := os.MkdirTemp("", "etcdtest-")
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	var tok [6]byte
	rand.Read(tok[:])
	c := &Cluster{cfg: cfg, binary: bin, dir: dir, token: "etcdtest-" + hex.EncodeToString(tok[:])}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if cfg.clientTLS || cfg.peerTLS {
		if c.tls, err = generateTLS(filepath.Join(dir, "tls")); err != nil {
			return nil, fmt.Errorf("etcdtest: generating certificates: %w", err)
		}
	}
	for i := 0; i < cfg.size; i++ {
		m, err := newMember(c, i)
		if err != nil {
			return nil, err
		}
		c.members = append(c.members, m)
	}
	// Proxies consult the member list, so they serve only once it is whole.
	for _, m := range c.members {
		m.clientProxy.serve()
		m.peerProxy.serve()
	}
	for _, m := range c.members {
		if err := m.start(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.startTimeout)
	defer cancel()
	for _, m := range c.members {
		if err := m.waitServing(ctx, true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Close kills every member, stops the proxies and removes the data
// directories. It is safe to call more than once.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		var wg sync.WaitGroup
		for _, m := range c.members {
			wg.Add(1)
			go func() { defer wg.Done(); m.close() }()
		}
		wg.Wait()
		os.RemoveAll(c.dir)
	})
}

// Version returns the server version the cluster runs.
func (c *Cluster) Version() Version { return c.cfg.version }

// Members returns the members in the order they were created.
func (c *Cluster) Members() []*Member { return append([]*Member(nil), c.members...) }

// Endpoints returns every member's client address as host:port, the form
// gRPC clients take. Traffic to these passes through the fault proxies.
func (c *Cluster) Endpoints() []string { return c.collect((*Member).Endpoint) }

// ClientURLs returns every member's client URL (http:// or https://), the
// form the v2 client takes. Traffic to these passes through the fault proxies.
func (c *Cluster) ClientURLs() []string { return c.collect((*Member).ClientURL) }

// DirectEndpoints returns every member's own client address, bypassing the
// proxies: faults do not reach these, and neither does the proxies' cost,
// which is what benchmarks want.
func (c *Cluster) DirectEndpoints() []string { return c.collect((*Member).DirectEndpoint) }

func (c *Cluster) collect(f func(*Member) string) []string {
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = f(m)
	}
	return out
}

// TLS returns the cluster's generated certificates, or nil when the cluster
// uses no TLS.
func (c *Cluster) TLS() *TLSInfo { return c.tls }

// Leader returns the member that a majority of the members, and the member
// itself, currently name as leader; nil when there is none. Members that do
// not answer within half a second count as naming none.
func (c *Cluster) Leader() *Member {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	named := make([]uint64, len(c.members))
	var wg sync.WaitGroup
	for i, m := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, err := m.status(ctx); err == nil {
				named[i] = st.Leader
			}
		}()
	}
	wg.Wait()
	votes := map[uint64]int{}
	for _, id := range named {
		if id != 0 {
			votes[id]++
		}
	}
	for i, m := range c.members {
		if id := m.ID(); id != 0 && named[i] == id && votes[id] > len(c.members)/2 {
			return m
		}
	}
	return nil
}

// WaitLeader waits until Leader returns a member, or ctx ends.
func (c *Cluster) WaitLeader(ctx context.Context) (*Member, error) {
	for {
		if l := c.Leader(); l != nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("etcdtest: no leader: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pids returns each member's current process id (0 when not running),
// indexed like members, for telling which member opened a peer connection.
func (c *Cluster) pids() []int {
	out := make([]int, len(c.members))
	for i, m := range c.members {
		out[i] = m.PID()
	}
	return out
}

func (c *Cluster) scheme(tls bool) string {
	if tls {
		return "https"
	}
	return "http"
}

// args returns the command line of member m.
func (c *Cluster) args(m *Member) []string {
	cs, ps := c.scheme(c.cfg.clientTLS), c.scheme(c.cfg.peerTLS)
	var initial []string
	for _, o := range c.members {
		initial = append(initial, o.name+"="+ps+"://"+o.peerProxy.addr())
	}
	a := []string{
		"--name=" + m.name,
		"--data-dir=" + m.dataDir,
		"--listen-client-urls=" + cs + "://" + m.DirectEndpoint(),
		"--advertise-client-urls=" + m.ClientURL(),
		"--listen-peer-urls=" + ps + "://127.0.0.1:" + strconv.Itoa(m.peerPort),
		"--initial-advertise-peer-urls=" + ps + "://" + m.peerProxy.addr(),
		"--initial-cluster=" + strings.Join(initial, ","),
		"--initial-cluster-token=" + c.token,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-outputs=stderr",
	}
	if c.cfg.clientTLS {
		a = append(a, "--cert-file="+c.tls.ServerCertFile, "--key-file="+c.tls.ServerKeyFile)
	}
	if c.cfg.clientCertAuth {
		a = append(a, "--client-cert-auth", "--trusted-ca-file="+c.tls.CAFile)
	}
	if c.cfg.peerTLS {
		a = append(a, "--peer-cert-file="+c.tls.ServerCertFile, "--peer-key-file="+c.tls.ServerKeyFile,
			"--peer-trusted-ca-file="+c.tls.CAFile, "--peer-client-cert-auth")
	}
	if c.cfg.v2 {
		a = append(a, "--enable-v2")
	}
	if c.cfg.compactionMode != "" {
		a = append(a, "--auto-compaction-mode="+c.cfg.compactionMode, "--auto-compaction-retention="+c.cfg.compactionKeep)
	}
	if c.cfg.snapshotCount > 0 {
		a = append(a, "--snapshot-count="+strconv.Itoa(c.cfg.snapshotCount))
	}
	return append(a, c.cfg.flags...)
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
