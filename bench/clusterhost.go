package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

// The etcd cluster is started by a child process, not by the measuring
// process: etcdtest relays the members' peer traffic through proxies and
// reads their logs in the process that started them, and that work (which
// grows with every write a 3-member cluster replicates) must not be
// charged to the client being measured. The child is this binary started
// with hostEnv set; it prints the members' direct endpoints, then holds the
// cluster until its standard input closes.

const hostEnv = "ETCDKIT_BENCH_CLUSTER"

type hostSpec struct {
	Version etcdtest.Version `json:"version"`
	Members int              `json:"members"`
	V2      bool             `json:"v2"`
}

type hostReady struct {
	Endpoints []string `json:"endpoints"`
	// PIDs are the members' processes, whose CPU the scale workloads
	// report beside the client's.
	PIDs []int  `json:"pids"`
	Err  string `json:"error,omitempty"`
}

// childMain runs this process as one of the bench's helper children if
// the environment asks for one; ok is false otherwise.
func childMain() (code int, ok bool) {
	if isWriterProcess() {
		return writerMain(), true
	}
	if spec := os.Getenv(hostEnv); spec != "" {
		return hostMain(spec, os.Stdin, os.Stdout), true
	}
	return 0, false
}

func hostMain(specJSON string, in io.Reader, out io.Writer) int {
	var spec hostSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		fmt.Fprintln(os.Stderr, "cluster host:", err)
		return 2
	}
	report := func(r hostReady) {
		b, _ := json.Marshal(r)
		fmt.Fprintln(out, string(b))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	opts := []etcdtest.Option{
		etcdtest.WithVersion(spec.Version),
		etcdtest.WithSize(spec.Members),
		// Without fsync the disk's noise stays out of the numbers; the
		// output says so.
		etcdtest.WithFlags("--unsafe-no-fsync"),
	}
	if spec.V2 {
		opts = append(opts, etcdtest.WithV2())
	}
	c, err := etcdtest.Start(ctx, opts...)
	if err != nil {
		report(hostReady{Err: err.Error()})
		return 1
	}
	defer c.Close()
	if _, err := c.WaitLeader(ctx); err != nil {
		report(hostReady{Err: err.Error()})
		return 1
	}
	var pids []int
	for _, m := range c.Members() {
		pids = append(pids, m.PID())
	}
	report(hostReady{Endpoints: c.DirectEndpoints(), PIDs: pids})
	io.Copy(io.Discard, in) // until the parent closes our stdin, or dies
	return 0
}

// hostedCluster is a cluster held by a child process.
type hostedCluster struct {
	endpoints []string
	pids      []int
	cmd       *exec.Cmd
	stdin     io.WriteCloser
}

func startHostedCluster(ctx context.Context, cl cluster) (*hostedCluster, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(hostSpec{Version: cl.version, Members: cl.members, V2: cl.api == "v2"})
	if err != nil {
		return nil, err
	}
	h := &hostedCluster{cmd: exec.Command(exe)}
	h.cmd.Env = append(os.Environ(), hostEnv+"="+string(spec))
	var stderr strings.Builder
	h.cmd.Stderr = &stderr
	if h.stdin, err = h.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := h.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var line string
	select {
	case line = <-lines:
	case <-ctx.Done():
		h.Close()
		return nil, ctx.Err()
	}
	var ready hostReady
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.Err != "" || len(ready.Endpoints) == 0 {
		h.Close()
		if ready.Err != "" {
			return nil, fmt.Errorf("starting the cluster: %s", ready.Err)
		}
		return nil, fmt.Errorf("starting the cluster: %q %v: %s", line, err, stderr.String())
	}
	h.endpoints, h.pids = ready.Endpoints, ready.PIDs
	return h, nil
}

// Close stops the cluster and waits for the child to exit.
func (h *hostedCluster) Close() {
	h.stdin.Close()
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
}
