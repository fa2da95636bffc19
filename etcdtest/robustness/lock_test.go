package robustness

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const lockRunEnd = 100 * time.Second

// holding is worker's holding of the lock "/l/m" at revision rev, from
// acquired to released (in seconds; 0: never released), with fenced writes
// applied at writes.
func holding(worker int, rev int64, acquired, released float64, writes ...int64) LockRecord {
	return LockRecord{
		Worker: worker, Name: "/l/m", Rev: rev,
		Acquired: seconds(acquired), Released: seconds(released), Writes: writes,
	}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func lostAt(s float64, l LockRecord) LockRecord {
	l.LostAt = seconds(s)
	return l
}

func asElection(l LockRecord) LockRecord {
	l.Election = true
	return l
}

func TestCheckLocks(t *testing.T) {
	for _, c := range []struct {
		name     string
		locks    []LockRecord
		want     []string // guarantees broken, once per violation expected
		mentions []string // what the violations must name
	}{
		{
			name:  "holders one after another, writing in holder order, break nothing",
			locks: []LockRecord{holding(1, 10, 1, 2, 11, 12), holding(2, 13, 3, 4, 14)},
		},
		{
			name:     "an older holder's write applied after a newer holder's breaks lock/fencing",
			locks:    []LockRecord{holding(1, 10, 1, 2, 11, 15), holding(2, 13, 3, 4, 14)},
			want:     []string{"lock/fencing"},
			mentions: []string{"worker 1", "revision 15", "worker 2", "revision 14"},
		},
		{
			name:  "two holders with one revision break lock/fencing",
			locks: []LockRecord{holding(1, 10, 1, 2), holding(2, 10, 3, 4)},
			want:  []string{"lock/fencing"},
		},
		{
			name:  "a holder retaking its own key after a failed unlock held it all along, so a holder in between overlaps it",
			locks: []LockRecord{holding(1, 10, 1, 2, 11), holding(2, 20, 3, 4, 21), holding(1, 10, 6, 6.5, 15)},
			want:  []string{"lock/double-holder"},
		},
		{
			name: "a lock and an election of one name are different resources",
			locks: []LockRecord{
				holding(1, 10, 1, 3, 14),
				asElection(holding(2, 10, 2, 4, 11)),
			},
		},
		{
			name:     "holders whose holdings overlap break lock/double-holder",
			locks:    []LockRecord{holding(1, 10, 1, 3), holding(2, 13, 2, 4)},
			want:     []string{"lock/double-holder"},
			mentions: []string{"worker 1", "revision 10", "worker 2", "revision 13", "from 2s to 3s"},
		},
		{
			name:  "a holding ending as the next begins does not overlap it",
			locks: []LockRecord{holding(1, 10, 1, 2), holding(2, 13, 2, 4)},
		},
		{
			name:  "an overlap is excused when the earlier holder's session was known lost before the later acquired",
			locks: []LockRecord{lostAt(1.5, holding(1, 10, 1, 3)), holding(2, 13, 2, 4)},
		},
		{
			name:  "an overlap is not excused when the earlier holder's session was lost after the later acquired",
			locks: []LockRecord{lostAt(2.5, holding(1, 10, 1, 3)), holding(2, 13, 2, 4)},
			want:  []string{"lock/double-holder"},
		},
		{
			name:  "a holder that never let go held until its session was lost",
			locks: []LockRecord{lostAt(2, holding(1, 10, 1, 0)), holding(2, 13, 3, 4)},
		},
		{
			name:  "a holder that never let go nor lost its session held until the run ended",
			locks: []LockRecord{holding(1, 10, 1, 0), holding(2, 13, 50, 60)},
			want:  []string{"lock/double-holder"},
		},
		{
			name: "each overlapping pair is reported once",
			locks: []LockRecord{
				holding(3, 16, 4, 5), holding(1, 10, 1, 10), holding(2, 13, 2, 3),
			},
			want: []string{"lock/double-holder", "lock/double-holder"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := checkLocks(History{Locks: c.locks}, lockRunEnd)
			if want := sortedCopy(c.want); !slices.Equal(brokenGuarantees(got), want) {
				t.Fatalf("checkLocks broke %q, want %q; violations:\n%s", brokenGuarantees(got), want, listViolations(got))
			}
			for _, m := range c.mentions {
				if !strings.Contains(listViolations(got), m) {
					t.Errorf("violations do not mention %q:\n%s", m, listViolations(got))
				}
			}
		})
	}
}
