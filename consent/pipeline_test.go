package consent_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/encoreos/platform-go/consent"
	"github.com/encoreos/platform-go/internal/dbtx"
)

// TestAReadNeverRunsWhenItsAccountingFails: the accounting's COMMIT fails
// (a deferred trigger refuses its line): the read in the same pipeline
// does not run, and no line stands.
func TestAReadNeverRunsWhenItsAccountingFails(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.newNote(t, b.part2)
	_, err := b.store.Grant(ctx, b.manager, b.grantParams(b.clinician, consent.RecordProgressNote))
	require.NoError(t, err)
	b.db.Exec(t, `CREATE FUNCTION public.rt_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'rt: commit refused'; END $$`)
	b.db.Exec(t, `CREATE CONSTRAINT TRIGGER rt_fail AFTER INSERT ON public.pf_audit_logs DEFERRABLE INITIALLY DEFERRED
		FOR EACH ROW WHEN (NEW.action = 'part2.record.disclosed') EXECUTE FUNCTION public.rt_fail()`)
	ran := false
	var n int
	err = dbtx.Pipeline(ctx, b.db.App, b.clinician,
		[]dbtx.Statement{dbtx.Accounting(b.org, []uuid.UUID{b.part2}, "progress_note", "TREAT", "display")},
		[]dbtx.Statement{{SQL: `SELECT count(*) FROM public.cl_progress_notes`, Rows: func(r pgx.Rows) error {
			ran = true
			for r.Next() {
				if err := r.Scan(&n); err != nil {
					return err
				}
			}
			return r.Err()
		}}})
	require.Error(t, err)
	require.False(t, ran)
	var lines int
	require.NoError(t, b.db.Admin.QueryRow(ctx, `SELECT count(*) FROM public.pf_audit_logs WHERE action = 'part2.record.disclosed'`).Scan(&lines))
	require.Zero(t, lines)
}

// cutConn delivers the server's bytes up to the end of the first
// CommandComplete "SELECT n" that follows marker, then fails every read.
type cutConn struct {
	net.Conn
	mu     sync.Mutex
	armed  *bool
	marker []byte
	seen   bytes.Buffer
	cut    bool
}

func (c *cutConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, errors.New("rt: connection cut")
	}
	n, err := c.Conn.Read(p)
	if !*c.armed || n == 0 {
		return n, err
	}
	start := c.seen.Len()
	c.seen.Write(p[:n])
	all := c.seen.Bytes()
	i := bytes.Index(all, c.marker)
	if i < 0 {
		return n, err
	}
	// The first CommandComplete ('C', length, "SELECT n") after the marker.
	for j := i; j+5 < len(all); j++ {
		if all[j] == 'C' && bytes.HasPrefix(all[j+5:], []byte("SELECT ")) {
			l := int(binary.BigEndian.Uint32(all[j+1 : j+5]))
			end := j + 1 + l
			if end <= len(all) {
				c.cut = true
				keep := end - start
				if keep < 0 {
					keep = 0
				}
				return keep, nil
			}
		}
	}
	return n, err
}

type marked struct {
	Marker string `db:"marker"`
	N      int    `db:"n"`
}

// TestNoRowsComeBackWithAnError: the connection fails after the read's
// rows, before its COMMIT's answer: the caller gets the error and no rows
// (a red-team finding).
func TestNoRowsComeBackWithAnError(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	armed := false
	cfg := b.db.AppConfig(t)
	cfg.MaxConns = 1
	d := &net.Dialer{}
	cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cutConn{Conn: c, armed: &armed, marker: []byte("RTMARKER")}, nil
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.Ping(ctx))
	armed = true
	out, err := dbtx.CollectAccounted[marked](ctx, p, b.clinician, b.org,
		[]dbtx.Statement{dbtx.Accounting(b.org, []uuid.UUID{b.part2}, "progress_note", "TREAT", "display")},
		`SELECT 'RTMARKER' AS marker, g AS n FROM pg_catalog.generate_series(1, 3) g`)
	require.Error(t, err, "the connection was cut before the commit's answer")
	require.Empty(t, out, "rows returned with an error")
}
