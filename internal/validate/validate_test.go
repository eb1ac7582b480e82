package validate

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestText(t *testing.T) {
	cases := []struct {
		in     string
		reason string // "" means valid
	}{
		{"", "is required"},
		{"   \t\n", "is required"},
		{"short", "needs at least 10 characters"},
		{"  exactly10!  ", ""},
		{strings.Repeat("é", 20), ""},
		{strings.Repeat("x", 21), "may have at most 20 characters"},
		{"valid text\x00with NUL", "must be valid UTF-8 text without NUL characters"},
		{"bad \xff utf-8 sequence", "must be valid UTF-8 text without NUL characters"},
	}
	for _, tc := range cases {
		err := Text("Reason", tc.in, 10, 20)
		if tc.reason == "" {
			require.NoError(t, err, "%q", tc.in)
			continue
		}
		var verr *Error
		require.ErrorAs(t, err, &verr, "%q", tc.in)
		require.Equal(t, "Reason", verr.Field)
		require.Equal(t, tc.reason, verr.Reason)
		require.True(t, errors.Is(err, ErrInvalid))
		if strings.TrimSpace(tc.in) != "" {
			require.NotContains(t, err.Error(), tc.in, "the message must not echo the value")
		}
	}
}

func TestRequiredAndFirst(t *testing.T) {
	require.NoError(t, Required("ChartID", uuid.New()))
	err := First(nil, Required("ChartID", uuid.Nil), Required("OrgID", uuid.Nil))
	var verr *Error
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "ChartID", verr.Field)
	require.NoError(t, First())
}

func FuzzText(f *testing.F) {
	f.Add("patient unresponsive", 10, 2000)
	f.Add("\x00", 1, 5)
	f.Fuzz(func(t *testing.T, s string, min, max int) {
		err := Text("Field", s, min, max)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("unexpected error kind: %v", err)
		}
		if err == nil && (strings.ContainsRune(s, 0) || len(strings.TrimSpace(s)) == 0 && min > 0) {
			t.Fatalf("accepted %q", s)
		}
	})
}
