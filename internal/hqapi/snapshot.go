package hqapi

import "time"

// SiteSnapshot is the answer of GET /sites/{siteId}/snapshot: what central
// holds of one site, enough to rebuild the site's database on a new box
// (`vendsync edge init --restore-from-central`, `vendsync provision site
// --replace`). Everything in it is as of the last fact central received from
// the site; what the site did after that never reached central.
type SiteSnapshot struct {
	// Site is the site as the registry holds it (name, city, timezone).
	Site Site `json:"site"`
	// Freshness is the site's sync state at central: Watermark (every
	// event up to it is here), LastSeq (the highest received), LastContact
	// (the last batch) and Since (the last heartbeat, when not connected).
	Freshness Freshness `json:"freshness"`
	// Machines are the site's machines with their products (slots), prices
	// and last reported counts.
	Machines []SnapshotMachine `json:"machines"`
	// Faults are the site's faults that are not resolved.
	Faults []Fault `json:"faults"`
	// Alerts are the site's open alerts.
	Alerts []Alert `json:"alerts"`
	// MaxFaultID and MaxAlertID are the highest ids central has seen from
	// the site, open or not: a rebuilt site numbers new ones after them.
	MaxFaultID int64 `json:"maxFaultId"`
	MaxAlertID int64 `json:"maxAlertId"`
	// TakenAt is when the snapshot was read.
	TakenAt time.Time `json:"takenAt"`
}

// SnapshotMachine is one machine of a SiteSnapshot.
type SnapshotMachine struct {
	MachineID      string           `json:"machineId"`
	Location       Location         `json:"location"`
	PaymentMethods []string         `json:"paymentMethods"`
	Status         string           `json:"status"`
	TemperatureMax *float64         `json:"temperatureMax,omitempty"`
	UpdatedAt      time.Time        `json:"updatedAt"`
	Products       []MachineProduct `json:"products"`
}
