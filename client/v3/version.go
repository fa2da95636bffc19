package clientv3

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// checkVersion fails with ErrOldCluster when a reachable member runs etcd
// older than the release before the client's own (3.6 for 3.7), as the
// official client does, and with the error of a version it cannot read.
// Members that cannot be reached are skipped, but at least one must
// answer.
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
			if old, perr := olderThanSupported(resp.Version); perr != nil {
				errs[i] = perr
			} else if old {
				errs[i] = ErrOldCluster
			}
		}()
	}
	wg.Wait()
	var firstErr error
	answered := false
	for _, err := range errs {
		if err == ErrOldCluster || errors.Is(err, errBadVersion) {
			return err
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

// minSupportedMajor and minSupportedMinor are the oldest server release
// RejectOldCluster accepts: the minor release before the client's (3.7).
const minSupportedMajor, minSupportedMinor = 3, 6

var errBadVersion = errors.New("etcdclient: bad server version")

func olderThanSupported(v string) (bool, error) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false, fmt.Errorf("%w %q", errBadVersion, v)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false, fmt.Errorf("%w %q", errBadVersion, v)
	}
	return major < minSupportedMajor || (major == minSupportedMajor && minor < minSupportedMinor), nil
}
