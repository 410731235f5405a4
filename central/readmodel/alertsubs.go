package readmodel

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vendsync/vendsync/central/webhook"
	"github.com/vendsync/vendsync/sync/envelope"
)

// Subscription is a user's standing request to have alerts posted to a
// webhook. Empty filters match every value; an alert is notified when it
// matches every non-empty filter.
type Subscription struct {
	ID            string
	Owner         string
	URL           string
	Secret        string
	AlertTypes    []string
	Sites         []string
	Cities        []string
	Machines      []string
	Products      []string
	IncludeClosed bool // also notify when an alert closes
	CreatedAt     time.Time
}

// matches reports whether the alert a at site (its machine in city) is one
// s wants.
func (s *Subscription) matches(site, city string, a *envelope.Alert) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	if a.Status != "OPEN" && !s.IncludeClosed {
		return false
	}
	return in(s.AlertTypes, a.Type) && in(s.Sites, site) && in(s.Cities, city) &&
		in(s.Machines, a.MachineID) && in(s.Products, a.ProductID)
}

// AlertNotification is the JSON body of an alert webhook delivery.
type AlertNotification struct {
	DeliveryID     string     `json:"deliveryId"`
	SubscriptionID string     `json:"subscriptionId"`
	Event          string     `json:"event"` // "alert"
	SiteID         string     `json:"siteId"`
	City           string     `json:"city,omitempty"`
	AlertID        int64      `json:"alertId"`
	MachineID      string     `json:"machineId"`
	ProductID      string     `json:"productId,omitempty"`
	Type           string     `json:"type"`
	Status         string     `json:"status"`
	Detail         string     `json:"detail,omitempty"`
	OpenedAt       time.Time  `json:"openedAt"`
	ClosedAt       *time.Time `json:"closedAt,omitempty"`
}

// DeliveryRow is one delivery of a subscription and its attempts.
type DeliveryRow struct {
	ID          string
	State       string // PENDING, DELIVERED, FAILED
	Attempts    []AttemptRow
	CreatedAt   time.Time
	DeliveredAt time.Time
	NextAt      time.Time
	LastError   string
	Payload     []byte
}

// AttemptRow is one attempt of a delivery.
type AttemptRow struct {
	Attempt    int
	At         time.Time
	StatusCode int
	Error      string
	Duration   time.Duration
}

// subCache holds the live subscriptions, loaded on first use after a change.
type subCache struct {
	mu     sync.Mutex
	loaded bool
	list   []Subscription
}

func (c *subCache) invalidate() {
	c.mu.Lock()
	c.loaded = false
	c.mu.Unlock()
}

func (c *subCache) get(ctx context.Context, s *Store) ([]Subscription, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loaded {
		return c.list, nil
	}
	list, err := s.Subscriptions(ctx, "")
	if err != nil {
		return nil, err
	}
	c.list, c.loaded = list, true
	return list, nil
}

const (
	insertSubscription = `INSERT INTO alert_subscriptions (subscription_id, owner, url, secret, alert_types, sites, cities,
		machines, products, include_closed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	selectSubscriptions = `SELECT subscription_id, owner, url, secret, alert_types, sites, cities, machines, products,
		include_closed, created_at FROM alert_subscriptions WHERE deleted_at IS NULL AND (? = '' OR owner = ?)
		ORDER BY created_at, subscription_id`
	deleteSubscription = `UPDATE alert_subscriptions SET deleted_at = ? WHERE subscription_id = ? AND deleted_at IS NULL`
	insertDelivery     = `INSERT INTO webhook_deliveries (delivery_id, subscription_id, payload, state, next_at, created_at)
		VALUES (?, ?, ?, 'PENDING', ?, ?) ON CONFLICT (delivery_id) DO NOTHING`
	selectMachineCity = `SELECT city FROM machines WHERE site = ? AND machine_id = ?`
	selectDue         = `SELECT d.delivery_id, d.subscription_id, s.url, s.secret, d.payload, d.attempts
		FROM webhook_deliveries d JOIN alert_subscriptions s ON s.subscription_id = d.subscription_id
		WHERE d.state = 'PENDING' AND d.next_at <= ? AND s.deleted_at IS NULL
		ORDER BY d.next_at, d.delivery_id LIMIT ?`
	insertAttempt = `INSERT INTO webhook_attempts (delivery_id, attempt, at, status_code, error, duration_ms)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	updateDelivery = `UPDATE webhook_deliveries SET attempts = ?, state = ?, next_at = ?, delivered_at = ?, last_error = ?
		WHERE delivery_id = ? AND attempts < ?`
	selectDeliveries = `SELECT delivery_id, state, created_at, coalesce(delivered_at, 0), next_at, last_error, payload
		FROM webhook_deliveries WHERE subscription_id = ? ORDER BY created_at DESC, delivery_id LIMIT ?`
	selectAttempts = `SELECT attempt, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt`
)

// CreateSubscription stores sub (ID, Secret and CreatedAt set by the
// caller). It returns an error wrapping ErrInvalidQuery for a duplicate id.
func (s *Store) CreateSubscription(ctx context.Context, sub Subscription) error {
	enc := func(v []string) string {
		if v == nil {
			v = []string{}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	err := s.writeTx(ctx, func(ctx context.Context) error {
		// Inside the transaction: no batch can apply (and reload the
		// cache) between this commit and the invalidation.
		s.subs.invalidate()
		return s.exec(ctx, insertSubscription, sub.ID, sub.Owner, sub.URL, sub.Secret, enc(sub.AlertTypes), enc(sub.Sites),
			enc(sub.Cities), enc(sub.Machines), enc(sub.Products), sub.IncludeClosed, ms(sub.CreatedAt))
	})
	if err != nil {
		return fmt.Errorf("create subscription: %w", err)
	}
	return nil
}

// Subscriptions lists live subscriptions, of owner only unless owner is "".
func (s *Store) Subscriptions(ctx context.Context, owner string) ([]Subscription, error) {
	rows, err := s.db.Query(ctx, selectSubscriptions, owner, owner)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		var sub Subscription
		var types, sites, cities, machines, products string
		var created int64
		if err := rows.Scan(&sub.ID, &sub.Owner, &sub.URL, &sub.Secret, &types, &sites, &cities, &machines, &products,
			&sub.IncludeClosed, &created); err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		for _, p := range []struct {
			raw string
			dst *[]string
		}{{types, &sub.AlertTypes}, {sites, &sub.Sites}, {cities, &sub.Cities}, {machines, &sub.Machines}, {products, &sub.Products}} {
			if err := json.Unmarshal([]byte(p.raw), p.dst); err != nil {
				return nil, fmt.Errorf("subscription %s: %w", sub.ID, err)
			}
		}
		sub.CreatedAt = fromMS(created)
		out = append(out, sub)
	}
	return out, rows.Err()
}

// Subscription returns the live subscription id, or ErrNotFound.
func (s *Store) Subscription(ctx context.Context, id string) (Subscription, error) {
	all, err := s.Subscriptions(ctx, "")
	if err != nil {
		return Subscription{}, err
	}
	for _, sub := range all {
		if sub.ID == id {
			return sub, nil
		}
	}
	return Subscription{}, fmt.Errorf("subscription %s: %w", id, ErrNotFound)
}

// DeleteSubscription ends subscription id: nothing more is notified or
// retried for it; its delivery log stays. It returns ErrNotFound when no
// live subscription has that id.
func (s *Store) DeleteSubscription(ctx context.Context, id string) error {
	var n int64
	err := s.writeTx(ctx, func(ctx context.Context) error {
		s.subs.invalidate() // see CreateSubscription
		res, err := s.execStmt(ctx, deleteSubscription, ms(s.Clock(ctx)), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("delete subscription %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("subscription %s: %w", id, ErrNotFound)
	}
	return nil
}

// notifyAlert queues a delivery of a to every subscription that wants it,
// in the transaction applying it. The caller holds s.mu.
func (k *sqliteSink) notifyAlert(ctx context.Context, site string, a *envelope.Alert) error {
	subs, err := k.s.subs.get(ctx, k.s)
	if err != nil || len(subs) == 0 {
		return err
	}
	var city string
	if err := k.s.queryRow(ctx, selectMachineCity, site, a.MachineID).Scan(&city); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("alert city: %w", err)
	}
	for i := range subs {
		sub := &subs[i]
		if !sub.matches(site, city, a) {
			continue
		}
		id := sub.ID + ":" + site + ":" + strconv.FormatInt(a.AlertID, 10) + ":" + a.Status
		body, err := json.Marshal(AlertNotification{DeliveryID: id, SubscriptionID: sub.ID, Event: "alert", SiteID: site, City: city,
			AlertID: a.AlertID, MachineID: a.MachineID, ProductID: a.ProductID, Type: a.Type, Status: a.Status, Detail: a.Detail,
			OpenedAt: a.OpenedAt, ClosedAt: a.ClosedAt})
		if err != nil {
			return err
		}
		if err := k.s.exec(ctx, insertDelivery, id, sub.ID, body, k.now, k.now); err != nil {
			return fmt.Errorf("queue delivery: %w", err)
		}
	}
	return nil
}

// Webhooks is the read model as the webhook dispatcher's queue.
func (s *Store) Webhooks() webhook.Queue { return webhookQueue{s} }

type webhookQueue struct{ s *Store }

func (q webhookQueue) Due(ctx context.Context, now time.Time, limit int) ([]webhook.Delivery, error) {
	rows, err := q.s.db.Query(ctx, selectDue, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	defer rows.Close()
	var out []webhook.Delivery
	for rows.Next() {
		d := webhook.Delivery{Event: "alert"}
		if err := rows.Scan(&d.ID, &d.SubscriptionID, &d.URL, &d.Secret, &d.Payload, &d.Attempts); err != nil {
			return nil, fmt.Errorf("due deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (q webhookQueue) Record(ctx context.Context, o webhook.Outcome) error {
	state, next := "PENDING", ms(o.NextAt)
	var delivered any
	switch {
	case o.Delivered:
		state, delivered = "DELIVERED", ms(o.At)
	case o.Failed:
		state = "FAILED"
	}
	return q.s.writeTx(ctx, func(ctx context.Context) error {
		if err := q.s.exec(ctx, insertAttempt, o.DeliveryID, o.Attempt, ms(o.At), o.StatusCode, o.Err, o.Duration.Milliseconds()); err != nil {
			return err
		}
		return q.s.exec(ctx, updateDelivery, o.Attempt, state, next, delivered, o.Err, o.DeliveryID, o.Attempt)
	})
}

// Deliveries returns subscription id's latest deliveries (up to limit),
// newest first, each with its attempts.
func (s *Store) Deliveries(ctx context.Context, id string, limit int) ([]DeliveryRow, error) {
	rows, err := s.db.Query(ctx, selectDeliveries, id, limit)
	if err != nil {
		return nil, fmt.Errorf("deliveries of %s: %w", id, err)
	}
	var out []DeliveryRow
	for rows.Next() {
		var d DeliveryRow
		var created, delivered, next int64
		if err := rows.Scan(&d.ID, &d.State, &created, &delivered, &next, &d.LastError, &d.Payload); err != nil {
			rows.Close()
			return nil, fmt.Errorf("deliveries of %s: %w", id, err)
		}
		d.CreatedAt, d.DeliveredAt = fromMS(created), fromMS(delivered)
		if d.State == "PENDING" {
			d.NextAt = fromMS(next)
		}
		out = append(out, d)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for i := range out {
		ar, err := s.db.Query(ctx, selectAttempts, out[i].ID)
		if err != nil {
			return nil, fmt.Errorf("attempts of %s: %w", out[i].ID, err)
		}
		for ar.Next() {
			var a AttemptRow
			var at, dur int64
			if err := ar.Scan(&a.Attempt, &at, &a.StatusCode, &a.Error, &dur); err != nil {
				ar.Close()
				return nil, err
			}
			a.At, a.Duration = fromMS(at), time.Duration(dur)*time.Millisecond
			out[i].Attempts = append(out[i].Attempts, a)
		}
		if err := ar.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// writeTx runs fn in a write transaction on the writer connection.
func (s *Store) writeTx(ctx context.Context, fn func(ctx context.Context) error) error {
	return s.WriteTx(ctx, func(ctx context.Context, _ *WTx) error { return fn(ctx) })
}
