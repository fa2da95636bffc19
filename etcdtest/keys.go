package etcdtest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// runs numbers each run of a test, so that reruns (-count=N) against a
// cluster shared by a package get fresh keys too.
var (
	runs    sync.Map // testing.TB -> int64
	lastRun atomic.Int64
)

// KeyPrefix returns a key prefix unique to this run of t, for tests that
// share a cluster: a slash, t's name (its own slashes made underscores),
// a dot and the run's number in six digits; for example
// "/TestWatch_resumes.000007". It is a prefix of no other run's keys, so a
// test may use it as a key or a watch prefix of its own, and name its keys
// KeyPrefix(t) + "/" + name.
func KeyPrefix(t testing.TB) string {
	run, _ := runs.LoadOrStore(t, lastRun.Add(1))
	return fmt.Sprintf("/%s.%06d", strings.ReplaceAll(t.Name(), "/", "_"), run)
}
