package clientv3

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// checkVersion fails with ErrOldCluster when a reachable member runs etcd
// older than 3.2. Members that cannot be reached are skipped, but at least
// one must answer.
func (c *Client) checkVersion(ctx context.Context) error {
	eps := c.Endpoints()
	errs := make([]error, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Maintenance.Status(ctx, ep)
			if err != nil {
				errs[i] = err
				return
			}
			if old, perr := olderThan32(resp.Version); perr != nil || old {
				errs[i] = ErrOldCluster
			}
		}()
	}
	wg.Wait()
	var firstErr error
	answered := false
	for _, err := range errs {
		if err == ErrOldCluster {
			return ErrOldCluster
		}
		if err == nil {
			answered = true
		} else if firstErr == nil {
			firstErr = err
		}
	}
	if !answered {
		return firstErr
	}
	return nil
}

func olderThan32(v string) (bool, error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false, fmt.Errorf("etcdclient: bad server version %q", v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false, fmt.Errorf("etcdclient: bad server version %q", v)
	}
	return major < 3 || (major == 3 && minor < 2), nil
}
