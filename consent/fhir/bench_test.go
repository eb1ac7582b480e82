package fhir_test

import (
	"testing"
	"time"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/consent/fhir"
	"github.com/encoreos/platform-go/consent/fhir/internal/sample"
)

// An accounting of 1,000 rows (a busy chart's year) exported at once.
func BenchmarkAccountingBundle(b *testing.B) {
	rows := make([]consent.Disclosure, 0, 1000)
	for i := range cap(rows) {
		d := sample.EveryAction()[i%8]
		d.OccurredAt = d.OccurredAt.Add(time.Duration(i) * time.Minute)
		rows = append(rows, d)
	}
	var size int
	for b.Loop() {
		data, err := fhir.AccountingBundle(sample.Chart, rows)
		if err != nil {
			b.Fatal(err)
		}
		size = len(data)
	}
	b.ReportMetric(float64(size), "bytes/bundle")
}

func BenchmarkConsent(b *testing.B) {
	c := sample.TreatmentAndPayment()
	for b.Loop() {
		if _, err := fhir.Consent(c); err != nil {
			b.Fatal(err)
		}
	}
}
