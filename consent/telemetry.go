package consent

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/encoreos/platform-go/internal/telemetry"
)

// instrumentDecisions counts the answers of [Client.Check], by decision,
// basis, purpose, record type and use: codes only, never the chart (which
// would make a series per patient, and say which charts are Part 2).
const instrumentDecisions = "platform.consent.decisions"

// Span attribute keys of the consent package's records.
const (
	consentIDKey         = "platform.consent.id"
	emergencyAccessIDKey = "platform.emergency_access.id"
)

// The values of the decision attribute.
const (
	decisionPermit = "permit"
	decisionDeny   = "deny"
)

func (s *Client) instrument() {
	var err error
	s.decisions, err = s.tel.Meter().Int64Counter(instrumentDecisions, metric.WithUnit("{decision}"),
		metric.WithDescription("Part 2 consent decisions answered by Check, by decision, basis, purpose, record type and use."))
	telemetry.Handle(err)
}

// decisionAttributes are the codes of one decision, for its span and its
// count.
func decisionAttributes(req *Request, d Decision) []attribute.KeyValue {
	decided := decisionDeny
	if d.Allowed {
		decided = decisionPermit
	}
	return []attribute.KeyValue{
		telemetry.DecisionKey.String(decided), telemetry.BasisKey.String(string(d.Basis)),
		telemetry.PurposeKey.String(string(req.Purpose)), telemetry.RecordTypeKey.String(string(req.RecordType)),
		telemetry.UseKey.String(string(req.Use)),
	}
}
