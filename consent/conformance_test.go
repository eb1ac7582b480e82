package consent_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/consenttest"
	"github.com/encoreos/platform-go/internal/testdb"
)

func TestStoreConforms(t *testing.T) {
	t.Parallel()
	db := testdb.New(t) // one database; every subtest makes its own charts and users
	org := db.NewOrg(t)
	manager := db.NewMember(t, org, "privacy_officer")
	store, err := consent.New(db.App, nil)
	require.NoError(t, err)
	consenttest.RunCheckerSuite(t, func(t *testing.T) consenttest.Harness {
		return consenttest.Harness{
			Checker:  store,
			NewChart: func(t testing.TB, part2 bool) uuid.UUID { return db.NewChart(t, org, part2) },
			NewUser:  func(t testing.TB) uuid.UUID { return db.NewMember(t, org, "clinician") },
			Grant: func(t testing.TB, chart, user uuid.UUID, types ...consent.RecordType) func() {
				c, err := store.Grant(context.Background(), manager, consent.GrantParams{
					OrganizationID: org, ChartID: chart, Recipient: consent.Recipient{UserID: user},
					RecordTypes: types, Purposes: []consent.Purpose{consent.PurposeTreatment},
					ExpirationEvent: "end_of_treatment", SignedAt: time.Now(), Signer: consent.SignerPatient,
				})
				require.NoError(t, err)
				return func() {
					_, err := store.Revoke(context.Background(), manager, org, c.ID)
					require.NoError(t, err)
				}
			},
		}
	})
}
