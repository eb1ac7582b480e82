package telehealthgroup_test

import (
	"context"
	"testing"

	"github.com/encoreos/platform-go/internal/testdb"
	"github.com/encoreos/platform-go/telehealthgroup"
)

// The Go check and the database's cl_is_opaque_reference agree on every
// input: what the API accepts, the CHECK accepts, and the reverse.
func FuzzOpaqueReference(f *testing.F) {
	for _, s := range []string{"vendor-session-83211", "https://zoom.us/j/1", "eyJhbGci", "http_x", "HTTP:x", "ok:ref_1", "", "ümlaut", "a\x00b"} {
		f.Add(s)
	}
	db := testdb.New(f)
	f.Fuzz(func(t *testing.T, s string) {
		var inDB *bool
		if err := db.Admin.QueryRow(context.Background(), `SELECT public.cl_is_opaque_reference($1)`, s).Scan(&inDB); err != nil {
			// Not even text PostgreSQL can hold (NUL, invalid UTF-8): Go must refuse it.
			if telehealthgroup.OpaqueReference(s) {
				t.Fatalf("Go accepts %q, which PostgreSQL cannot store", s)
			}
			return
		}
		if got := telehealthgroup.OpaqueReference(s); inDB == nil || got != *inDB {
			t.Fatalf("%q: Go says %v, the database %v", s, got, inDB)
		}
	})
}
