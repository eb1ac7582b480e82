package peer

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/encoreos/platform-go/internal/dbtx"
	"github.com/encoreos/platform-go/internal/telemetry"
	"github.com/encoreos/platform-go/internal/validate"
)

// ListParams selects one page of encounters, newest first (by service
// date, then id).
type ListParams struct {
	// From and To bound the service dates, inclusive; zero means open.
	From, To time.Time
	// Limit is the page size: 1 to 500, default 50.
	Limit int
	// After is the Next cursor of the previous page; empty for the first.
	After string
}

// Page is one page of encounters.
type Page struct {
	Encounters []Encounter
	// Next is the cursor of the following page; empty on the last page.
	Next string
}

// Limits of a page.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

var (
	farPast   = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	maxUUID   = uuid.Max
)

// ListByChart returns a page of a chart's encounters (the chart view,
// CL-01). Encounters of a Part 2 chart are there only under a consent.
func (c *Client) ListByChart(ctx context.Context, actingUser, organizationID, chartID uuid.UUID, p ListParams) (_ *Page, err error) {
	ctx, span := c.tel.Start(ctx, "peer.ListByChart", telemetry.Organization(organizationID))
	defer span.End(&err)
	if err := validate.Required("ChartID", chartID); err != nil {
		return nil, err
	}
	return c.list(ctx, listByChartSQL, actingUser, organizationID, chartID, p)
}

// ListByProvider returns a page of a peer specialist's encounters.
func (c *Client) ListByProvider(ctx context.Context, actingUser, organizationID, peerProviderID uuid.UUID, p ListParams) (_ *Page, err error) {
	ctx, span := c.tel.Start(ctx, "peer.ListByProvider", telemetry.Organization(organizationID))
	defer span.End(&err)
	if err := validate.Required("PeerProviderID", peerProviderID); err != nil {
		return nil, err
	}
	return c.list(ctx, listByProviderSQL, actingUser, organizationID, peerProviderID, p)
}

// list reads a page through sql, a read that accounts for the Part 2
// charts it meets (cl_peer_encounters_by_chart, _by_provider).
func (c *Client) list(ctx context.Context, sql string, actingUser, org, owner uuid.UUID, p ListParams) (*Page, error) {
	if err := validate.Required("OrganizationID", org); err != nil {
		return nil, err
	}
	if p.Limit == 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit < 1 || p.Limit > MaxPageSize {
		return nil, validate.Errorf("Limit", "must be between 1 and %d", MaxPageSize)
	}
	from, to := farPast, farFuture
	if !p.From.IsZero() {
		from = dateOf(p.From)
	}
	if !p.To.IsZero() {
		to = dateOf(p.To)
	}
	if to.Before(from) {
		return nil, validate.Errorf("To", "must not be before From")
	}
	afterDate, afterID := farFuture.AddDate(0, 0, 1), maxUUID
	if p.After != "" {
		var err error
		if afterDate, afterID, err = ParseCursor(p.After); err != nil {
			return nil, err
		}
	}
	args := pgx.NamedArgs{
		"organization_id": org, "owner_id": owner, "from": from, "to": to,
		"after_date": afterDate, "after_id": afterID, "limit": p.Limit + 1,
	}
	// One transaction (dbtx.ReadAccounted).
	encounters, err := dbtx.CollectAccounted[Encounter](ctx, c.db, actingUser, org, nil, sql, args)
	if err != nil {
		return nil, err
	}
	page := &Page{Encounters: encounters}
	if len(page.Encounters) > p.Limit {
		page.Encounters = page.Encounters[:p.Limit]
		last := page.Encounters[p.Limit-1]
		page.Next = cursor(last.ServiceDate, last.ID)
	}
	return page, nil
}

// cursor encodes a position (service date, id) as an opaque string.
func cursor(date time.Time, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(date.Format(time.DateOnly) + "|" + id.String()))
}

// ParseCursor decodes a Page.Next cursor. A cursor that was not made by
// this package is a *ValidationError for the field After.
func ParseCursor(s string) (time.Time, uuid.UUID, error) {
	bad := validate.Errorf("After", "is not a cursor this package made")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) > 64 {
		return time.Time{}, uuid.Nil, bad
	}
	datePart, idPart, ok := strings.Cut(string(raw), "|")
	if !ok {
		return time.Time{}, uuid.Nil, bad
	}
	date, err := time.Parse(time.DateOnly, datePart)
	if err != nil {
		return time.Time{}, uuid.Nil, bad
	}
	id, err := uuid.Parse(idPart)
	if err != nil || len(idPart) != 36 {
		return time.Time{}, uuid.Nil, bad
	}
	return date, id, nil
}
