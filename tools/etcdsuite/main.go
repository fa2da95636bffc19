// Command etcdsuite runs etcd's own client integration tests
// (go.etcd.io/etcd/tests/v3 integration/clientv3/..., at the version pinned
// below) with etcdkit's client/v3 in place of the official client.
//
// It copies our client/v3 tree (no test files, no test-only packages), and
// the shared kernel it uses (the module's internal/, as the copy's
// internal/etcdkit/), into a temporary module named go.etcd.io/etcd/client/v3,
// with our import paths rewritten, and runs go test on etcd's packages from a second temporary
// module that replaces the official client with that copy. etcd's tests are
// run from the module cache; nothing of theirs is copied into this repository.
//
// It prints each package's result, every failing test with its output, and
// a closing line "N passed, M failed, K skipped" counting top-level tests.
// It exits 1 when a test failed or a package did not build.
//
// It lives in its own module: the library module never depends on etcd's
// test or server modules.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// suiteVersion is the etcd release whose client suite is the specification.
const suiteVersion = "v3.7.3"

const (
	ourClient      = "github.com/a74b11dd/etcdkit/client/v3"
	officialClient = "go.etcd.io/etcd/client/v3"
	suiteModule    = "go.etcd.io/etcd/tests/v3"
	suitePackages  = suiteModule + "/integration/clientv3/..."
)

func main() {
	repo := flag.String("repo", "../..", "the etcdkit checkout whose client/v3 is tested")
	run := flag.String("run", "", "go test -run: only tests matching this pattern")
	pkgs := flag.String("pkgs", suitePackages, "space-separated packages of "+suiteModule+" to test")
	timeout := flag.Duration("timeout", 40*time.Minute, "go test -timeout for each package")
	race := flag.Bool("race", false, "run the suite with the race detector (slower)")
	keep := flag.Bool("keep", false, "keep the temporary modules and print where they are")
	verbose := flag.Bool("v", false, "echo every line of go test's output")
	logFile := flag.String("log", "", "write go test's -json output to this file as well")
	flag.Parse()

	work, err := os.MkdirTemp("", "etcdsuite-")
	if err != nil {
		fatal(err)
	}
	if *keep {
		fmt.Println("etcdsuite: temporary modules in", work)
	} else {
		cleanups = append(cleanups, func() { os.RemoveAll(work) })
	}

	clientDir := filepath.Join(work, "client")
	runnerDir := filepath.Join(work, "runner")
	if err := copyClient(filepath.Join(*repo, "client", "v3"), filepath.Join(*repo, "internal"), filepath.Join(*repo, "go.mod"), clientDir); err != nil {
		fatal(err)
	}
	if err := writeRunner(runnerDir, clientDir); err != nil {
		fatal(err)
	}

	args := []string{"test", "-count=1", "-json", "-timeout", timeout.String()}
	if *race {
		args = append(args, "-race")
	}
	if *run != "" {
		args = append(args, "-run", *run)
	}
	args = append(args, strings.Fields(*pkgs)...)
	var raw io.Writer = io.Discard
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			fatal(err)
		}
		cleanups = append(cleanups, func() { f.Close() })
		raw = f
	}
	res, err := runSuite(runnerDir, args, *verbose, raw)
	if err != nil {
		fatal(err)
	}
	res.report(os.Stdout)
	if !res.ok() {
		exit(1)
	}
	exit(0)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "etcdsuite:", err)
	exit(2)
}

// cleanups run before the process exits, deferred calls being skipped by
// os.Exit.
var cleanups []func()

func exit(code int) {
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	os.Exit(code)
}
