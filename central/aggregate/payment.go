package aggregate

import (
	"encoding/json"

	"github.com/vendsync/vendsync/sync/envelope"
)

// decodePayment decodes a KindPayment event's data: *envelope.Payment, nil
// for another kind or data without its keys.
func decodePayment(kind envelope.Kind, data json.RawMessage) any {
	if kind != envelope.KindPayment {
		return nil
	}
	var d envelope.Payment
	if json.Unmarshal(data, &d) != nil || d.PaymentID == 0 || d.MachineID == "" || d.Status == "" || d.Day == "" {
		return nil
	}
	return &d
}
