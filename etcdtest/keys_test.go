package etcdtest

import (
	"strings"
	"testing"
)

func TestKeyPrefixIsStablePerRunAndPrefixesNoOtherRunsKeys(t *testing.T) {
	first := KeyPrefix(t)
	if again := KeyPrefix(t); again != first {
		t.Fatalf("second call in the same run = %q, want %q", again, first)
	}
	if !strings.HasPrefix(first, "/TestKeyPrefixIsStablePerRunAndPrefixesNoOtherRunsKeys.") {
		t.Fatalf("prefix %q does not start with a slash, the test's name and a dot", first)
	}
	var subs []string
	for range 12 {
		t.Run("sub/name", func(t *testing.T) { subs = append(subs, KeyPrefix(t)) })
	}
	for i, a := range subs {
		if strings.Count(a, "/") != 1 {
			t.Fatalf("subtest prefix %q has more than its leading slash", a)
		}
		for j, b := range subs {
			if i != j && strings.HasPrefix(b, a) {
				t.Fatalf("run %d's prefix %q is a prefix of run %d's %q", i, a, j, b)
			}
		}
	}
}
