// Command robustness runs etcdkit's client and the official client under the
// same seeded schedules of faults on real etcd clusters, checks each one's
// history (linearizability, watch guarantees, lock safety) and prints the
// verdicts and availability figures side by side.
//
//	go run . -client both -duration 2m -seed 1 -seeds 20 -size 3 -version 3.7
//
// Both clients run at once on one cluster, each with its own keys, so that
// they meet the same faults at the same moments. It is a module of its own
// because it imports the official client.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest"
	"github.com/a74b11dd/etcdkit/etcdtest/robustness"
)

func main() {
	client := flag.String("client", "both", "client to check: etcdkit, official or both (at once, under one schedule)")
	duration := flag.Duration("duration", 2*time.Minute, "how long each seed's workload and faults run")
	seed := flag.Int64("seed", 1, "first seed")
	seeds := flag.Int("seeds", 1, "how many seeds to run, from -seed on")
	size := flag.Int("size", 3, "cluster size")
	version := flag.String("version", "3.7", "etcd server version: 3.6 or 3.7")
	faults := flag.String("faults", "", "comma-separated faults to draw from (default all: "+faultNames()+")")
	dir := flag.String("dir", "robustness-out", "where histories and visualizations of failed checks go")
	jsonOut := flag.String("json", "", "also write every report as JSON to this file")
	flag.Parse()

	subjects, err := pickSubjects(*client)
	if err != nil {
		fail(err)
	}
	var fs []robustness.Fault
	if *faults != "" {
		for _, name := range strings.Split(*faults, ",") {
			f := robustness.Fault(strings.TrimSpace(name))
			if !robustness.ValidFault(f) {
				fail(fmt.Errorf("-faults: unknown fault %q (want some of %s)", f, faultNames()))
			}
			fs = append(fs, f)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var all []*robustness.Report
	for s := *seed; s < *seed+int64(*seeds) && ctx.Err() == nil; s++ {
		cfg := robustness.Config{Seed: s, Duration: *duration, Faults: fs, Dir: *dir}
		reports, err := runSeed(ctx, etcdtest.Version(*version), *size, cfg, subjects)
		if err != nil {
			fail(err)
		}
		for _, r := range reports {
			fmt.Print(r)
		}
		if len(reports) > 0 {
			fmt.Printf("  faults: %s\n\n", faultSummary(reports[0].Faults))
		}
		all = append(all, reports...)
	}
	fmt.Print(table(all, *size, *version))
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(all, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fail(err)
		}
	}
	for _, r := range all {
		if r.Client == "etcdkit" && !r.OK() {
			os.Exit(1)
		}
	}
}

func runSeed(ctx context.Context, v etcdtest.Version, size int, cfg robustness.Config, subjects []robustness.Subject) ([]*robustness.Report, error) {
	c, err := etcdtest.Start(ctx, etcdtest.WithVersion(v), etcdtest.WithSize(size))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return robustness.Run(ctx, c, cfg, subjects...)
}

func pickSubjects(name string) ([]robustness.Subject, error) {
	etcdkit := robustness.Subject{Name: "etcdkit", New: robustness.Etcdkit}
	official := robustness.Subject{Name: "official", New: Official}
	switch name {
	case "etcdkit":
		return []robustness.Subject{etcdkit}, nil
	case "official":
		return []robustness.Subject{official}, nil
	case "both":
		return []robustness.Subject{etcdkit, official}, nil
	}
	return nil, fmt.Errorf("-client %q: want etcdkit, official or both", name)
}

func faultNames() string {
	var names []string
	for _, f := range robustness.Faults {
		names = append(names, string(f))
	}
	return strings.Join(names, ",")
}

func faultSummary(inj []robustness.Injection) string {
	n := map[robustness.Fault]int{}
	for _, i := range inj {
		n[i.Fault]++
	}
	var parts []string
	for _, f := range robustness.Faults {
		if n[f] > 0 {
			parts = append(parts, fmt.Sprintf("%s×%d", f, n[f]))
		}
	}
	return strings.Join(parts, " ")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "robustness:", err)
	os.Exit(2)
}
