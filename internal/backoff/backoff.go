package backoff

import (
	"math/rand/v2"
	"time"
)

// Exponential is a wait that doubles with each consecutive failure, from
// Base after the first up to Max. The zero value waits nothing.
type Exponential struct {
	Base, Max time.Duration
}

// Delay returns the wait after n consecutive failures: Base for n <= 1,
// twice the previous one for each failure after that, never more than Max.
// Any n is fine: the doubling stops at Max.
func (e Exponential) Delay(n int) time.Duration {
	d := e.Base
	for ; n > 1 && d > 0 && d < e.Max; n-- {
		if d > e.Max/2 {
			return e.Max
		}
		d *= 2
	}
	return min(d, e.Max)
}

// Jitter returns d moved by a uniformly random amount of up to frac of d
// either way (frac of 0.2 gives 0.8d to 1.2d), never below zero. It spreads
// the retries of many calls that failed together.
func Jitter(d time.Duration, frac float64) time.Duration {
	if frac > 0 && d > 0 {
		d += time.Duration((rand.Float64()*2 - 1) * frac * float64(d))
	}
	return max(d, 0)
}

// Half returns a uniformly random wait between d/2 and d: never much
// shorter than d, so that a growing backoff still grows, yet spread out,
// so that the streams of many clients that lost the same member do not
// come back at once.
func Half(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}
