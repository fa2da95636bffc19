package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Report is everything one run produced; it is also the JSON file's
// format.
type Report struct {
	Date    string   `json:"date"`
	Mode    string   `json:"mode"`
	Machine Machine  `json:"machine"`
	Notes   []string `json:"notes"`
	Results []Result `json:"results"`
	Targets []Target `json:"targets"`
}

// Machine describes where the numbers were measured.
type Machine struct {
	CPU     string `json:"cpu"`
	Cores   int    `json:"cores"`
	Go      string `json:"go"`
	Kernel  string `json:"kernel"`
	LoadAvg string `json:"loadavg_at_start"`
}

// Target is one of the targets checked against one workload's
// ratios (etcdkit ÷ official).
type Target struct {
	API        string  `json:"api"`
	Members    int     `json:"members"`
	Workload   string  `json:"workload"`
	Goal       string  `json:"goal"`
	CPURatio   float64 `json:"cpu_ratio"`
	AllocRatio float64 `json:"alloc_ratio"`
	// Other is the figure a goal checks besides CPU and allocations (the
	// heap's or throughput's ratio, or the peak heap), "" if none.
	Other string `json:"other,omitempty"`
	// Status is "met", "missed" or "n/a" (a client has no result).
	Status string `json:"status"`
}

func describeMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), CPU: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

func newReport(mode string, cfg *config, m Machine, results []Result) *Report {
	r := &Report{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Mode:    mode,
		Machine: m,
		Notes: []string{
			"servers: etcd 3.7.3 for v3, etcd 3.5.x with --enable-v2 for v2, on loopback, all started with " +
				"--unsafe-no-fsync (no fsync: the disk's noise stays out; not a durable setup)",
			"clients talk to the members directly, not through etcdtest's fault proxies; on 3 members the stream workloads " +
				"(watch, keep-alive) connect every client to the same follower, since where a stream lands changes its cost several-fold",
			"CPU is the client process's user+system time (getrusage); the servers are other processes and not counted",
			"allocs and bytes are the Go runtime's heap counters (Mallocs, TotalAlloc) over the measured window",
			fmt.Sprintf("each workload runs etcdkit, official, raw in turn on the same cluster, %d round%s, each round starting with the next client; figures are medians; "+
				"a phase during which the cluster elected a leader is run again", cfg.rounds, plural(cfg.rounds)),
			"raw gRPC = the etcdserverpb stubs on a bare grpc.ClientConn: the floor, what grpc-go itself costs; " +
				"raw net/http = the v2 API spoken with net/http and encoding/json (a reference, not a floor: encoding/json decodes more slowly than the official client's decoder)",
			"ratio = etcdkit ÷ official; below 1 is better, except throughput",
		},
		Results: results,
	}
	if cfg.scale != nil {
		r.Notes = append(r.Notes,
			"scale workloads: heap is the heap in use (HeapInuse) after a collection at the end of the window minus the same "+
				"before the client was created; for the list reads, the peak of the heap in use during the read (sampled every 5 ms) "+
				"above the heap just before it, garbage not yet collected included; goroutines are those beyond the count before the client was created, "+
				"less the harness's own (one reader per watcher or lease, as a program has); members' CPU is what the etcd processes spent "+
				"(user + system, from /proc, in 10 ms ticks) while the client was measured: the load a client's way of asking puts on the cluster",
			"scale-keepalive-placed (3 members): every client is given every member, so that where each client library puts its stream is measured",
			"scale-watch-*: the latency is from the put's return in the writer process to the event's arrival, matched by revision "+
				"(0 when the event came first); p50 = p99 for the list reads (one read per round): the time to the last key")
	} else {
		r.Notes = append(r.Notes, "the scale workloads (10,000 leases and watchers, a 200 MB list, 1,000 callers) are a run of their own: go run . -scale; latest in RESULTS-scale.md")
	}
	r.Targets = checkTargets(results)
	return r
}

// pair finds etcdkit's and the official client's results for each workload
// on each cluster, in the order the results were produced.
type pairKey struct {
	api      string
	members  int
	workload string
}

func pairs(results []Result) (keys []pairKey, byKey map[pairKey]map[string]*Result) {
	byKey = make(map[pairKey]map[string]*Result)
	for i := range results {
		r := &results[i]
		k := pairKey{r.API, r.Members, r.Workload}
		if byKey[k] == nil {
			byKey[k] = make(map[string]*Result)
			keys = append(keys, k)
		}
		byKey[k][r.Client] = r
	}
	return keys, byKey
}

// ratio returns a ÷ b, or NaN when either is missing or not above 0: a
// heap figure can be 0 or below, within the noise, and a ratio of it would
// mean nothing.
func ratio(a, b float64) float64 {
	if !(a > 0 && b > 0) { // NaN too
		return math.NaN()
	}
	return a / b
}

func resultRatios(ours, off *Result) (cpu, allocs float64) {
	if ours == nil || off == nil || !ours.ok() || !off.ok() {
		return math.NaN(), math.NaN()
	}
	return ratio(ours.CPUus, off.CPUus), ratio(ours.Allocs, off.Allocs)
}

func checkTargets(results []Result) []Target {
	keys, byKey := pairs(results)
	var out []Target
	for _, k := range keys {
		ours, off := byKey[k][clientEtcdkit], byKey[k][clientOfficial]
		cpu, allocs := resultRatios(ours, off)
		t := Target{API: k.api, Members: k.members, Workload: k.workload, CPURatio: cpu, AllocRatio: allocs}
		var met bool
		switch {
		case k.api == "v2":
			t.Goal = "CPU ≤ 0.5×, allocs ≤ 0.3×"
			met = cpu <= 0.5 && allocs <= 0.3
		case k.workload == "range-1000":
			t.Goal = "CPU ≤ 0.4×, < 0.1 allocs per key"
			met = cpu <= 0.4 && ours != nil && ours.Allocs < 0.1*rangeKeys
		case strings.HasPrefix(k.workload, "watch-"):
			t.Goal = "≥ 2× events per CPU-second (CPU ≤ 0.5×)"
			met = cpu <= 0.5
		case strings.HasPrefix(k.workload, "scale-"):
			t.Goal, t.Other, met = scaleTarget(k.workload, ours, off, cpu)
			if t.Goal == "" {
				continue
			}
		case k.workload == "lease-keepalive-1000":
			continue // the issue sets no target; the table shows it
		default:
			t.Goal = "CPU ≤ 0.75×, allocs ≤ 0.5×"
			met = cpu <= 0.75 && allocs <= 0.5
		}
		switch {
		case math.IsNaN(cpu):
			t.Status = "n/a"
		case met:
			t.Status = "met"
		default:
			t.Status = "missed"
		}
		out = append(out, t)
	}
	return out
}

// scaleTarget checks a scale workload against issue 14's targets. A list
// read in pages or chunks must hold a page, not the list: its peak heap in
// use (which includes the garbage a collection has yet to free, up to the
// size of the live heap with GOGC=100) must stay under maxBoundedPeak, a
// tenth of the 200 MB list of the default sizes.
func scaleTarget(workload string, ours, off *Result, cpu float64) (goal, other string, met bool) {
	var heap, tput float64 = math.NaN(), math.NaN()
	if ours != nil && off != nil && ours.ok() && off.ok() {
		heap, tput = ratio(ours.HeapBytes, off.HeapBytes), ratio(ours.OpsPerSec, off.OpsPerSec)
	}
	switch workload {
	case "scale-keepalive", "scale-keepalive-placed":
		return "CPU ≤ 0.5×", "", cpu <= 0.5
	case "scale-watch-keys", "scale-watch-prefixes":
		other = "heap " + fmtRatio(heap)
		if ours != nil && off != nil && ours.ServerCPUus > 0 && off.ServerCPUus > 0 {
			other += ", members' CPU " + fmtRatio(ratio(ours.ServerCPUus, off.ServerCPUus))
		}
		return "heap ≤ 0.5×, CPU ≤ 0.8×", other, heap <= 0.5 && cpu <= 0.8
	case "scale-list-get":
		return "peak heap ≤ 0.6×", "peak heap " + fmtRatio(heap), heap <= 0.6
	case "scale-list-stream", "scale-list-paged":
		goal = "peak heap ≤ 20 MiB (a page, not the list)"
		if ours == nil || !ours.ok() {
			return goal, "n/a", false
		}
		return goal, "peak heap " + fmtBytes(ours.HeapBytes), ours.HeapBytes <= maxBoundedPeak
	case "scale-callers":
		return "throughput ≥ 1.1×", "throughput " + fmtRatio(tput), tput >= 1.1
	}
	return "", "", false
}

// maxBoundedPeak is the peak heap a paged or streamed read of the large
// list may reach (see scaleTarget).
const maxBoundedPeak = 20 << 20

// writeMarkdown writes the tables.
func (r *Report) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "Measured %s (%s run) on %s, %d cores, %s, %s; load average at start %s.\n\n",
		r.Date, r.Mode, r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel, r.Machine.Go, r.Machine.LoadAvg)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	keys, byKey := pairs(r.Results)
	tableTitle := func(k pairKey) string {
		var server string
		for _, res := range byKey[k] {
			server = res.Server
			break
		}
		title := fmt.Sprintf("%s on etcd %s, %d member", k.api, server, k.members)
		if k.members > 1 {
			title += "s"
		}
		return title
	}
	// A table whose workloads measured what the clients hold (the scale
	// ones) has two more columns.
	footprint := make(map[string]bool)
	for _, k := range keys {
		for _, res := range byKey[k] {
			if res.HeapBytes != 0 || res.Goroutines != 0 {
				footprint[tableTitle(k)] = true
			}
		}
	}
	var cur string
	for _, k := range keys {
		title := tableTitle(k)
		held := footprint[title]
		if title != cur {
			cur = title
			fmt.Fprintf(w, "\n#### %s\n\n", title)
			cols := []string{"workload", "client", ">throughput", ">p50", ">p99", ">CPU/unit", ">allocs/unit", ">bytes/unit"}
			if held {
				cols = append(cols, ">members' CPU/unit", ">heap", ">goroutines")
			}
			writeTableHeader(w, cols...)
		}
		first := true
		for _, name := range []string{clientEtcdkit, clientOfficial, clientRaw} {
			res := byKey[k][name]
			if res == nil {
				continue
			}
			label := ""
			if first {
				label = fmt.Sprintf("%s (unit: %s)", res.Title, res.Unit)
				first = false
			}
			clientLabel := name
			if name == clientRaw {
				clientLabel = "raw gRPC (floor)"
				if k.api == "v2" {
					clientLabel = "raw net/http"
				}
			}
			if !res.ok() {
				fmt.Fprintf(w, "| %s | %s | n/a: %s | | | | | |%s\n", label, clientLabel, mdEscape(res.Err), cond(held, " | | |"))
				continue
			}
			unit := "op"
			switch res.Unit {
			case "event":
				unit = "ev"
			case "s":
				unit = "resp"
			case "read":
				unit = "read"
			}
			p50 := fmtLatency(res.P50us)
			if res.P50us == 0 && res.P99us > 0 {
				// Measured, and 0: as for watch events that reached the
				// watcher before their put's response reached the writer.
				p50 = fmtMicros(0)
			}
			fmt.Fprintf(w, "| %s | %s | %s %s/s | %s | %s | %s | %s | %s |", label, clientLabel,
				fmtRate(res.OpsPerSec), unit, p50, fmtLatency(res.P99us),
				fmtMicros(res.CPUus), fmtCount(res.Allocs), fmtBytes(res.Bytes))
			if held {
				fmt.Fprintf(w, " %s | %s | %s |", fmtHeld(res.ServerCPUus, fmtMicros), fmtHeld(res.HeapBytes, fmtBytes), fmtHeld(res.Goroutines, fmtCount))
			}
			fmt.Fprintln(w)
		}
		ours, off := byKey[k][clientEtcdkit], byKey[k][clientOfficial]
		if ours != nil && off != nil && ours.ok() && off.ok() {
			fmt.Fprintf(w, "| | **etcdkit ÷ official** | **%s** | %s | %s | **%s** | **%s** | %s |",
				fmtRatio(ratio(ours.OpsPerSec, off.OpsPerSec)),
				fmtRatio(ratio(ours.P50us, off.P50us)), fmtRatio(ratio(ours.P99us, off.P99us)),
				fmtRatio(ratio(ours.CPUus, off.CPUus)), fmtRatio(ratio(ours.Allocs, off.Allocs)),
				fmtRatio(ratio(ours.Bytes, off.Bytes)))
			if held {
				fmt.Fprintf(w, " %s | **%s** | **%s** |", fmtRatio(ratio(ours.ServerCPUus, off.ServerCPUus)), fmtRatio(ratio(ours.HeapBytes, off.HeapBytes)),
					fmtRatio(ratio(ours.Goroutines, off.Goroutines)))
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\n#### Targets (etcdkit ÷ official)")
		fmt.Fprintln(w)
		other := false
		for _, t := range r.Targets {
			other = other || t.Other != ""
		}
		cols := []string{"cluster", "workload", "goal", ">CPU", ">allocs"}
		if other {
			cols = append(cols, ">other")
		}
		writeTableHeader(w, append(cols, "status")...)
		for _, t := range r.Targets {
			fmt.Fprintf(w, "| %s × %d | %s | %s | %s | %s |", t.API, t.Members, t.Workload, t.Goal,
				fmtRatio(t.CPURatio), fmtRatio(t.AllocRatio))
			if other {
				fmt.Fprintf(w, " %s |", t.Other)
			}
			fmt.Fprintf(w, " %s |\n", t.Status)
		}
	}
}

// writeTableHeader writes a Markdown table's header row and alignment row;
// a column whose name starts with ">" is aligned right (figures).
func writeTableHeader(w io.Writer, cols ...string) {
	var names, align strings.Builder
	for _, c := range cols {
		name, right := strings.CutPrefix(c, ">")
		fmt.Fprintf(&names, "| %s ", name)
		if right {
			align.WriteString("|--:")
		} else {
			align.WriteString("|---")
		}
	}
	fmt.Fprintf(w, "%s|\n%s|\n", names.String(), align.String())
}

// summaryLine is the run's last line: every workload's CPU and allocation
// ratios, etcdkit ÷ official.
func (r *Report) summaryLine() string {
	var b strings.Builder
	b.WriteString("bench summary:")
	keys, byKey := pairs(r.Results)
	for _, k := range keys {
		cpu, allocs := resultRatios(byKey[k][clientEtcdkit], byKey[k][clientOfficial])
		fmt.Fprintf(&b, " %s@%dm=%s/%s", k.workload, k.members, fmtPlain(cpu), fmtPlain(allocs))
	}
	return b.String()
}

// MarshalJSON-friendly: NaN is not valid JSON, so ratios that are not
// available are written as null.
func (t Target) MarshalJSON() ([]byte, error) {
	type plain Target
	aux := struct {
		plain
		CPURatio   *float64 `json:"cpu_ratio"`
		AllocRatio *float64 `json:"alloc_ratio"`
	}{plain: plain(t)}
	if !math.IsNaN(t.CPURatio) {
		aux.CPURatio = &t.CPURatio
	}
	if !math.IsNaN(t.AllocRatio) {
		aux.AllocRatio = &t.AllocRatio
	}
	return json.Marshal(aux)
}

func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

const (
	readmeBegin = "<!-- bench:begin -->"
	readmeEnd   = "<!-- bench:end -->"
)

// updateReadme replaces what lies between the bench markers in the README
// with a compact view of the run: the ratios per workload and cluster size,
// the floor's, and the goal. fullTables names the file with every figure.
func (r *Report) updateReadme(path, fullTables string) error {
	return replaceSection(path, readmeBegin, readmeEnd, func(w io.Writer) { r.writeCompact(w, fullTables) })
}

// replaceSection rewrites the file at path, replacing what lies between
// the lines begin and end with what write writes. The markers stay, so the
// section can be replaced again by the next run.
func replaceSection(path, begin, end string, write func(io.Writer)) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i := bytes.Index(old, []byte(begin))
	j := bytes.Index(old, []byte(end))
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s … %s section", path, begin, end)
	}
	var b bytes.Buffer
	b.Write(old[:i+len(begin)])
	b.WriteString("\n")
	write(&b)
	b.Write(old[j:])
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// writeCompact writes one row per workload: etcdkit ÷ official on each
// cluster size, the raw floor ÷ official on one member, and the goal.
func (r *Report) writeCompact(w io.Writer, fullTables string) {
	fmt.Fprintf(w, "%s (%s run) on %s, %d cores, %s, %s; load average at start %s. "+
		"Servers on loopback with `--unsafe-no-fsync`; client CPU from getrusage, allocations from the Go runtime; "+
		"medians of alternating rounds.", r.Date, r.Mode, r.Machine.CPU, r.Machine.Cores, r.Machine.Kernel,
		r.Machine.Go, r.Machine.LoadAvg)
	if fullTables != "" {
		fmt.Fprintf(w, " Every figure (throughput, p50/p99, CPU, allocations and bytes per unit, for each client): [%s](%s).",
			fullTables, fullTables)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	keys, byKey := pairs(r.Results)
	var sizes []int
	var workloads []pairKey // api+workload, members unset
	seen := make(map[pairKey]bool)
	for _, k := range keys {
		if !slices.Contains(sizes, k.members) {
			sizes = append(sizes, k.members)
		}
		wk := pairKey{api: k.api, workload: k.workload}
		if !seen[wk] {
			seen[wk] = true
			workloads = append(workloads, wk)
		}
	}
	goals := make(map[pairKey]string)
	for _, t := range r.Targets {
		goals[pairKey{api: t.API, workload: t.Workload}] = t.Goal
	}
	fmt.Fprint(w, "| workload |")
	for _, n := range sizes {
		fmt.Fprintf(w, " etcdkit ÷ official, %d member%s: CPU · allocs |", n, plural(n))
	}
	fmt.Fprintln(w, " raw gRPC ÷ official (the floor): CPU · allocs | goal |")
	fmt.Fprint(w, "|---|")
	for range sizes {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w, "--:|---|")
	for _, wk := range workloads {
		title := wk.workload
		for _, n := range sizes {
			for _, res := range byKey[pairKey{wk.api, n, wk.workload}] {
				title = res.Title
			}
		}
		fmt.Fprintf(w, "| %s |", title)
		for _, n := range sizes {
			m := byKey[pairKey{wk.api, n, wk.workload}]
			cpu, allocs := resultRatios(m[clientEtcdkit], m[clientOfficial])
			fmt.Fprintf(w, " %s · %s |", fmtRatio(cpu), fmtRatio(allocs))
		}
		floor := "–"
		if wk.api == "v3" {
			m := byKey[pairKey{wk.api, sizes[0], wk.workload}]
			cpu, allocs := resultRatios(m[clientRaw], m[clientOfficial])
			floor = fmtRatio(cpu) + " · " + fmtRatio(allocs)
		}
		goal := goals[wk]
		if goal == "" {
			goal = "–"
		}
		fmt.Fprintf(w, " %s | %s |\n", floor, goal)
	}
	fmt.Fprintf(w, "\n```\n%s\n```\n", r.summaryLine())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// readReport loads a report written by writeJSON and recomputes what it
// derives from the results.
func readReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.Targets = checkTargets(r.Results)
	return &r, nil
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.2fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

func fmtLatency(us float64) string {
	if us == 0 {
		return "–"
	}
	return fmtMicros(us)
}

func fmtMicros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	case us >= 100:
		return fmt.Sprintf("%.0fµs", us)
	default:
		return fmt.Sprintf("%.1fµs", us)
	}
}

func fmtCount(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtBytes(v float64) string {
	switch {
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	case v >= 1<<10:
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}

// fmtHeld formats a heap or goroutine figure; 0 is one not measured.
func fmtHeld(v float64, format func(float64) string) string {
	switch {
	case v == 0:
		return "–"
	case v < 0:
		return "-" + format(-v)
	default:
		return format(v)
	}
}

func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}

func fmtRatio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", v)
}

func fmtPlain(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}
