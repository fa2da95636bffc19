package paging_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(sharedcluster.Wrap(m)) }
