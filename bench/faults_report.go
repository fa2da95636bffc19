package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// FaultReport is what the fault scenarios write as JSON: one run per API.
// A run of some APIs replaces those APIs' runs in an existing report and
// keeps the others, so that the README's tables can be rendered whole from
// the report after running one API again.
type FaultReport struct {
	Runs []FaultRun `json:"runs"`
}

// FaultRun is one API's scenarios, run together.
type FaultRun struct {
	API string `json:"api"`
	// ElectionTimeoutMs is the members' --election-timeout, if the run
	// set one (-election-timeout); zero for etcd's default.
	ElectionTimeoutMs int           `json:"election_timeout_ms,omitempty"`
	Command           string        `json:"command"`
	Date              string        `json:"date"`
	Cluster           string        `json:"cluster"`
	Settings          string        `json:"client_settings,omitempty"`
	Machine           Machine       `json:"machine"`
	WarmMs            int64         `json:"warm_ms"`
	HoldMs            int64         `json:"hold_ms"`
	AfterMs           int64         `json:"after_ms"`
	OpTimeoutMs       int64         `json:"op_timeout_ms"`
	Results           []FaultResult `json:"results"`
}

func newFaultRun(api faultAPI, ft faultTiming, machine Machine, results []FaultResult) FaultRun {
	cluster := fmt.Sprintf("3-member etcd %s cluster", api.version)
	if api.name == "v2" {
		cluster += " with the v2 API enabled"
	}
	command := "go run . -faults -api " + api.name
	if api.electionMs > 0 {
		cluster += fmt.Sprintf(", --election-timeout %d and --heartbeat-interval %d (etcd's defaults: 1000 and 100)",
			api.electionMs, max(api.electionMs/10, 1))
		command += fmt.Sprintf(" -election-timeout %d", api.electionMs)
	}
	return FaultRun{
		API: api.name, ElectionTimeoutMs: api.electionMs, Command: command,
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Cluster: cluster, Settings: api.settings,
		Machine: machine, WarmMs: ft.warm.Milliseconds(), HoldMs: ft.hold.Milliseconds(),
		AfterMs: ft.after.Milliseconds(), OpTimeoutMs: ft.opTimeout.Milliseconds(), Results: results,
	}
}

// readFaultReport reads the report at path; a missing file is an empty
// report.
func readFaultReport(path string) (*FaultReport, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &FaultReport{}, nil
	}
	if err != nil {
		return nil, err
	}
	var r FaultReport
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// merge puts run in r in place of the run of the same API and election
// timeout, keeping the runs in the order of faultAPIs, etcd's default
// timing first.
func (r *FaultReport) merge(run FaultRun) {
	r.Runs = slices.DeleteFunc(r.Runs, func(old FaultRun) bool {
		return old.API == run.API && old.ElectionTimeoutMs == run.ElectionTimeoutMs
	})
	r.Runs = append(r.Runs, run)
	order := func(api string) int {
		return slices.IndexFunc(faultAPIs(), func(a faultAPI) bool { return a.name == api })
	}
	slices.SortStableFunc(r.Runs, func(a, b FaultRun) int {
		if d := order(a.API) - order(b.API); d != 0 {
			return d
		}
		return a.ElectionTimeoutMs - b.ElectionTimeoutMs
	})
}

func (r *FaultReport) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeMarkdown writes one table per run, v3 first.
func (r *FaultReport) writeMarkdown(w io.Writer) {
	for i := range r.Runs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		r.Runs[i].writeMarkdown(w)
	}
}

// faultTarget is the goal for etcdkit in a scenario: the longest
// stall (read loop and watch) and zero failed reads.
func faultTarget(r *FaultResult) time.Duration {
	if r.Silent {
		return 3 * time.Second
	}
	return time.Second
}

// writeMarkdown writes the run's table under a paragraph saying how it was
// made.
func (run *FaultRun) writeMarkdown(w io.Writer) {
	date := run.Date
	if len(date) > len("2006-01-02") {
		date = date[:len("2006-01-02")]
	}
	msd := func(v int64) time.Duration { return time.Duration(v) * time.Millisecond }
	fmt.Fprintf(w, "`%s`, %s: %s (client traffic through etcdtest's proxies), %s, load %s. ",
		run.Command, date, run.Cluster, fmt.Sprintf("%s × %d cores", run.Machine.CPU, run.Machine.Cores), run.Machine.LoadAvg)
	if run.Settings != "" {
		fmt.Fprintf(w, "Both clients get %s. ", run.Settings)
	}
	fmt.Fprintf(w, "Each run: loops for %v, the fault for %v, healed, loops for %v more; every read and write has a %v deadline. "+
		"The struck member is the one serving the watch. Figures from the fault to the end of the run; a stall is the "+
		"longest time without a successful operation (for the watch: between the success of a write, made by a separate "+
		"writer on the other members, and its event's delivery). For a leader fault, *new leader* is when one of the "+
		"other members first named a new leader (each asked every %v): before that no linearizable read and no write can "+
		"succeed through any client (it takes an election timeout, randomized up to twice it: 1 to 2 s by default), so the target is "+
		"checked both as it is written and from that moment on.\n\n",
		msd(run.WarmMs), msd(run.HoldMs), msd(run.AfterMs), msd(run.OpTimeoutMs), electionPollInterval)
	fmt.Fprintln(w, "| fault | client | new leader | read stall | failed reads | write stall | failed writes | watch stall | events lost / repeated | etcdkit target |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
	for i := range run.Results {
		r := &run.Results[i]
		if r.Err != "" {
			fmt.Fprintf(w, "| %s | %s | error: %s ||||||||\n", mdEscape(r.Title), r.Client, mdEscape(r.Err))
			continue
		}
		target, elected := "", "—"
		if r.Leader {
			elected = "none"
			if r.ElectionMs > 0 {
				elected = fmtStall(r.ElectionMs)
			}
		}
		if r.Client == clientEtcdkit {
			target = faultVerdict(r)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %d of %d | %s | %d of %d | %s | %d / %d | %s |\n",
			mdEscape(r.Title), r.Client, elected,
			fmtStall(r.ReadStallMs), r.ReadFailures, r.Reads+r.ReadFailures,
			fmtStall(r.WriteStallMs), r.WriteFailures, r.Writes+r.WriteFailures,
			fmtStall(r.WatchStallMs), r.WatchLost, r.WatchDup, target)
	}
}

// faultVerdict says whether r meets its target; for a leader fault, also
// counted from the new leader's election.
func faultVerdict(r *FaultResult) string {
	goal := ms(faultTarget(r))
	word := map[bool]string{true: "met", false: "missed"}
	met := r.ReadFailures == 0 && r.ReadStallMs <= goal && r.WatchStallMs <= goal
	v := fmt.Sprintf("≤ %v, no failed read: %s", faultTarget(r), word[met])
	if r.Leader && !met {
		after := r.ElectionMs > 0 && r.ReadFailures == 0 && r.ReadStallMs-r.ElectionMs <= goal && r.WatchStallMs <= goal
		v += fmt.Sprintf("; from the new leader: %s", word[after])
	}
	return v
}

func fmtStall(msv float64) string {
	if msv >= 1000 {
		return fmt.Sprintf("%.2f s", msv/1000)
	}
	return fmt.Sprintf("%.0f ms", msv)
}

const (
	faultReadmeBegin = "<!-- bench-faults:begin -->"
	faultReadmeEnd   = "<!-- bench-faults:end -->"
)

// updateFaultReadme replaces what lies between the fault markers of the
// README at path with the tables.
func updateFaultReadme(path string, write func(io.Writer)) error {
	return replaceSection(path, faultReadmeBegin, faultReadmeEnd, write)
}

// faultMain runs the fault scenarios of apis (cfg.only selects them),
// merges the runs into the report at jsonPath (if set) and reports the
// tables of the whole report on standard output, and to mdPath and the
// README at readme if set. With run false it runs nothing and renders the
// report at jsonPath.
func faultMain(ctx context.Context, cfg *config, machine Machine, apis []faultAPI, run bool, jsonPath, mdPath, readme string) int {
	code := 0
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		code = 1
	}
	rep := &FaultReport{}
	if jsonPath != "" {
		var err error
		if rep, err = readFaultReport(jsonPath); err != nil {
			fail(err)
			return code
		}
	}
	if run {
		ft := defaultFaultTiming()
		ft.log = cfg.log
		for _, api := range apis {
			if ctx.Err() != nil {
				break
			}
			results := runFaults(ctx, ft, api, cfg.only, cfg.clients)
			for _, r := range results {
				if r.Err != "" {
					code = 1
				}
			}
			rep.merge(newFaultRun(api, ft, machine, results))
		}
		if jsonPath != "" {
			if err := rep.writeJSON(jsonPath); err != nil {
				fail(err)
			}
		}
	}
	if err := writeMarkdown(rep.writeMarkdown, mdPath); err != nil {
		fail(err)
	}
	if readme != "" {
		if err := updateFaultReadme(readme, rep.writeMarkdown); err != nil {
			fail(err)
		}
	}
	return code
}
