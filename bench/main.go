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
	"os"
	"os/signal"
	"regexp"
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
		faults     = flag.Bool("faults", false, "run the fault scenarios instead of the workloads (-run selects scenarios, -readme and -md get the fault table)")
	)
	flag.Parse()

	cfg, mode := fullConfig(), "full"
	if *quick {
		cfg, mode = quickConfig(), "quick"
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
			cfg.clients = append(cfg.clients, strings.TrimSpace(s))
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
		return faultMain(ctx, &cfg, machine, *mdPath, *readme)
	}
	results, err := run(ctx, &cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		if len(results) == 0 {
			return 1
		}
	}
	rep := newReport(mode, &cfg, machine, results)
	rep.writeMarkdown(os.Stdout)
	if *mdPath != "" {
		f, ferr := os.Create(*mdPath)
		if ferr == nil {
			rep.writeMarkdown(f)
			ferr = f.Close()
		}
		if ferr != nil {
			fmt.Fprintln(os.Stderr, "bench:", ferr)
		}
	}
	if *jsonPath != "" {
		if err := rep.writeJSON(*jsonPath); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	if *readme != "" {
		if err := rep.updateReadme(*readme); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
	}
	fmt.Println()
	fmt.Println(rep.summaryLine())
	if err != nil {
		return 1
	}
	return 0
}
