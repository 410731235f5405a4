package aggregate

import (
	"encoding/json"

	"github.com/vendsync/vendsync/sync/envelope"
)

// decodeLease decodes a site's report of its quota lease:
// *envelope.LeaseUsage; nil for another kind or data without its key.
func decodeLease(kind envelope.Kind, data json.RawMessage) any {
	if kind != envelope.KindLeaseUsage {
		return nil
	}
	var d envelope.LeaseUsage
	if json.Unmarshal(data, &d) != nil || d.PromotionID == "" {
		return nil
	}
	return &d
}
