package etcdtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// allThreadsStopped reports whether every thread of process pid is in the
// stopped state (T, or t when traced), as /proc shows them. A thread that
// has exited meanwhile does not count against it.
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "task", task.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state follows the command name, which is in parentheses
		// and may itself hold spaces or parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) {
			return false
		}
		if state := b[i+2]; state != 'T' && state != 't' {
			return false
		}
	}
	return true
}
