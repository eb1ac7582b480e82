package consenttest_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/consenttest"
)

func TestFakeCheckerConforms(t *testing.T) {
	consenttest.RunCheckerSuite(t, func(t *testing.T) consenttest.Harness {
		fake := consenttest.NewChecker()
		return consenttest.Harness{
			Checker: fake,
			NewChart: func(_ testing.TB, part2 bool) uuid.UUID {
				id := uuid.New()
				fake.AddChart(id, part2)
				return id
			},
			NewUser: func(testing.TB) uuid.UUID { return uuid.New() },
			Grant: func(_ testing.TB, chart, user uuid.UUID, types ...consent.RecordType) func() {
				fake.Grant(chart, user, types...)
				return func() { fake.Revoke(chart, user) }
			},
		}
	})
}
