package conformance_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/consent/fhir/internal/sample"
)

func TestConsentGolden(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]consent.Consent{
		"consent_treat_payment.json":   sample.TreatmentAndPayment(),
		"consent_revoked_all_org.json": sample.RevokedToOrganization(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data, err := fhir.Consent(c)
			require.NoError(t, err)
			requireValidR4(t, "Consent", data)
			requireGolden(t, name, data)
		})
	}
}

func TestAccountingBundleGolden(t *testing.T) {
	t.Parallel()
	data, err := fhir.AccountingBundle(sample.Chart, sample.EveryAction())
	require.NoError(t, err)
	requireValidR4(t, "Bundle", data)
	requireGolden(t, "accounting_every_action.json", data)

	empty, err := fhir.AccountingBundle(sample.Chart, nil)
	require.NoError(t, err)
	requireValidR4(t, "Bundle", empty)
}

// Every purpose a consent can name and every record type parse, and so do
// accounting rows alike in every field (their events get ids of their own)
// and a row without an acting user or a site.
func TestEveryCodeParses(t *testing.T) {
	t.Parallel()
	c := sample.TreatmentAndPayment()
	c.Purposes = []consent.Purpose{consent.PurposeTreatment, consent.PurposePayment, consent.PurposeOperations,
		consent.PurposeResearch, consent.PurposePatientRequest}
	c.RecordTypes = nil
	for _, r := range consent.RecordTypes() {
		if r != consent.RecordSUDCounselingNote {
			c.RecordTypes = append(c.RecordTypes, r)
		}
	}
	data, err := fhir.Consent(c)
	require.NoError(t, err)
	requireValidR4(t, "Consent", data)

	c.RecordTypes = []consent.RecordType{consent.RecordSUDCounselingNote}
	data, err = fhir.Consent(c)
	require.NoError(t, err)
	requireValidR4(t, "Consent", data)

	row := sample.EveryAction()[2]
	anonymous := row
	anonymous.ActorUserID, anonymous.SiteID = nil, nil
	data, err = fhir.AccountingBundle(sample.Chart, []consent.Disclosure{row, row, row, anonymous})
	require.NoError(t, err)
	requireValidR4(t, "Bundle", data)
}
