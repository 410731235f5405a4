package envelope

import "time"

// Watermark is central's statement about one site's uplink: every event with
// Seq <= Contiguous is committed in central's read model, and MaxSeen is the
// highest Seq central has seen at all. MaxSeen > Contiguous means a gap: some
// batch after Contiguous never arrived (or was lost by the hub) and the site
// must resend from Contiguous+1. The site trims its outbox only up to
// Contiguous.
type Watermark struct {
	Site       string    `json:"site"`
	Contiguous uint64    `json:"contiguous"`
	MaxSeen    uint64    `json:"maxSeen"`
	At         time.Time `json:"at"`
	// MinVersion..MaxVersion is the range of envelope versions the answering
	// central reads. Zero in a watermark from a central older than version
	// negotiation, which reads up to BaseVersion.
	MinVersion int `json:"minVersion,omitempty"`
	MaxVersion int `json:"maxVersion,omitempty"`
}

// CentralReads reports the newest envelope version the central that sent w
// reads: MaxVersion, or BaseVersion when w predates version negotiation.
func (w Watermark) CentralReads() int {
	if w.MaxVersion == 0 {
		return BaseVersion
	}
	return w.MaxVersion
}

// Gap reports whether central has seen events beyond a hole after Contiguous.
func (w Watermark) Gap() bool { return w.MaxSeen > w.Contiguous }

// Watermark subjects.
//
// Central's aggregator publishes a Watermark as JSON on
// SubjectWatermarkPush(site) after each commit that moves the site's
// watermark, and answers core NATS requests on SubjectWatermarkRequest(site)
// with the site's current Watermark (an empty request body). The request
// subject lives under fleet.<site>.> (the only tree a site may publish to) but
// is not captured by the ingest stream, which holds only fleet.*.batch.
const (
	// SubjectWatermarkPushAll matches every site's watermark pushes.
	SubjectWatermarkPushAll = "vsync.wm.*"
	// SubjectWatermarkRequestAll matches every site's watermark requests.
	SubjectWatermarkRequestAll = "fleet.*.wm"
)

// SubjectWatermarkPush is the subject central pushes a site's watermark on:
// vsync.wm.<site>.
func SubjectWatermarkPush(site string) string { return "vsync.wm." + site }

// SubjectWatermarkRequest is the subject a site asks for its watermark on:
// fleet.<site>.wm.
func SubjectWatermarkRequest(site string) string { return "fleet." + site + ".wm" }

// Downlink (central → site) names. Central authors per-site configuration in
// the KV bucket BucketConfig under keys <site>.<kind>.<id...>; each site keeps a
// filtered mirror of its own keys in its own JetStream domain.
const (
	// BucketConfig is central's downlink KV bucket.
	BucketConfig = "CONFIG"
)

// ConfigKeyPrefix is the prefix of every downlink key of a site: "<site>.".
func ConfigKeyPrefix(site string) string { return site + "." }

// ConfigFilterSubject is the stream subject filter selecting a site's keys in
// BucketConfig: $KV.CONFIG.<site>.>.
func ConfigFilterSubject(site string) string { return "$KV." + BucketConfig + "." + site + ".>" }

// DownlinkDeliverPrefix is the subject prefix the hub delivers a site's
// downlink mirror traffic on: vsync.dl.<site>. Only that site may receive it.
func DownlinkDeliverPrefix(site string) string { return "vsync.dl." + site }

// InboxPrefix is the custom inbox prefix of every NATS connection on a site's
// server that makes requests across the leaf (JetStream publish acks,
// watermark requests): _INBOX_<site>. A site may receive only its own inbox.
func InboxPrefix(site string) string { return "_INBOX_" + site }

// Heartbeat subjects. A site publishes a core NATS message (any body; the
// edge sends the time it was sent) on SubjectHeartbeat(site) every few
// seconds while its leaf link is up, so central can tell an offline site
// from an idle one. Like the watermark request it lives under fleet.<site>.>
// and is not captured by the ingest stream; the subject, which only the site
// may publish on, is what names the site.
const (
	// SubjectHeartbeatAll matches every site's heartbeats.
	SubjectHeartbeatAll = "fleet.*.hb"
)

// SubjectHeartbeat is the subject a site heartbeats on: fleet.<site>.hb.
func SubjectHeartbeat(site string) string { return "fleet." + site + ".hb" }
