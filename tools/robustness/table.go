package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/a74b11dd/etcdkit/etcdtest/robustness"
)

// table sums the reports per client as the README's Markdown table: the
// verdicts across seeds, then the availability figures.
func table(reports []*robustness.Report, size int, version string) string {
	type row struct {
		seeds, broken, violations, ops, failed, unknown, lost int
		stall                                                 time.Duration
	}
	rows := map[string]*row{}
	var order []string
	for _, r := range reports {
		w, ok := rows[r.Client]
		if !ok {
			w = &row{}
			rows[r.Client] = w
			order = append(order, r.Client)
		}
		w.seeds++
		if !r.OK() {
			w.broken++
		}
		w.violations += len(r.Violations)
		w.ops += r.Ops
		w.failed += r.Failed
		w.unknown += r.Unknown
		w.lost += r.KeepAlivesLost
		w.stall = max(w.stall, r.LongestStall)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d members, etcd %s:\n\n", size, version)
	b.WriteString("| client | seeds | seeds with violations | violations | ops | failed | unknown outcome | longest stall | keep-alives lost |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, name := range order {
		w := rows[name]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %s | %d |\n",
			name, w.seeds, w.broken, w.violations, w.ops, w.failed, w.unknown, w.stall.Round(10*time.Millisecond), w.lost)
	}
	return b.String()
}
