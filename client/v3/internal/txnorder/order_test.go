package txnorder

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOrderReportsTheFirstMisuse(t *testing.T) {
	for _, c := range []struct {
		name  string
		calls string
		want  string
	}{
		{"in order", "ite", ""},
		{"each may be left out", "e", ""},
		{"If twice", "ii", "etcdclient: cannot call If twice"},
		{"If after Then", "ti", "etcdclient: cannot call If after Then"},
		{"If after Else", "ei", "etcdclient: cannot call If after Else"},
		{"If after Then and Else: Then is named", "tei", "etcdclient: cannot call If after Then"},
		{"Then twice", "tt", "etcdclient: cannot call Then twice"},
		{"Then after Else", "et", "etcdclient: cannot call Then after Else"},
		{"Else twice", "ee", "etcdclient: cannot call Else twice"},
		{"the first misuse wins", "eeti", "etcdclient: cannot call Else twice"},
	} {
		var o Order
		for _, call := range c.calls {
			map[rune]func(){'i': o.If, 't': o.Then, 'e': o.Else}[call]()
		}
		got := ""
		if err := o.Err(); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%s (%s): Err = %q, want %q", c.name, c.calls, got, c.want)
		}
	}
}
