//go:build race

package codec

// raceEnabled tells tests that count allocations that sync.Pool drops
// some of what it is given under the race detector.
const raceEnabled = true
