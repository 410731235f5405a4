package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Heartbeat is the body of a site's heartbeat (SubjectHeartbeat) since
// version 2: when it was sent, and which binary and envelope version the
// site runs, so HQ sees the state of a roll-out. A version 1 heartbeat is a
// bare RFC 3339 timestamp; ParseHeartbeat reads both. Every later version
// keeps v and binary as they are, so central shows the versions of a site
// newer than itself.
type Heartbeat struct {
	V    int       `json:"v"`
	Time time.Time `json:"time"`
	// Binary is the site binary's version (`vendsync version`).
	Binary string `json:"binary,omitempty"`
}

// MaxBinaryLen bounds Heartbeat.Binary as central keeps it.
const MaxBinaryLen = 64

// ParseHeartbeat decodes a heartbeat body of any version. A version 1 body
// (a bare timestamp, or anything not JSON) gives V 1. It returns an error
// wrapping ErrTooNew for a heartbeat newer than this binary reads, with V and
// Binary still set: the heartbeat says the site is alive and what it runs,
// but nothing more is read of it.
func ParseHeartbeat(data []byte) (Heartbeat, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		hb := Heartbeat{V: 1}
		hb.Time, _ = time.Parse(time.RFC3339Nano, string(data))
		return hb, nil
	}
	var hb Heartbeat
	if err := json.Unmarshal(data, &hb); err != nil {
		return Heartbeat{V: 1}, fmt.Errorf("decode heartbeat: %w", err)
	}
	if len(hb.Binary) > MaxBinaryLen {
		hb.Binary = hb.Binary[:MaxBinaryLen]
	}
	if err := CheckVersion("heartbeat", hb.V); err != nil {
		return Heartbeat{V: hb.V, Binary: hb.Binary}, err
	}
	return hb, nil
}
