package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The watch workloads need a stream of writes while the watcher is measured.
// Writing from this process would charge the writer's CPU and allocations to
// the watcher, so the writes come from a child process: this same binary,
// started with writerEnv set. getrusage(RUSAGE_SELF) does not count
// children.

const writerEnv = "ETCDKIT_BENCH_WRITER"

// writerJob is what the child is asked to do: n puts of valueSize bytes
// under prefix, from workers concurrent callers.
type writerJob struct {
	Endpoints []string `json:"endpoints"`
	Prefix    string   `json:"prefix"`
	N         int      `json:"n"`
	Workers   int      `json:"workers"`
	ValueSize int      `json:"value_size"`
}

// isWriterProcess reports whether this process was started as a writer.
func isWriterProcess() bool { return os.Getenv(writerEnv) != "" }

// writerMain is the child's main: it connects, says "ready", waits for a
// line on stdin, writes, and exits 0 once every put succeeded.
func writerMain() int {
	var job writerJob
	if err := json.Unmarshal([]byte(os.Getenv(writerEnv)), &job); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 2
	}
	if err := writeJob(job, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		return 1
	}
	return 0
}

func writeJob(job writerJob, in io.Reader, out io.Writer) error {
	c, err := dialRawV3(job.Endpoints)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Connect before saying ready, so the measured window holds writes only.
	if _, err := c.Get(ctx, warmKeyV3, true); err != nil {
		return err
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = job.Prefix + strconv.Itoa(i)
	}
	val := strings.Repeat("v", job.ValueSize)
	fmt.Fprintln(out, "ready")
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, job.Workers)
	for range job.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(job.N) {
					return
				}
				if err := c.Put(ctx, keys[i%int64(len(keys))], val); err != nil {
					errs <- err
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// writer is a running writer child.
type writer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr strings.Builder
}

// startWriter starts a writer child and waits until it is connected.
func startWriter(ctx context.Context, job writerJob) (*writer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, err := json.Marshal(job)
	if err != nil {
		return nil, err
	}
	w := &writer{cmd: exec.CommandContext(ctx, exe)}
	w.cmd.Env = append(os.Environ(), writerEnv+"="+string(spec))
	w.cmd.Stderr = &w.stderr
	if w.stdin, err = w.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := w.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		w.stdin.Close()
		werr := w.cmd.Wait()
		return nil, fmt.Errorf("writer did not start: %v %v: %s", err, werr, w.stderr.String())
	}
	return w, nil
}

// begin tells the writer to write.
func (w *writer) begin() error {
	_, err := io.WriteString(w.stdin, "go\n")
	return err
}

// wait waits for the writer to exit (killing it if ctx ends first) and
// reports whether every put succeeded.
func (w *writer) wait() error {
	w.stdin.Close()
	if err := w.cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("writer: %v: %s", err, strings.TrimSpace(w.stderr.String()))
		}
		return err
	}
	return nil
}
