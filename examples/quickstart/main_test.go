package main

import (
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/a74b11dd/etcdkit/etcdtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstartRunsAgainstTheEtcdItStarts(t *testing.T) {
	if err := run(t.Context(), "", ""); err != nil {
		t.Fatal(err)
	}
}

func TestQuickstartRunsAgainstGivenEndpoints(t *testing.T) {
	c := etcdtest.NewCluster(t, etcdtest.WithVersion(etcdtest.V3_5), etcdtest.WithV2())
	if err := run(t.Context(), strings.Join(c.Endpoints(), ","), strings.Join(c.ClientURLs(), ",")); err != nil {
		t.Fatal(err)
	}
}

func TestQuickstartSkipsV2WithoutV2Endpoints(t *testing.T) {
	c := etcdtest.NewCluster(t)
	if err := run(t.Context(), strings.Join(c.Endpoints(), ","), ""); err != nil {
		t.Fatal(err)
	}
}
