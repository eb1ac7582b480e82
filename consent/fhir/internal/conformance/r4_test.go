package conformance_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"
	r4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// parseR4 parses data with Google's FHIR Go library, an implementation of
// FHIR independent of this package, with validation on: required elements,
// cardinality, closed code sets (required bindings), reference target types,
// primitive formats and unknown elements all fail the parse. It returns the
// resource type parsed.
func parseR4(data []byte) (string, error) {
	u, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		return "", err
	}
	msg, err := u.Unmarshal(data)
	if err != nil {
		return "", err
	}
	cr, ok := msg.(*r4pb.ContainedResource)
	if !ok {
		return "", errNotContained
	}
	set := cr.ProtoReflect().WhichOneof(cr.ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource"))
	if set == nil {
		return "", errNotContained
	}
	return string(set.Message().Name()), nil
}

var errNotContained = errors.New("not a FHIR R4 resource")

// requireValidR4 fails t unless data is a valid FHIR R4 resource of the
// given type, by the independent parser.
func requireValidR4(t *testing.T, resourceType string, data []byte) {
	t.Helper()
	got, err := parseR4(data)
	require.NoError(t, err, "Google's FHIR R4 parser refuses the resource")
	require.Equal(t, resourceType, got)
}

// requireGolden compares data, indented, with testdata/name, or rewrites the
// file under -update.
func requireGolden(t *testing.T, name string, data []byte) {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, json.Indent(&out, data, "", "  "))
	out.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./consent/fhir/internal/conformance -update to write the golden file")
	require.Equal(t, string(want), out.String(), "the resource differs from %s (rerun with -update if the change is meant)", path)
}
