package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// A Member is one etcd server process of a Cluster, with the proxies in front
// of its client and peer ports. Its fault methods are safe for concurrent use.
type Member struct {
	c                    *Cluster
	index                int
	name                 string
	dataDir              string
	logs                 *logTail
	clientPort, peerPort int // where the process itself listens

	clientProxy, peerProxy *proxy
	blackholed, isolated   atomic.Bool
	id                     atomic.Uint64

	mu      sync.Mutex
	sockDir string // holds the member's unix socket, once UnixEndpoint made it
	cmd     *exec.Cmd
	exited  <-chan struct{}  // closed when the current process has exited
	conn    *grpc.ClientConn // direct, for etcdtest's own status checks
}

func newMember(c *Cluster, i int) (*Member, error) {
	m := &Member{
		c:       c,
		index:   i,
		name:    "m" + strconv.Itoa(i),
		dataDir: filepath.Join(c.dir, "m"+strconv.Itoa(i)),
		logs:    &logTail{max: 256 << 10},
		exited:  closedChan(),
	}
	var err error
	if m.clientPort, err = freePort(); err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	if m.peerPort, err = freePort(); err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	clientLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	peerLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		clientLn.Close()
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	m.clientProxy = newProxy(clientLn, m.DirectEndpoint())
	m.clientProxy.hold = func(*proxyConn) bool { return m.blackholed.Load() }
	m.peerProxy = newProxy(peerLn, "127.0.0.1:"+strconv.Itoa(m.peerPort))
	m.peerProxy.classify = func(pc *proxyConn) { pc.from = socketOwner(pc.client, c.pids()) }
	m.peerProxy.hold = func(pc *proxyConn) bool {
		return m.isolated.Load() || pc.from >= 0 && c.members[pc.from].isolated.Load()
	}
	return m, nil
}

func closedChan() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}

// Name returns the member's name (m0, m1, ...).
func (m *Member) Name() string { return m.name }

// ID returns the member's etcd ID, known once the member has served.
func (m *Member) ID() uint64 { return m.id.Load() }

// Endpoint returns the member's client address as host:port, through its
// proxy.
func (m *Member) Endpoint() string { return m.clientProxy.addr() }

// ClientURL returns the member's client URL, through its proxy.
func (m *Member) ClientURL() string { return m.c.scheme(m.c.cfg.clientTLS) + "://" + m.Endpoint() }

// DirectEndpoint returns the address the member's process listens on for
// clients, bypassing the proxy: faults injected through the proxy do not
// reach it.
func (m *Member) DirectEndpoint() string { return "127.0.0.1:" + strconv.Itoa(m.clientPort) }

// DataDir returns the member's data directory.
func (m *Member) DataDir() string { return m.dataDir }

// Logs returns the tail of what the member's processes have logged.
func (m *Member) Logs() string { return m.logs.String() }

// PID returns the member's process id, or 0 when it is not running.
func (m *Member) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runningLocked() {
		return m.cmd.Process.Pid
	}
	return 0
}

// Running reports whether the member's process is alive (stopped counts).
func (m *Member) Running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runningLocked()
}

func (m *Member) runningLocked() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// start launches the member's process on its data directory.
func (m *Member) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runningLocked() {
		return fmt.Errorf("etcdtest: member %s is already running", m.name)
	}
	cmd := exec.Command(m.c.binary, m.c.args(m)...)
	cmd.Stdout, cmd.Stderr = m.logs, m.logs
	cmd.Dir = m.c.dir
	exited, err := startProcess(cmd)
	if err != nil {
		return fmt.Errorf("etcdtest: starting member %s: %w", m.name, err)
	}
	m.cmd, m.exited = cmd, exited
	return nil
}

// signal sends sig to the member's process group.
func (m *Member) signal(sig syscall.Signal) error {
	if !m.runningLocked() {
		return fmt.Errorf("etcdtest: member %s is not running", m.name)
	}
	if err := syscall.Kill(-m.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("etcdtest: signalling member %s: %w", m.name, err)
	}
	return nil
}

// Kill kills the member's process with SIGKILL and waits for it to exit. Its
// data directory is kept, for Restart.
func (m *Member) Kill() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-m.exited
	return nil
}

// Stop freezes the member's process with SIGSTOP: its sockets stay open and
// the kernel keeps accepting connections, but nothing answers.
func (m *Member) Stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	// The signal is only queued when kill returns: a thread running on
	// another core goes on until it is delivered. Return once every
	// thread has stopped, so that nothing the caller sends is answered.
	deadline := time.Now().Add(2 * time.Second)
	for !allThreadsStopped(m.cmd.Process.Pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("etcdtest: member %s did not stop within 2s", m.name)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Resume continues a stopped member with SIGCONT.
func (m *Member) Resume() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.signal(syscall.SIGCONT)
}

// Restart kills the member if it is running, starts it again on the same data
// directory and ports, and returns once it serves clients again. A member
// serves only once it has rejoined a quorum, so restart members of a cluster
// that lost its quorum concurrently.
func (m *Member) Restart() error {
	if m.Running() {
		if err := m.Kill(); err != nil {
			return err
		}
	}
	if err := m.start(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.c.cfg.startTimeout)
	defer cancel()
	return m.waitServing(ctx, false)
}

// Isolate cuts the member off from its peers, both ways: peer connections to
// and from it are held, as by a network partition, while its clients still
// reach it. A follower loses its leader after an election timeout; a leader
// steps down. The rest of the cluster keeps its quorum if it has one.
func (m *Member) Isolate() { m.setIsolated(true) }

// Heal ends Isolate; held peer traffic flows again.
func (m *Member) Heal() { m.setIsolated(false) }

func (m *Member) setIsolated(on bool) {
	m.isolated.Store(on)
	for _, o := range m.c.members {
		o.peerProxy.update(nil)
	}
}

// Blackhole makes the member a grey failure for clients: connections to its
// client proxy are accepted, and existing ones stay open, but nothing is
// forwarded either way. The member itself keeps working with its peers.
func (m *Member) Blackhole() { m.blackholed.Store(true); m.clientProxy.update(nil) }

// Unblackhole ends Blackhole; held client traffic flows again.
func (m *Member) Unblackhole() { m.blackholed.Store(false); m.clientProxy.update(nil) }

// UnixEndpoint returns a "unix://" endpoint for the member, made on first
// use: a socket whose connections the member's client proxy forwards as it
// does those of Endpoint, faults and delay included. The socket file is
// called localhost, so that the TLS server name a client takes from the
// path (its base name) is one the member's certificate names.
func (m *Member) UnixEndpoint() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sockDir == "" {
		// A directory of its own, short: a socket's path has at most 107
		// bytes.
		dir, err := os.MkdirTemp("", "etcdtest-sock")
		if err != nil {
			return "", fmt.Errorf("etcdtest: %w", err)
		}
		ln, err := net.Listen("unix", filepath.Join(dir, "localhost"))
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("etcdtest: %w", err)
		}
		if !m.clientProxy.serveAlso(ln) {
			os.RemoveAll(dir)
			return "", fmt.Errorf("etcdtest: member %s is closed", m.name)
		}
		m.sockDir = dir
	}
	return "unix://" + filepath.Join(m.sockDir, "localhost"), nil
}

// DropConnections closes every client connection open through the member's
// proxy; clients see their connections reset and must reconnect.
func (m *Member) DropConnections() { m.clientProxy.dropAll() }

// SetDelay delays every chunk of client traffic to and from the member by d,
// each way; zero removes the delay.
func (m *Member) SetDelay(d time.Duration) { m.clientProxy.setDelay(d) }

// SetPeerDelay delays every chunk of the member's inbound peer traffic by d;
// zero removes the delay.
func (m *Member) SetPeerDelay(d time.Duration) { m.peerProxy.setDelay(d) }

func (m *Member) close() {
	m.mu.Lock()
	if m.runningLocked() {
		syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
		<-m.exited
	}
	if m.conn != nil {
		m.conn.Close()
	}
	m.mu.Unlock()
	m.clientProxy.close()
	m.peerProxy.close()
	m.mu.Lock()
	if m.sockDir != "" {
		os.RemoveAll(m.sockDir)
	}
	m.mu.Unlock()
}

// grpcConn returns the member's direct connection for etcdtest's own checks.
func (m *Member) grpcConn() (*grpc.ClientConn, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conn != nil {
		return m.conn, nil
	}
	creds := insecure.NewCredentials()
	if ti := m.c.tls; ti != nil && m.c.cfg.clientTLS {
		cfg, err := ti.ClientConfig(m.c.cfg.clientCertAuth)
		if err != nil {
			return nil, err
		}
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient("passthrough:///"+m.DirectEndpoint(), grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("etcdtest: %w", err)
	}
	m.conn = conn
	return conn, nil
}

// status asks the member directly for its status and records its ID.
func (m *Member) status(ctx context.Context) (*pb.StatusResponse, error) {
	conn, err := m.grpcConn()
	if err != nil {
		return nil, err
	}
	st, err := pb.NewMaintenanceClient(conn).Status(ctx, &pb.StatusRequest{})
	if err != nil {
		return nil, err
	}
	if st.Header != nil {
		m.id.Store(st.Header.MemberId)
	}
	return st, nil
}

// waitServing waits until the member answers a status request and, when
// needLeader is set, knows a leader and serves a linearizable read.
func (m *Member) waitServing(ctx context.Context, needLeader bool) error {
	conn, err := m.grpcConn()
	if err != nil {
		return err
	}
	var last error
	for {
		m.mu.Lock()
		exited := m.exited
		m.mu.Unlock()
		select {
		case <-exited:
			logs := m.Logs()
			err := fmt.Errorf("etcdtest: member %s exited while starting; its log:\n%s", m.name, logs)
			if strings.Contains(logs, "address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		default:
		}
		last = m.probe(ctx, conn, needLeader)
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcdtest: member %s did not start serving: %w (last error: %v)\n%s", m.name, ctx.Err(), last, m.Logs())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (m *Member) probe(ctx context.Context, conn *grpc.ClientConn, needLeader bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := m.status(ctx)
	if err != nil {
		return err
	}
	if !needLeader {
		return nil
	}
	if st.Leader == 0 {
		return errors.New("no leader yet")
	}
	_, err = pb.NewKVClient(conn).Range(ctx, &pb.RangeRequest{Key: []byte("etcdtest/ready")})
	return err
}
