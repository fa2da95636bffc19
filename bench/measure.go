package main

import (
	"fmt"
	"math/bits"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// counters is what the process has spent so far: CPU time (user + system,
// from getrusage, so the etcd servers, which are other processes, are not
// included), heap allocations and allocated bytes (from the runtime), and the
// wall clock.
type counters struct {
	cpu     time.Duration
	server  time.Duration // the members' CPU time, if their PIDs were given
	mallocs uint64
	bytes   uint64
	wall    time.Time
}

// readCounters reads the counters, and the CPU time of the processes
// servers (the members) if any are given.
func readCounters(servers []int) counters {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic("getrusage: " + err.Error()) // cannot fail for RUSAGE_SELF on Linux
	}
	return counters{
		cpu:     time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		mallocs: ms.Mallocs,
		bytes:   ms.TotalAlloc,
		server:  processesCPU(servers),
		wall:    time.Now(),
	}
}

// processesCPU is the CPU time (user + system) the processes pids have
// used, read from /proc/PID/stat in clock ticks (100 a second on Linux).
// A process that is gone counts 0.
func processesCPU(pids []int) time.Duration {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name, in parentheses, may hold spaces: count the
		// fields after its closing parenthesis (utime and stime are the
		// 14th and 15th of the whole line).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		for _, v := range f[11:13] {
			n, _ := strconv.ParseInt(v, 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// phase measures one run of one workload with one client. A workload calls
// start before its measured work and stop after it; work it must do in
// between without being measured (seeding data, for instance) goes between
// pause and resume. Every measured segment starts with a garbage collection,
// so garbage left by earlier work is not charged to it.
type phase struct {
	cpu     time.Duration
	mallocs uint64
	bytes   uint64
	wall    time.Duration
	units   float64
	// counted is what the throughput column counts: operations, events or
	// keep-alive responses.
	counted float64
	hist    histogram
	// latencies reports whether hist holds per-unit latencies (watch and
	// keep-alive workloads have none).
	latencies bool

	// base is what the process held before the client was created;
	// heap and goroutines, set by the workloads that measure them (see
	// footprint.go), are what the client held beyond it.
	base             baseline
	heap, goroutines float64
	footprint        bool

	seg     counters
	running bool
	// servers are the members' PIDs; their CPU time is serverCPU.
	servers   []int
	serverCPU time.Duration

	// profile, when set, receives a CPU profile of the measured segments.
	profile   *os.File
	profiling bool
}

func (p *phase) start() { p.resume() }

// profiled reports whether this phase feeds a profile, which needs more
// samples than a measurement needs work: workloads of a fixed size make
// themselves larger then.
func (p *phase) profiled() bool { return p.profile != nil }

func (p *phase) resume() {
	if p.running {
		return
	}
	runtime.GC()
	if p.profile != nil && !p.profiling {
		if err := pprof.StartCPUProfile(p.profile); err == nil {
			p.profiling = true
		}
	}
	p.running = true
	p.seg = readCounters(p.servers)
}

func (p *phase) pause() {
	if !p.running {
		return
	}
	end := readCounters(p.servers)
	p.running = false
	p.cpu += end.cpu - p.seg.cpu
	p.serverCPU += end.server - p.seg.server
	p.mallocs += end.mallocs - p.seg.mallocs
	p.bytes += end.bytes - p.seg.bytes
	p.wall += end.wall.Sub(p.seg.wall)
}

// stop ends the measurement; units is how many operations (or events, or
// seconds) the measured work amounts to.
func (p *phase) stop(units float64) {
	p.pause()
	p.units = units
}

// finish stops the CPU profile, if one was running.
func (p *phase) finish() {
	p.pause()
	if p.profiling {
		pprof.StopCPUProfile()
		p.profiling = false
	}
}

// histogram is a log-linear latency histogram: values below 2^subBits ns are
// exact, larger ones fall in one of 2^subBits buckets per power of two, so a
// reported percentile is within about 3% of the true value. Recording never
// allocates, which matters because allocations are being counted.
type histogram struct {
	counts [64 << subBits]uint64
	n      uint64
}

const subBits = 5

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	exp := bits.Len64(v) - subBits - 1
	mant := v >> uint(exp)
	return (exp+1)<<subBits + int(mant-1<<subBits)
}

// bucketMid is the middle of the values that fall into bucket i.
func bucketMid(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	exp := i>>subBits - 1
	mant := uint64(i&(1<<subBits-1)) + 1<<subBits
	lo := mant << uint(exp)
	return lo + (uint64(1)<<uint(exp))/2
}

func (h *histogram) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the latency below which a fraction q of the recorded
// values lie (0 when nothing was recorded).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n-1)) + 1
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return time.Duration(bucketMid(len(h.counts) - 1))
}
