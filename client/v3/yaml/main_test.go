package yaml_test

import (
	"testing"

	"github.com/a74b11dd/etcdkit/client/v3/internal/sharedcluster"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(sharedcluster.Wrap(m)) }
