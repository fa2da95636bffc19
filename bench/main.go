// Command bench measures etcdkit's clients side by side with the official
// etcd clients (go.etcd.io/etcd/client/v3 and client/v2) and with the raw
// protocol stubs, on real etcd servers it starts itself, and reports client
// CPU, allocations and latency per operation as ratios.
//
//	cd bench && go run . -quick     # about 3 minutes
//	cd bench && go run .            # the full run, under 15 minutes
//
// See README.md beside this file for what each column means.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if code, ok := childMain(); ok {
		os.Exit(code)
	}
	os.Exit(realMain())
}

// faultJSONDefault is where -faults writes its report unless -json says
// otherwise; the committed report is faults.json.
const faultJSONDefault = "fault-results.json"

// scaleJSONDefault is where -scale writes its report unless -json says
// otherwise, so that a scale run does not overwrite the default run's.
const scaleJSONDefault = "scale-results.json"

func realMain() int {
	var (
		quick      = flag.Bool("quick", false, "short run: fewer rounds, shorter phases, fewer events")
		jsonPath   = flag.String("json", "bench-results.json", "write the results as JSON to this file (empty: none)")
		mdPath     = flag.String("md", "", "also write the Markdown tables to this file")
		readme     = flag.String("readme", "", "replace the section between the bench markers of this README with the tables")
		profileDir = flag.String("cpuprofile-dir", "", "write a CPU profile per workload and client to this directory (from an extra, unmeasured run of at least 2 s)")
		runRE      = flag.String("run", "", "run only the workloads whose name matches this regular expression")
		members    = flag.String("members", "1,3", "cluster sizes to run, comma-separated")
		clients    = flag.String("clients", "", "run only these clients (comma-separated: etcdkit, official, raw)")
		quiet      = flag.Bool("q", false, "no progress lines on stderr")
		faults     = flag.Bool("faults", false, "run the fault scenarios instead of the workloads (-run selects scenarios, -api the APIs, -readme and -md get the fault tables, -json defaults to "+faultJSONDefault+")")
		electionMs = flag.Int("election-timeout", 0, "with -faults: give the members this --election-timeout in milliseconds, and a tenth of it as --heartbeat-interval (0: etcd's defaults, 1000 and 100); its tables are kept apart from the default's")
		apis       = flag.String("api", "v3,v2", "with -faults: run the scenarios of these APIs (comma-separated: v3, v2); the JSON file's runs of the others are kept")
		fromJSON   = flag.String("from-json", "", "run nothing: render the report of an earlier run from its JSON file (with -faults: a fault report)")
		breakdownD = flag.String("breakdown", "", "run nothing: print, for each CPU profile in this directory (from -cpuprofile-dir), the share of its samples in each layer (etcdkit, grpc-go, net/http, runtime, …)")
		scale      = flag.Bool("scale", false, "run the scale workloads (many leases, many watchers, a large range, many callers) instead of the default ones, sized by the -scale-* flags; -json defaults to "+scaleJSONDefault)
		rounds     = flag.Int("rounds", 0, "A/B rounds per workload (0: 3, or 1 with -scale)")
	)
	scaleCfg := defaultScaleConfig()
	scaleCfg.register(flag.CommandLine)
	flag.Parse()
	if *breakdownD != "" {
		if err := writeBreakdown(os.Stdout, *breakdownD); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		return 0
	}
	jsonSet := false
	flag.Visit(func(f *flag.Flag) { jsonSet = jsonSet || f.Name == "json" })
	var faultAPIsRun []faultAPI
	if *faults {
		for _, s := range strings.Split(*apis, ",") {
			i := slices.IndexFunc(faultAPIs(), func(a faultAPI) bool { return a.name == strings.TrimSpace(s) })
			if i < 0 {
				fmt.Fprintf(os.Stderr, "bench: -api: %q is not v3 or v2\n", s)
				return 2
			}
			api := faultAPIs()[i]
			api.electionMs = *electionMs
			faultAPIsRun = append(faultAPIsRun, api)
		}
		if *fromJSON != "" {
			return faultMain(context.Background(), &config{}, Machine{}, nil, false, *fromJSON, *mdPath, *readme)
		}
		if !jsonSet {
			*jsonPath = faultJSONDefault
		}
	}
	if *fromJSON != "" {
		rep, err := readReport(*fromJSON)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		if !jsonSet {
			*jsonPath = ""
		}
		if !writeOutputs(rep, *mdPath, *jsonPath, *readme) {
			return 1
		}
		return 0
	}

	cfg, mode := fullConfig(), "full"
	if *quick {
		cfg, mode = quickConfig(), "quick"
	}
	if *scale {
		switch {
		case *quick:
			fmt.Fprintln(os.Stderr, "bench: -quick does not apply to -scale: the -scale-* flags size its workloads")
			return 2
		case *readme != "":
			fmt.Fprintln(os.Stderr, "bench: -readme takes the default workloads' tables; with -scale, use -md")
			return 2
		}
		if err := scaleCfg.check(); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 2
		}
		// One round by default: the windows are long, and a round of every
		// client takes minutes.
		cfg.scale, mode, cfg.rounds = &scaleCfg, "scale", 1
		cfg.phaseLimit = max(cfg.phaseLimit, scaleCfg.longest()+2*time.Minute)
		if !jsonSet {
			*jsonPath = scaleJSONDefault
		}
	}
	if *rounds < 0 {
		fmt.Fprintln(os.Stderr, "bench: -rounds: want a positive count")
		return 2
	}
	if *rounds > 0 {
		cfg.rounds = *rounds
	}
	cfg.profileDir = *profileDir
	if *runRE != "" {
		re, err := regexp.Compile(*runRE)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: -run:", err)
			return 2
		}
		cfg.only = re
	}
	cfg.members = nil
	for _, s := range strings.Split(*members, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || (n != 1 && n != 3 && n != 5) {
			fmt.Fprintf(os.Stderr, "bench: -members: %q is not 1, 3 or 5\n", s)
			return 2
		}
		cfg.members = append(cfg.members, n)
	}
	if *clients != "" {
		for _, s := range strings.Split(*clients, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(clientOrder, s) {
				fmt.Fprintf(os.Stderr, "bench: -clients: %q is not one of %s\n", s, strings.Join(clientOrder, ", "))
				return 2
			}
			cfg.clients = append(cfg.clients, s)
		}
	}
	if !*quiet {
		began := time.Now()
		cfg.log = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	machine := describeMachine()
	if *faults {
		return faultMain(ctx, &cfg, machine, faultAPIsRun, true, *jsonPath, *mdPath, *readme)
	}
	results, err := run(ctx, &cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if len(results) == 0 {
			return 1
		}
	}
	rep := newReport(mode, &cfg, machine, results)
	if !writeOutputs(rep, *mdPath, *jsonPath, *readme) || err != nil {
		return 1
	}
	return 0
}

// writeOutputs prints the tables and the summary line (last) on stdout and
// writes the files asked for; it reports whether all went well.
// writeMarkdown writes a report with write to standard output and, unless
// path is empty, to the file path.
func writeMarkdown(write func(io.Writer), path string) error {
	write(os.Stdout)
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	write(f)
	return f.Close()
}

func writeOutputs(rep *Report, mdPath, jsonPath, readme string) bool {
	ok := true
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		ok = false
	}
	if err := writeMarkdown(rep.writeMarkdown, mdPath); err != nil {
		fail(err)
	}
	if jsonPath != "" {
		if err := rep.writeJSON(jsonPath); err != nil {
			fail(err)
		}
	}
	if readme != "" {
		link := ""
		if mdPath != "" {
			// Rel needs both paths from the same place: "../README.md"
			// and "RESULTS.md" are not, until made absolute.
			dir, err1 := filepath.Abs(filepath.Dir(readme))
			md, err2 := filepath.Abs(mdPath)
			if rel, err := filepath.Rel(dir, md); err1 == nil && err2 == nil && err == nil {
				link = filepath.ToSlash(rel)
			}
		}
		if err := rep.updateReadme(readme, link); err != nil {
			fail(err)
		}
	}
	fmt.Println()
	fmt.Println(rep.summaryLine())
	return ok
}
