package testdb

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Rand returns a random source for a test's randomized data, seeded from
// the clock, and logs the seed so that a failure can be replayed.
func Rand(t testing.TB) *rand.Rand {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	return rand.New(rand.NewPCG(seed, 0))
}
