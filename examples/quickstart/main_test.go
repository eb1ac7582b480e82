package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/natsserver"
	"github.com/encoreos/platform-go/internal/testdb"
)

// The test needs no NATS: unless NATS_URL is set, it points NATS_URL at a
// server of its own (go run uses the machine's).
func TestMain(m *testing.M) {
	stop, err := natsserver.ForExamples()
	if err != nil {
		panic(err)
	}
	testdb.Main(m, stop)
}

// The quickstart is documentation that cannot go stale: it runs as a test.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL; skipped with -short")
	}
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out), out.String())
	got := out.String()
	for _, want := range []string{
		`before any consent:\s+allowed=false basis=denied\s+progress notes visible to the clinician: 0`,
		`after the grant:\s+allowed=true\s+basis=consent\s+progress notes visible to the clinician: 1`,
		`after the revocation:\s+allowed=false basis=denied\s+progress notes visible to the clinician: 0`,
		`part2.consent.granted`,
		`part2.consent.revoked`,
		`consumer received on cl_pm_events\.[0-9a-f-]{36}\.peer_encounter_finalized`,
		`H0038, 50 minutes = 3 units under the CMS 8-minute rule`,
		`productivity report for HR: 1 provider\(s\)\n  provider [0-9a-f-]{36}: suppressed`,
	} {
		require.Regexp(t, regexp.MustCompile(want), got)
	}
}

// Without a NATS server the quickstart says how to get one.
func TestQuickstartSaysHowToGetNATS(t *testing.T) {
	t.Setenv("NATS_URL", "nats://127.0.0.1:1") // nothing listens on port 1
	_, _, err := jetStream(io.Discard)
	require.ErrorContains(t, err, "connecting to NATS at NATS_URL")
	require.ErrorContains(t, err, "nats-server -js")
}
