//go:build !etcdkit_v2

package main

import (
	"context"
	"errors"
)

// Until etcdkit's client/v2 lands on this branch, its workloads report n/a.
func newEtcdkitV2(context.Context, []string) (v2Client, error) {
	return nil, errors.New("etcdkit client/v2: not implemented yet")
}
