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

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
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
	// Put i writes the key Prefix + i%Keys + Suffix (Keys 0: keySpace).
	Keys   int    `json:"keys,omitempty"`
	Suffix string `json:"suffix,omitempty"`
	// Rate, if set, paces the puts: put i is sent i/Rate seconds after the
	// go, or as soon after as a worker is free.
	Rate float64 `json:"rate,omitempty"`
	// Record asks the child to report, once done, when each put returned:
	// one line "<revision> <Unix time in ns>" per put, after "ready".
	Record bool `json:"record,omitempty"`
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
	n := keySpace
	if job.Keys > 0 {
		n = job.Keys
	}
	ks := keys(job.Prefix, n)
	if job.Suffix != "" {
		for i := range ks {
			ks[i] += job.Suffix
		}
	}
	val := []byte(value(job.ValueSize))
	var revs, returned []int64
	if job.Record {
		revs, returned = make([]int64, job.N), make([]int64, job.N)
	}
	fmt.Fprintln(out, "ready")
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for go: %w", err)
	}
	began := time.Now()
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
				if job.Rate > 0 {
					time.Sleep(time.Until(began.Add(time.Duration(float64(i) / job.Rate * float64(time.Second)))))
				}
				resp, err := c.kv.Put(ctx, &pb.PutRequest{Key: []byte(ks[i%int64(len(ks))]), Value: val})
				if err != nil {
					errs <- err
					cancel()
					return
				}
				if job.Record {
					revs[i], returned[i] = resp.Header.Revision, time.Now().UnixNano()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if job.Record {
		bw := bufio.NewWriter(out)
		for i := range revs {
			fmt.Fprintf(bw, "%d %d\n", revs[i], returned[i])
		}
		return bw.Flush()
	}
	return nil
}

// writer is a running writer child.
type writer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
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
	w.stdout = bufio.NewReader(stdout)
	line, err := w.stdout.ReadString('\n')
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

// revTime is a revision and a moment (Unix time in ns): when a put that
// made the revision returned, or when its event arrived.
type revTime struct{ rev, at int64 }

// waitRecords is wait for a job with Record set: it also returns when each
// of the job's n puts returned, in no particular order.
func (w *writer) waitRecords(n int) ([]revTime, error) {
	w.stdin.Close()
	returned := make([]revTime, 0, n)
	var bad error
	for {
		line, err := w.stdout.ReadString('\n')
		if err != nil {
			break // the child exited; wait says how
		}
		rev, at, ok := strings.Cut(strings.TrimSpace(line), " ")
		r, err1 := strconv.ParseInt(rev, 10, 64)
		t, err2 := strconv.ParseInt(at, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			bad = fmt.Errorf("writer: unreadable record %q", line)
			continue
		}
		returned = append(returned, revTime{rev: r, at: t})
	}
	if err := w.wait(); err != nil {
		return nil, err
	}
	return returned, bad
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

// deliverWrites measures a watch phase: it starts the writer's puts and
// stops the phase once the watchers have counted want events (done is
// closed) or ctx ends, counting the events that arrived.
func deliverWrites(ctx context.Context, p *phase, w *writer, done <-chan struct{}, got *atomic.Int64, want int64, finish func(error)) error {
	p.start()
	if err := w.begin(); err != nil {
		w.wait()
		return err
	}
	select {
	case <-done:
	case <-ctx.Done():
		finish(fmt.Errorf("%w after %d of %d events", ctx.Err(), got.Load(), want))
	}
	p.counted = float64(got.Load())
	p.stop(p.counted)
	return nil
}
