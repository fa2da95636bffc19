package peerurl

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheckAcceptsWhatTheOfficialClientsAccept(t *testing.T) {
	for _, in := range [][]string{
		{"http://127.0.0.1:2380"},
		{"https://h:1", " http://h:2 "},
		{"unix:///tmp/peer.sock"},
		{"unixs://h"},
	} {
		if err := Check(in); err != nil {
			t.Errorf("Check(%q) = %v, want nil", in, err)
		}
	}
}

func TestCheckRefusesWhatTheOfficialClientsRefuse(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:2380": "first path segment in URL cannot contain colon",
		"ftp://h:1":      "URL scheme must be http, https, unix, or unixs: ftp://h:1",
		"http://h":       `URL address does not have the form "host:port": http://h`,
		"http://h:1/":    "URL must not contain a path: http://h:1/",
		"http://h:1/p":   "URL must not contain a path: http://h:1/p",
	} {
		err := Check([]string{"http://ok:1", in})
		if err == nil {
			t.Errorf("Check(%q) = nil, want an error", in)
			continue
		}
		if got := err.Error(); !strings.Contains(got, want) {
			t.Errorf("Check(%q) = %q, want %q", in, got, want)
		}
	}
	if err := Check(nil); err == nil || err.Error() != "no valid URLs given" {
		t.Errorf("Check(nil) = %v, want \"no valid URLs given\"", err)
	}
}
