package aggregate

import (
	"encoding/json"

	"github.com/vendsync/vendsync/sync/envelope"
)

// decodeOrder decodes a pre-order's status change: *envelope.OrderEvent;
// nil for another kind or data without its key.
func decodeOrder(kind envelope.Kind, data json.RawMessage) any {
	if kind != envelope.KindOrder {
		return nil
	}
	var d envelope.OrderEvent
	if json.Unmarshal(data, &d) != nil || d.OrderID == "" || d.Status == "" {
		return nil
	}
	return &d
}
