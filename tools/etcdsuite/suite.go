package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one line of go test -json (cmd/test2json).
type event struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	Elapsed     float64
	FailedBuild string
}

// pkgResult is what one package's run came to.
type pkgResult struct {
	name                    string
	action                  string // pass, fail, skip; empty while running
	elapsed                 float64
	passed, failed, skipped int
	// output holds each top-level test's lines (subtests' included) until it
	// ends; a passing or skipped test's is dropped.
	output   map[string]*bytes.Buffer
	running  map[string]bool
	failures []failure
	skips    []string     // each skipped test with its skip message's last line
	pkgOut   bytes.Buffer // output outside any test (build errors, panics, timeouts)
}

type failure struct {
	test, output string
}

type results struct {
	pkgs   map[string]*pkgResult
	order  []string
	build  map[string]*bytes.Buffer // build output by import path
	stderr bytes.Buffer
	exit   error
}

func topLevel(test string) string {
	if i := strings.IndexByte(test, '/'); i >= 0 {
		return test[:i]
	}
	return test
}

// runSuite runs go with args in dir and gathers go test -json's events.
func runSuite(dir string, args []string, verbose bool, raw io.Writer) (*results, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	res := &results{pkgs: map[string]*pkgResult{}, build: map[string]*bytes.Buffer{}}
	cmd.Stderr = &res.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		raw.Write(sc.Bytes())
		raw.Write([]byte{'\n'})
		var ev event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Action == "" {
			fmt.Println(sc.Text())
			continue
		}
		if verbose && ev.Output != "" {
			fmt.Print(ev.Output)
		}
		res.add(ev, start)
	}
	res.exit = cmd.Wait()
	return res, nil
}

func (r *results) pkg(name string) *pkgResult {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgResult{name: name, output: map[string]*bytes.Buffer{}, running: map[string]bool{}}
		r.pkgs[name] = p
		r.order = append(r.order, name)
	}
	return p
}

func (r *results) add(ev event, start time.Time) {
	switch ev.Action {
	case "build-output":
		b := r.build[ev.ImportPath]
		if b == nil {
			b = &bytes.Buffer{}
			r.build[ev.ImportPath] = b
		}
		b.WriteString(ev.Output)
		return
	case "build-fail":
		return
	}
	if ev.Package == "" {
		return
	}
	p := r.pkg(ev.Package)
	if ev.Test == "" {
		switch ev.Action {
		case "output":
			p.pkgOut.WriteString(ev.Output)
		case "pass", "fail", "skip":
			p.action, p.elapsed = ev.Action, ev.Elapsed
			p.finish()
			fmt.Printf("%-4s %-70s %3d passed, %d failed, %d skipped  (%.0fs; %s into the run)\n",
				p.action, p.name, p.passed, p.failed, p.skipped, p.elapsed, time.Since(start).Round(time.Second))
		}
		return
	}
	top := topLevel(ev.Test)
	buf := p.output[top]
	if buf == nil {
		buf = &bytes.Buffer{}
		p.output[top] = buf
	}
	switch ev.Action {
	case "run":
		if ev.Test == top {
			p.running[top] = true
		}
	case "output":
		buf.WriteString(ev.Output)
	case "pass", "fail", "skip":
		if ev.Test != top {
			return
		}
		delete(p.running, top)
		switch ev.Action {
		case "pass":
			p.passed++
		case "skip":
			p.skipped++
			p.skips = append(p.skips, top+": "+lastLine(buf.String()))
		case "fail":
			p.failed++
			p.failures = append(p.failures, failure{test: top, output: buf.String()})
		}
		delete(p.output, top)
	}
}

// finish counts a test still running when its package ended (a timeout or
// a panic elsewhere) as failed, with what it had printed.
func (p *pkgResult) finish() {
	var left []string
	for t := range p.running {
		left = append(left, t)
	}
	sort.Strings(left)
	for _, t := range left {
		p.failed++
		p.failures = append(p.failures, failure{test: t + " (did not finish)", output: p.output[t].String()})
		delete(p.running, t)
	}
}

func (r *results) ok() bool {
	if r.exit != nil {
		return false
	}
	for _, p := range r.pkgs {
		if p.failed > 0 || p.action == "fail" {
			return false
		}
	}
	return true
}

func (r *results) report(w io.Writer) {
	var passed, failed, skipped int
	for _, name := range r.order {
		p := r.pkgs[name]
		passed += p.passed
		failed += p.failed
		skipped += p.skipped
	}
	for path, b := range r.build {
		fmt.Fprintf(w, "\n=== build failed: %s\n%s", path, b)
	}
	for _, name := range r.order {
		p := r.pkgs[name]
		for _, f := range p.failures {
			fmt.Fprintf(w, "\n=== FAIL %s %s\n%s", name, f.test, tail(withoutServerLogs(f.output), 200))
		}
		if p.action == "fail" && len(p.failures) == 0 {
			fmt.Fprintf(w, "\n=== FAIL %s (outside any test)\n%s", name, tail(p.pkgOut.String(), 200))
		}
	}
	if r.exit != nil && r.stderr.Len() > 0 {
		fmt.Fprintf(w, "\n=== go test's stderr\n%s", tail(r.stderr.String(), 100))
	}
	fmt.Fprintln(w)
	for _, name := range r.order {
		for _, t := range r.pkgs[name].skips {
			fmt.Fprintf(w, "skipped: %s %s\n", name, t)
		}
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", passed, failed, skipped)
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines left out)\n", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "")
}

// lastLine returns the last line of s that is not a --- SKIP line: the
// reason a test gave for skipping.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(withoutServerLogs(s)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" && !strings.HasPrefix(t, "--- SKIP") {
			return t
		}
	}
	return ""
}

// withoutServerLogs drops the lines the embedded etcd servers log through
// the test's logger, which bury the test's own messages.
func withoutServerLogs(s string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "logger.go:") || strings.HasPrefix(t, "cluster.go:") {
			continue
		}
		b.WriteString(line)
	}
	return b.String()
}
