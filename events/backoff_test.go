package events

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoffDoublesCapsAndNeverOverflows(t *testing.T) {
	r := &Relay{cfg: RelayConfig{RetryBackoff: time.Second, MaxRetryBackoff: 10 * time.Minute}}
	for attempt := 1; attempt <= 1000; attempt++ {
		want := min(time.Second<<min(attempt-1, 20), 10*time.Minute)
		got := r.backoff(attempt)
		require.GreaterOrEqual(t, got, want/2, "attempt %d", attempt)
		require.LessOrEqual(t, got, want, "attempt %d", attempt)
	}
}
