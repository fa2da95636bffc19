package clientv3

import (
	"context"
	"time"
)

// sleepOr waits for d, ctx's end or done, whichever comes first; only
// ctx's end is an error.
func sleepOr(ctx context.Context, d time.Duration, done <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
	case <-done:
	}
	return nil
}

// sleep waits for d or ctx's end; only ctx's end is an error.
func sleep(ctx context.Context, d time.Duration) error { return sleepOr(ctx, d, nil) }
